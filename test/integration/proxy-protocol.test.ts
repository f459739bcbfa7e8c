/**
 * PROXY protocol on the EHI listener, over real sockets on loopback. 127.0.0.1 plays the trusted
 * load balancer and the PROXY headers name documentation addresses as Thredd: the allowlist,
 * per-IP limits, x-forwarded-for, the handshake-failure and timeout logs and the audit line all
 * see the header's address; a header from any other peer, a connection without one and a
 * malformed one are refused before TLS, each counted and logged with its reason code.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ConfigError } from '../../src/config/config-issues.ts'
import { loadConfig, validateConfig } from '../../src/config/load-config.ts'
import { compileRuntime } from '../../src/runtime/compile-runtime.ts'
import { restartOnlyChanges } from '../../src/control/rules/reload-guard.ts'
import { post } from '../support/clients.ts'
import { baseConfig, startHarness, type Harness, type LogLine } from '../support/harness.ts'
import { proxiedExchange } from '../support/proxy-client.ts'
import { proxyV1, proxyV2 } from '../support/proxy-headers.ts'

const pki = inject('pki')
let h: Harness

const THREDD = '192.0.2.10'
const HEADER_TIMEOUT_MS = 300

beforeAll(async () => {
  h = await startHarness(pki, {
    proxyProtocol: { enabled: true, trustedCidrs: ['127.0.0.1/32'], headerTimeoutMs: HEADER_TIMEOUT_MS },
    // Only the addresses the headers claim; the balancer's own address (127.0.0.1) is not listed.
    network: { allowlist: ['192.0.2.0/24', '2001:db8::/32'] },
    limits: { maxConnectionsPerIp: 2, headersTimeoutMs: 400, requestTimeoutMs: 400 },
  })
})
afterAll(() => h.close())

const settle = () => new Promise((resolve) => setTimeout(resolve, 50))
const lastRefusal = () => h.logs.findLast((l) => l.event === 'connection_refused')
const lastRequest = () => h.logs.findLast((l) => l.event === 'request')
const received = () => h.host.received.length
const good = () => pki.clients.good

describe('PROXY protocol: admitted through a trusted balancer', () => {
  it.each([
    ['v2 TCP4', proxyV2({ source: THREDD, sourcePort: 40001 }), THREDD],
    ['v1 TCP4', proxyV1(THREDD, '198.51.100.1', 40002, 8443), THREDD],
    ['v2 TCP6', proxyV2({ source: '2001:db8::a', sourcePort: 40003 }), '2001:db8::a'],
    ['v1 TCP6', proxyV1('2001:db8::b', '2001:db8::1', 40004, 8443), '2001:db8::b'],
  ])(
    '%s: answered 200, x-forwarded-for and the audit line carry the header address',
    async (_n, header, address) => {
      const before = received()
      const result = await proxiedExchange(pki, h.port, { header, client: good() })
      expect(result.error).toBeUndefined()
      expect(result.status).toBe(200)
      expect(received()).toBe(before + 1)
      expect(h.host.received.at(-1)!.headers['x-forwarded-for']).toBe(address)
      await settle()
      expect(lastRequest()).toMatchObject({ status: 200, peer: { address } })
    },
  )

  it('reads a header that arrives in one segment with the ClientHello (the bytes after it go to TLS)', async () => {
    const result = await proxiedExchange(pki, h.port, {
      header: proxyV2({ source: '192.0.2.11' }),
      client: good(),
      mode: 'coalesced',
    })
    expect(result.status).toBe(200)
    expect(h.host.received.at(-1)!.headers['x-forwarded-for']).toBe('192.0.2.11')
  })

  it('reads a header that arrives one byte at a time', async () => {
    const result = await proxiedExchange(pki, h.port, {
      header: proxyV1('192.0.2.12', '198.51.100.1', 40005, 8443),
      client: good(),
      mode: 'trickle',
    })
    expect(result.status).toBe(200)
    expect(h.host.received.at(-1)!.headers['x-forwarded-for']).toBe('192.0.2.12')
  })

  it('applies the client-certificate checks as usual: no certificate is 400, logged with the header address', async () => {
    const result = await proxiedExchange(pki, h.port, { header: proxyV2({ source: '192.0.2.13' }) })
    expect(result.status).toBe(400)
    expect(result.data).toContain('No required SSL certificate was sent')
    await settle()
    expect(
      h.logs.findLast((l) => l.reason === 'no_client_cert' && l.event === 'connection_refused'),
    ).toMatchObject({
      peer: { address: '192.0.2.13' },
    })
  })
})

describe('PROXY protocol: the allowlist and limits see the header address', () => {
  it('refuses a header address outside the allowlist before TLS, logged with it and the balancer', async () => {
    const before = await h.counter('ehi_gateway_connections_refused_total', { reason: 'ip_not_allowed' })
    const hostBefore = received()
    const result = await proxiedExchange(pki, h.port, {
      header: proxyV2({ source: '203.0.113.7', sourcePort: 50007 }),
      client: good(),
    })
    expect(result.secure).toBe(false)
    expect(received()).toBe(hostBefore)
    await settle()
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'ip_not_allowed' })).toBe(
      before + 1,
    )
    expect(lastRefusal()).toMatchObject({
      reason: 'ip_not_allowed',
      peer: { address: '203.0.113.7', port: 50007 },
      proxy: { address: '127.0.0.1' },
    })
  })

  it('LOCAL (a balancer health check) keeps the balancer address, which the allowlist refuses', async () => {
    const result = await proxiedExchange(pki, h.port, {
      header: proxyV2({ command: 'local' }),
      client: good(),
    })
    expect(result.secure).toBe(false)
    await settle()
    expect(lastRefusal()).toMatchObject({ reason: 'ip_not_allowed', peer: { address: '127.0.0.1' } })
  })

  it('counts connections per header address (limits.maxConnectionsPerIp), not per balancer', async () => {
    const source = '192.0.2.20'
    // Two connections that finish TLS and then send nothing hold both slots for that address.
    const held = [1, 2].map((i) =>
      proxiedExchange(pki, h.port, {
        header: proxyV2({ source, sourcePort: 41000 + i }),
        client: good(),
        request: '',
        timeoutMs: 1500,
      }),
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    const third = await proxiedExchange(pki, h.port, {
      header: proxyV2({ source, sourcePort: 41003 }),
      client: good(),
    })
    expect(third.secure).toBe(false)
    await settle()
    expect(lastRefusal()).toMatchObject({ reason: 'too_many_connections_from_ip', peer: { address: source } })
    // Another client behind the same balancer is unaffected.
    const other = await proxiedExchange(pki, h.port, {
      header: proxyV2({ source: '192.0.2.21' }),
      client: good(),
    })
    expect(other.status).toBe(200)
    const results = await Promise.all(held)
    expect(results.map((r) => r.secure)).toEqual([true, true])
  })

  it('the HTTP timeouts still apply (slow-loris is 408), logged with the header address', async () => {
    const result = await proxiedExchange(pki, h.port, {
      header: proxyV2({ source: '192.0.2.30' }),
      client: good(),
      request: 'POST /ehi HTTP/1.1\r\nHost: localhost\r\n',
      timeoutMs: 2500,
    })
    expect(result.secure).toBe(true)
    expect(result.status).toBe(408)
    await settle()
    expect(lastRefusal()).toMatchObject({ reason: 'request_timeout', peer: { address: '192.0.2.30' } })
  })

  it('a failed TLS handshake is logged with the header address', async () => {
    const result = await proxiedExchange(pki, h.port, {
      header: proxyV2({ source: '192.0.2.31' }),
      raw: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    })
    expect(result.secure).toBe(false)
    await settle()
    expect(lastRefusal()).toMatchObject({ reason: 'http_on_tls_port', peer: { address: '192.0.2.31' } })
  })
})

describe('PROXY protocol: refused before TLS', () => {
  async function expectRefused(reason: string, run: () => Promise<unknown>): Promise<LogLine> {
    const before = await h.counter('ehi_gateway_connections_refused_total', { reason })
    const hostBefore = received()
    const result = (await run()) as { secure: boolean }
    expect(result.secure).toBe(false)
    expect(received()).toBe(hostBefore)
    await settle()
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason })).toBe(before + 1)
    const line = lastRefusal()!
    expect(line.reason).toBe(reason)
    return line
  }

  it('a header from a peer that is not a trusted balancer: proxy_untrusted_source, nothing read', async () => {
    const line = await expectRefused('proxy_untrusted_source', () =>
      proxiedExchange(pki, h.port, {
        header: proxyV2({ source: THREDD }),
        client: good(),
        localAddress: '127.0.0.2',
      }),
    )
    // The claimed address is never believed: the log names the real peer.
    expect(line.peer).toMatchObject({ address: '127.0.0.2' })
  })

  it('no header (TLS straight away) from the balancer: proxy_header_invalid', async () => {
    const line = await expectRefused('proxy_header_invalid', () =>
      proxiedExchange(pki, h.port, { client: good() }),
    )
    expect(line).toMatchObject({
      peer: { address: '127.0.0.1' },
      detail: 'no PROXY header: the connection starts with 0x16 (a TLS handshake)',
    })
  })

  it('a malformed v1 header: proxy_header_invalid', async () => {
    const line = await expectRefused('proxy_header_invalid', () =>
      proxiedExchange(pki, h.port, {
        header: Buffer.from(`PROXY TCP4 ${THREDD} 198.51.100.1 99999 8443\r\n`),
        client: good(),
      }),
    )
    expect(line.detail).toBe('v1 ports are not numbers from 0 to 65535')
  })

  it('a v2 header for UDP: proxy_header_invalid', async () => {
    const line = await expectRefused('proxy_header_invalid', () =>
      proxiedExchange(pki, h.port, {
        header: proxyV2({ source: THREDD, familyProtocol: 0x12 }),
        client: good(),
      }),
    )
    expect(line.detail).toContain('IPv4 and UDP')
  })

  it('an oversized v2 header: refused on its length field', async () => {
    const line = await expectRefused('proxy_header_invalid', () =>
      proxiedExchange(pki, h.port, {
        header: proxyV2({ source: THREDD, tlvs: Buffer.alloc(4000) }),
        client: good(),
      }),
    )
    expect(line.detail).toContain('over the 2064-byte limit')
  })

  it('a connection that sends nothing: closed after proxyProtocol.headerTimeoutMs', async () => {
    const started = performance.now()
    const line = await expectRefused('proxy_header_invalid', () =>
      proxiedExchange(pki, h.port, { header: Buffer.alloc(0), raw: Buffer.alloc(0) }),
    )
    expect(performance.now() - started).toBeGreaterThanOrEqual(HEADER_TIMEOUT_MS - 20)
    expect(line.detail).toBe(`no complete PROXY header within ${HEADER_TIMEOUT_MS} ms (0 bytes received)`)
  })

  it('a truncated header: closed after the timeout, its length in the log', async () => {
    const line = await expectRefused('proxy_header_invalid', () =>
      proxiedExchange(pki, h.port, { raw: proxyV2({ source: THREDD }).subarray(0, 20) }),
    )
    expect(line.detail).toBe(`no complete PROXY header within ${HEADER_TIMEOUT_MS} ms (20 bytes received)`)
  })
})

describe('PROXY protocol off (the default)', () => {
  let plain: Harness
  beforeAll(async () => {
    plain = await startHarness(pki)
  })
  afterAll(() => plain.close())

  it('a PROXY header is not understood: the handshake fails and nothing is admitted', async () => {
    const result = await proxiedExchange(pki, plain.port, {
      header: proxyV2({ source: THREDD }),
      client: good(),
    })
    expect(result.secure).toBe(false)
    expect(plain.host.received).toHaveLength(0)
  })

  it('plain TLS works as before', async () => {
    expect((await post(pki, plain.port, { client: good() })).status).toBe(200)
  })
})

describe('proxyProtocol configuration', () => {
  it('is off by default, trusts nobody and waits 1 s for a header', () => {
    const { config, issues } = validateConfig(baseConfig(pki, 'http://127.0.0.1:9/ehi'))
    expect(issues).toEqual([])
    expect(config.proxyProtocol).toEqual({ enabled: false, trustedCidrs: [], headerTimeoutMs: 1000 })
  })

  it('can be turned on from the environment', () => {
    const { config, issues } = loadConfig({
      env: {
        EHI_GATEWAY_PROXY_PROTOCOL__ENABLED: 'true',
        EHI_GATEWAY_PROXY_PROTOCOL__TRUSTED_CIDRS: '10.0.0.0/8,192.168.1.10',
        EHI_GATEWAY_PROXY_PROTOCOL__HEADER_TIMEOUT_MS: '250',
      },
    })
    expect(issues.filter((i) => i.path.startsWith('proxyProtocol'))).toEqual([])
    expect(config.proxyProtocol).toEqual({
      enabled: true,
      trustedCidrs: ['10.0.0.0/8', '192.168.1.10'],
      headerTimeoutMs: 250,
    })
  })

  it('refuses to start when enabled without trusted balancers, or with a bad entry', () => {
    for (const [trustedCidrs, path] of [
      [[], 'proxyProtocol.trustedCidrs'],
      [['10.0.0.0/8', 'lb.example'], 'proxyProtocol.trustedCidrs[1]'],
    ] as const) {
      const raw = {
        ...baseConfig(pki, 'http://127.0.0.1:9/ehi'),
        proxyProtocol: { enabled: true, trustedCidrs },
      }
      const { config, issues } = validateConfig(raw)
      expect(issues).toEqual([])
      const error = (() => {
        try {
          compileRuntime(config)
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).issues.map((i) => i.path)).toEqual([path])
    }
  })

  it('is bound to the listener: a reload that changes it asks for a restart', () => {
    const before = validateConfig(baseConfig(pki, 'http://127.0.0.1:9/ehi')).config
    const after = validateConfig({
      ...baseConfig(pki, 'http://127.0.0.1:9/ehi'),
      proxyProtocol: { enabled: true, trustedCidrs: ['10.0.0.0/8'] },
    }).config
    expect(restartOnlyChanges(before, after)).toEqual(['proxyProtocol'])
  })
})
