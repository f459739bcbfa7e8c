/**
 * The PROXY protocol parser decides who the client is behind a load balancer, so it is strict:
 * every valid v1 and v2 shape is read exactly, every malformed, truncated or oversized one is
 * refused (never guessed at), and a header split across reads gives the same answer as a whole.
 */
import { describe, expect, it } from 'vitest'
import {
  compileProxyProtocol,
  ipv6,
  parseProxyHeader,
  V1_MAX_BYTES,
  V2_MAX_BYTES,
  V2_SIGNATURE,
  type ProxyParse,
} from '../../../../src/plane/accept/proxy-protocol.ts'
import { proxyV1, proxyV2, tlv } from '../../../support/proxy-headers.ts'

const CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])

const text = (s: string) => Buffer.from(s, 'latin1')

/** Feeds `data` one byte at a time, as a slow sender would; returns the first final answer. */
function parseByteByByte(data: Buffer): ProxyParse {
  for (let n = 1; n <= data.length; n++) {
    const parsed = parseProxyHeader(data.subarray(0, n))
    if (parsed.state !== 'incomplete') return parsed
  }
  return { state: 'incomplete' }
}

describe('PROXY v1', () => {
  it.each([
    {
      line: 'PROXY TCP4 192.0.2.10 198.51.100.1 56324 8443\r\n',
      family: 'tcp4',
      source: { address: '192.0.2.10', port: 56324 },
      destination: { address: '198.51.100.1', port: 8443 },
    },
    {
      line: 'PROXY TCP6 2001:db8::a 2001:db8::1 0 65535\r\n',
      family: 'tcp6',
      source: { address: '2001:db8::a', port: 0 },
      destination: { address: '2001:db8::1', port: 65535 },
    },
    {
      line: 'PROXY TCP6 ::FFFF:192.0.2.10 ::1 1 2\r\n',
      family: 'tcp6',
      source: { address: '::ffff:192.0.2.10', port: 1 },
      destination: { address: '::1', port: 2 },
    },
  ])('reads $line', ({ line, family, source, destination }) => {
    const data = Buffer.concat([text(line), CLIENT_HELLO])
    expect(parseProxyHeader(data)).toEqual({
      state: 'done',
      header: { version: 1, command: 'proxy', family, source, destination },
      length: line.length,
    })
  })

  it('reads PROXY UNKNOWN (with or without addresses) as a header without a client address', () => {
    for (const line of [
      'PROXY UNKNOWN\r\n',
      'PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n',
    ]) {
      expect(parseProxyHeader(text(line))).toEqual({
        state: 'done',
        header: { version: 1, command: 'local' },
        length: line.length,
      })
    }
  })

  it('accepts a header of exactly 107 bytes and refuses 108', () => {
    const unknown = (n: number) => `PROXY UNKNOWN ${'x'.repeat(n - 'PROXY UNKNOWN '.length - 2)}\r\n`
    expect(unknown(V1_MAX_BYTES)).toHaveLength(107)
    expect(parseProxyHeader(text(unknown(107))).state).toBe('done')
    expect(parseProxyHeader(text(unknown(108)))).toEqual({
      state: 'invalid',
      problem: 'v1 header longer than 107 bytes',
    })
  })

  it('waits for more bytes while what came so far can still be a header', () => {
    for (const partial of [
      'P',
      'PROXY',
      'PROXY ',
      'PROXY TCP4 192.0.2.10 198.51.100.1 1 2',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r',
    ]) {
      expect(parseProxyHeader(text(partial))).toEqual({ state: 'incomplete' })
    }
  })

  it('refuses a line without CRLF once it is longer than 107 bytes', () => {
    expect(parseProxyHeader(text(`PROXY TCP4 ${'1'.repeat(120)}`))).toEqual({
      state: 'invalid',
      problem: 'v1 header longer than 107 bytes',
    })
  })

  it.each([
    ['PROXY TCP4 192.0.2.10 198.51.100.1 56324 8443\n', 'non-printable byte 0xa'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 56324 8443\rX', 'CR without LF'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 56324\r\n', '5 fields, not 6'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 56324 8443 extra\r\n', '7 fields, not 6'],
    ['PROXY  TCP4 192.0.2.10 198.51.100.1 56324 8443\r\n', '7 fields, not 6'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 56324 8443 \r\n', '7 fields, not 6'],
    ['PROXY UDP4 192.0.2.10 198.51.100.1 56324 8443\r\n', 'protocol is not TCP4, TCP6 or UNKNOWN'],
    ['PROXY tcp4 192.0.2.10 198.51.100.1 56324 8443\r\n', 'protocol is not TCP4, TCP6 or UNKNOWN'],
    ['PROXY TCP4 2001:db8::a 198.51.100.1 56324 8443\r\n', 'addresses are not IPv4'],
    ['PROXY TCP6 192.0.2.10 2001:db8::1 56324 8443\r\n', 'addresses are not IPv6'],
    ['PROXY TCP4 192.0.2.256 198.51.100.1 56324 8443\r\n', 'addresses are not IPv4'],
    ['PROXY TCP4 192.0.2.010 198.51.100.1 56324 8443\r\n', 'addresses are not IPv4'],
    ['PROXY TCP4 thredd.example 198.51.100.1 56324 8443\r\n', 'addresses are not IPv4'],
    ['PROXY TCP6 fe80::1%eth0 2001:db8::1 56324 8443\r\n', 'addresses are not IPv6'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 65536 8443\r\n', 'ports are not numbers'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 056324 8443\r\n', 'ports are not numbers'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 -1 8443\r\n', 'ports are not numbers'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 0x10 8443\r\n', 'ports are not numbers'],
    ['PROXY TCP4 192.0.2.10 198.51.100.1 1 \r\n', 'ports are not numbers'],
    ['PROXY TCP4 192.0.2.10\t198.51.100.1 1 2\r\n', 'non-printable byte 0x9'],
    ['PROXY TCP4 192.0.2.\u00e9 198.51.100.1 1 2\r\n', 'non-printable byte 0xe9'],
  ])('refuses %j (%s)', (line, problem) => {
    const parsed = parseProxyHeader(text(line))
    expect(parsed.state).toBe('invalid')
    expect(parsed.state === 'invalid' && parsed.problem).toContain(problem)
  })
})

describe('PROXY v2', () => {
  it('reads TCP over IPv4', () => {
    const header = proxyV2({
      source: '192.0.2.10',
      destination: '198.51.100.1',
      sourcePort: 56324,
      destinationPort: 443,
    })
    expect(parseProxyHeader(Buffer.concat([header, CLIENT_HELLO]))).toEqual({
      state: 'done',
      header: {
        version: 2,
        command: 'proxy',
        family: 'tcp4',
        source: { address: '192.0.2.10', port: 56324 },
        destination: { address: '198.51.100.1', port: 443 },
      },
      length: 28,
    })
  })

  it('reads TCP over IPv6, in RFC 5952 text form', () => {
    const header = proxyV2({
      source: '2001:db8:0:0:1:0:0:a',
      destination: '::1',
      sourcePort: 1,
      destinationPort: 65535,
    })
    expect(parseProxyHeader(header)).toEqual({
      state: 'done',
      header: {
        version: 2,
        command: 'proxy',
        family: 'tcp6',
        source: { address: '2001:db8::1:0:0:a', port: 1 },
        destination: { address: '::1', port: 65535 },
      },
      length: 52,
    })
  })

  it('reads an IPv4-mapped IPv6 source the way Node reports one', () => {
    const parsed = parseProxyHeader(proxyV2({ source: '::ffff:c000:20a', destination: '::1' }))
    expect(parsed.state === 'done' && parsed.header.command === 'proxy' && parsed.header.source.address).toBe(
      '::ffff:192.0.2.10',
    )
  })

  it('skips TLVs after the addresses and hands back only what follows the header', () => {
    const tlvs = Buffer.concat([
      tlv(0x01, Buffer.from('h2')), // ALPN
      tlv(0x05, Buffer.from('unique-id-123')), // UNIQUE_ID
      tlv(0xea, Buffer.from([0x01, ...Buffer.from('vpce-0123456789abcdef')])), // AWS VPC endpoint
    ])
    const header = proxyV2({ source: '192.0.2.10', tlvs })
    const parsed = parseProxyHeader(Buffer.concat([header, CLIENT_HELLO]))
    expect(parsed).toMatchObject({ state: 'done', length: header.length })
    expect(parsed.state === 'done' && parsed.header).toMatchObject({ source: { address: '192.0.2.10' } })
  })

  it('reads LOCAL (a balancer health check) as a header without a client address, whatever follows', () => {
    for (const header of [
      proxyV2({ command: 'local' }),
      proxyV2({ command: 'local', source: '10.0.0.1' }),
      proxyV2({ command: 'local', familyProtocol: 0x31, tlvs: Buffer.alloc(216) }),
    ]) {
      expect(parseProxyHeader(header)).toEqual({
        state: 'done',
        header: { version: 2, command: 'local' },
        length: header.length,
      })
    }
  })

  it('waits for more bytes until the length field is covered', () => {
    const header = proxyV2({ source: '192.0.2.10', tlvs: tlv(0x05, Buffer.from('id')) })
    for (let n = 1; n < header.length; n++) {
      expect(parseProxyHeader(header.subarray(0, n)), `${n} bytes`).toEqual({ state: 'incomplete' })
    }
    expect(parseProxyHeader(header).state).toBe('done')
  })

  it('accepts a header at the size limit and refuses one byte more', () => {
    const atLimit = proxyV2({ source: '192.0.2.10', tlvs: Buffer.alloc(V2_MAX_BYTES - 16 - 12) })
    expect(atLimit).toHaveLength(V2_MAX_BYTES)
    expect(parseProxyHeader(atLimit).state).toBe('done')
    const over = proxyV2({ source: '192.0.2.10', tlvs: Buffer.alloc(V2_MAX_BYTES - 16 - 12 + 1) })
    // Refused as soon as the length field is in, without waiting for the bytes it announces.
    expect(parseProxyHeader(over.subarray(0, 16))).toEqual({
      state: 'invalid',
      problem: `v2 header of ${V2_MAX_BYTES + 1} bytes is over the ${V2_MAX_BYTES}-byte limit`,
    })
    expect(parseProxyHeader(proxyV2({ length: 0xffff }).subarray(0, 16)).state).toBe('invalid')
    expect(parseProxyHeader(atLimit, { maxV2Bytes: 64 }).state).toBe('invalid')
  })

  it.each([
    [{ versionCommand: 0x11 }, 'version 1, not 2'],
    [{ versionCommand: 0x31 }, 'version 3, not 2'],
    [{ versionCommand: 0x22 }, 'unknown command 2'],
    [{ versionCommand: 0x2f }, 'unknown command 15'],
    [{ familyProtocol: 0x00 }, 'an unspecified family and an unspecified protocol'],
    [{ familyProtocol: 0x12 }, 'IPv4 and UDP'],
    [{ familyProtocol: 0x22, source: '2001:db8::a' }, 'IPv6 and UDP'],
    [{ familyProtocol: 0x31 }, 'a unix socket and TCP'],
    [{ familyProtocol: 0x10 }, 'IPv4 and an unspecified protocol'],
    [{ familyProtocol: 0x41 }, 'family/protocol 0x41'],
    [{ familyProtocol: 0x13 }, 'family/protocol 0x13'],
    [{ length: 11 }, 'shorter than its addresses'],
    [{ familyProtocol: 0x21, length: 12 }, 'shorter than its addresses'],
    [{ length: 0 }, 'shorter than its addresses'],
  ])('refuses %j (%s)', (options, problem) => {
    const parsed = parseProxyHeader(proxyV2(options))
    expect(parsed.state).toBe('invalid')
    expect(parsed.state === 'invalid' && parsed.problem).toContain(problem)
  })

  it('refuses a corrupted signature at the first wrong byte', () => {
    for (let i = 0; i < V2_SIGNATURE.length; i++) {
      const bad = Buffer.from(proxyV2())
      bad[i] = bad[i]! ^ 0x40
      const parsed = parseProxyHeader(bad.subarray(0, i + 1))
      // A byte that turns the v2 signature into "P" of a v1 header is still a possible header.
      if (i === 0 && bad[0] === 0x50) continue
      expect(parsed.state, `byte ${i}`).toBe('invalid')
    }
  })
})

describe('no PROXY header', () => {
  it.each([
    [CLIENT_HELLO, 'the connection starts with 0x16 (a TLS handshake)'],
    [text('POST /ehi HTTP/1.1\r\n'), '0x50'],
    [text('GET / HTTP/1.1\r\n'), '0x47 (text, not "PROXY ")'],
    [text('PROXX TCP4'), '0x50'],
    [text('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), '0x70'],
    [Buffer.from([0x00, 0x01]), '0x00'],
  ])('refuses a connection that starts with %j at once', (data, problem) => {
    const first = parseByteByByte(data)
    expect(first.state).toBe('invalid')
    expect(first.state === 'invalid' && first.problem).toContain(problem)
  })

  it('waits while nothing has arrived', () => {
    expect(parseProxyHeader(Buffer.alloc(0))).toEqual({ state: 'incomplete' })
  })
})

describe('split reads', () => {
  it.each([
    ['v1 TCP4', proxyV1('192.0.2.10', '198.51.100.1', 56324, 8443)],
    ['v1 TCP6', proxyV1('2001:db8::a', '2001:db8::1', 56324, 8443)],
    ['v2 TCP4 with TLVs', proxyV2({ source: '192.0.2.10', tlvs: tlv(0x02, Buffer.from('ehi.example')) })],
    ['v2 TCP6', proxyV2({ source: '2001:db8::a' })],
    ['v2 LOCAL', proxyV2({ command: 'local' })],
  ])('%s gives the same answer byte by byte as whole', (_name, header) => {
    const data = Buffer.concat([header, CLIENT_HELLO])
    expect(parseByteByByte(data)).toEqual(parseProxyHeader(data))
    expect(parseProxyHeader(data)).toMatchObject({ state: 'done', length: header.length })
  })
})

describe('ipv6 text form', () => {
  const bytes = (groups: number[]) => {
    const b = Buffer.alloc(16)
    groups.forEach((g, i) => b.writeUInt16BE(g, i * 2))
    return b
  }
  it.each([
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], '2001:db8::'],
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'],
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'],
    [[0x2001, 0, 0, 1, 0, 0, 0, 1], '2001:0:0:1::1'],
    [[0xfe80, 0, 0, 0, 0xabcd, 0xef, 1, 0xffff], 'fe80::abcd:ef:1:ffff'],
    [[0, 0, 0, 0, 0, 0xffff, 0xc000, 0x20a], '::ffff:192.0.2.10'],
  ])('%j is %s', (groups, expected) => {
    expect(ipv6(bytes(groups))).toBe(expected)
  })
})

describe('compileProxyProtocol', () => {
  it('trusts only the listed balancers', () => {
    const { trusted, issues } = compileProxyProtocol({
      enabled: true,
      trustedCidrs: ['10.0.0.0/8', '2001:db8::/32'],
      headerTimeoutMs: 1000,
    })
    expect(issues).toEqual([])
    expect(trusted('10.1.2.3')).toBe(true)
    expect(trusted('::ffff:10.1.2.3')).toBe(true)
    expect(trusted('2001:db8::5')).toBe(true)
    expect(trusted('192.0.2.10')).toBe(false)
    expect(trusted(undefined)).toBe(false)
  })

  it('never reads an empty list as "anyone", and requires one when enabled', () => {
    const off = compileProxyProtocol({ enabled: false, trustedCidrs: [], headerTimeoutMs: 1000 })
    expect(off.issues).toEqual([])
    expect(off.trusted('10.1.2.3')).toBe(false)
    const on = compileProxyProtocol({ enabled: true, trustedCidrs: [], headerTimeoutMs: 1000 })
    expect(on.issues).toEqual([
      {
        path: 'proxyProtocol.trustedCidrs',
        message: expect.stringContaining('must list the load balancers'),
      },
    ])
    expect(on.trusted('10.1.2.3')).toBe(false)
  })

  it('names a bad entry with its path', () => {
    const { issues } = compileProxyProtocol({
      enabled: true,
      trustedCidrs: ['10.0.0.0/8', '10.0.0.300/32'],
      headerTimeoutMs: 1000,
    })
    expect(issues).toEqual([
      {
        path: 'proxyProtocol.trustedCidrs[1]',
        message: '"10.0.0.300/32" is not an IPv4 or IPv6 address or CIDR',
      },
    ])
  })
})
