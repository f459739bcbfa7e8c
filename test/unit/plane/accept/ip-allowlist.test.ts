/**
 * The source-address allowlist is the first gate, before any TLS work. Entries are validated at
 * startup with their config path; matching must hold at range edges and for IPv4-mapped IPv6,
 * the form a dual-stack (`::`) listener reports IPv4 clients in.
 */
import { describe, expect, it } from 'vitest'
import { compileIpAllowlist } from '../../../../src/plane/accept/ip-allowlist.ts'

describe('compileIpAllowlist matching', () => {
  const { allow, issues, allowAll } = compileIpAllowlist([
    '10.0.0.0/8',
    '192.0.2.10',
    '172.16.0.0/12',
    '2001:db8::/32',
    '2001:db8:ffff::1',
    ' 198.51.100.0/24 ',
  ])

  it('compiles without issues', () => {
    expect(issues).toEqual([])
    expect(allowAll).toBe(false)
  })

  it.each([
    { address: '10.0.0.0', allowed: true, why: 'first address of an IPv4 CIDR' },
    { address: '10.255.255.255', allowed: true, why: 'last address of an IPv4 CIDR' },
    { address: '9.255.255.255', allowed: false, why: 'just below an IPv4 CIDR' },
    { address: '11.0.0.0', allowed: false, why: 'just above an IPv4 CIDR' },
    { address: '172.31.255.255', allowed: true, why: 'last address of a /12' },
    { address: '172.32.0.0', allowed: false, why: 'just above a /12' },
    { address: '192.0.2.10', allowed: true, why: 'a bare IPv4 entry itself' },
    { address: '192.0.2.11', allowed: false, why: 'the neighbour of a bare IPv4 entry' },
    { address: '198.51.100.7', allowed: true, why: 'inside an entry written with spaces' },
    { address: '::ffff:10.1.2.3', allowed: true, why: 'IPv4-mapped IPv6 inside an IPv4 entry' },
    { address: '::ffff:a01:203', allowed: true, why: 'IPv4-mapped IPv6 in hex form' },
    { address: '::ffff:192.0.2.10', allowed: true, why: 'IPv4-mapped form of a bare IPv4 entry' },
    { address: '::ffff:11.0.0.1', allowed: false, why: 'IPv4-mapped IPv6 outside every IPv4 entry' },
    { address: '2001:db8::', allowed: true, why: 'first address of an IPv6 CIDR' },
    { address: '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', allowed: true, why: 'last address of an IPv6 CIDR' },
    { address: '2001:db9::', allowed: false, why: 'just above an IPv6 CIDR' },
    { address: '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', allowed: false, why: 'just below an IPv6 CIDR' },
    { address: '2001:0db8:0000:0000:0000:0000:0000:0001', allowed: true, why: 'uncompressed IPv6' },
    { address: '2001:DB8::1', allowed: true, why: 'upper-case IPv6' },
    { address: '::1', allowed: false, why: 'IPv6 loopback not listed' },
    { address: '127.0.0.1', allowed: false, why: 'IPv4 loopback not listed' },
  ])('$address -> $allowed ($why)', ({ address, allowed }) => {
    expect(allow(address)).toBe(allowed)
  })

  it.each([
    { name: 'undefined (socket already closed)', address: undefined },
    { name: 'an empty string', address: '' },
    { name: 'a non-address', address: 'garbage' },
  ])('refuses $name', ({ address }) => {
    expect(allow(address)).toBe(false)
  })

  it('matches a bare IPv6 entry exactly', () => {
    const bare = compileIpAllowlist(['2001:db8::10'])
    expect(bare.allow('2001:db8::10')).toBe(true)
    expect(bare.allow('2001:db8::11')).toBe(false)
  })
})

describe('compileIpAllowlist with an empty list', () => {
  it('allows every address and says so', () => {
    const { allow, issues, allowAll } = compileIpAllowlist([])
    expect(allowAll).toBe(true)
    expect(issues).toEqual([])
    expect([allow('203.0.113.9'), allow('2001:db8::1'), allow(undefined)]).toEqual([true, true, true])
  })
})

describe('compileIpAllowlist validation', () => {
  it('reports every invalid entry with its index and keeps the valid ones', () => {
    const { allow, issues, allowAll } = compileIpAllowlist([
      '10.0.0.0/8',
      '300.1.1.1/8',
      '10.0.0.0/33',
      'nonsense',
      '2001:db8::/129',
      '',
      '10.0.0.0/8/8',
    ])
    expect(issues.map((i) => i.path)).toEqual([
      'network.allowlist[1]',
      'network.allowlist[2]',
      'network.allowlist[3]',
      'network.allowlist[4]',
      'network.allowlist[5]',
      'network.allowlist[6]',
    ])
    expect(issues[2]?.message).toContain('"nonsense"')
    expect(allowAll).toBe(false)
    expect(allow('10.9.9.9')).toBe(true)
  })

  it('uses the given config path', () => {
    expect(compileIpAllowlist(['bad'], 'x.sources').issues[0]?.path).toBe('x.sources[0]')
  })

  it.each([
    { entry: '10.1.2.3/8', inside: ['10.0.0.0', '10.255.255.255'], outside: ['11.0.0.0', '9.255.255.255'] },
    { entry: '2001:db8:1:2::5/32', inside: ['2001:db8::', '2001:db8:ffff::1'], outside: ['2001:db9::'] },
  ])('treats $entry (host bits set) as its whole network', ({ entry, inside, outside }) => {
    const { allow, issues } = compileIpAllowlist([entry])
    expect(issues).toEqual([])
    for (const address of inside) expect(allow(address)).toBe(true)
    for (const address of outside) expect(allow(address)).toBe(false)
  })

  // ip-cidr returns such a range's start in IPv4 form; the entry is matched as the IPv4 CIDR.
  it.each([
    { entry: '::ffff:10.0.0.0/104', inside: ['10.1.2.3', '::ffff:10.1.2.3'], outside: ['11.0.0.1'] },
    { entry: '::ffff:10.1.2.3', inside: ['10.1.2.3', '::ffff:10.1.2.3'], outside: ['10.1.2.4'] },
  ])('matches the IPv4-mapped IPv6 entry $entry as IPv4', ({ entry, inside, outside }) => {
    const { allow, issues } = compileIpAllowlist([entry])
    expect(issues).toEqual([])
    for (const address of inside) expect(allow(address)).toBe(true)
    for (const address of outside) expect(allow(address)).toBe(false)
  })

  it('reports an IPv4-mapped range wider than /96', () => {
    expect(compileIpAllowlist(['::ffff:10.0.0.0/90']).issues).toHaveLength(1)
  })
})
