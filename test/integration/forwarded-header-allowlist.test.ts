/**
 * Over real TLS, the host receives an allowlist of request headers: the message headers, the
 * names the operator lists, and the headers the gateway sets. Nothing a client sends under a name
 * another terminator or proxy would vouch for reaches the host, and a Connection header cannot
 * take Content-Type away.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ConfigError } from '../../src/config/config-issues.ts'
import { validateConfig } from '../../src/config/load-config.ts'
import { compileRuntime } from '../../src/runtime/compile-runtime.ts'
import type { ReceivedMessage } from '../../src/tools/reference-host/reference-host.ts'
import { post } from '../support/clients.ts'
import { baseConfig, startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')

/** Every header issue 13 names, and the other kinds a host may trust, each with a forged value. */
const FORGED = {
  'x-client-cert': 'FORGED-x-client-cert',
  'x-ssl-client-cert': 'FORGED-x-ssl-client-cert',
  'x-ssl-client-s-dn': 'CN=FORGED-admin',
  'ssl-client-verify': 'SUCCESS-FORGED',
  'true-client-ip': '203.0.113.66',
  'x-envoy-external-address': '203.0.113.67',
  authorization: 'Basic FORGED',
  cookie: 'session=FORGED',
  'client-cert': ':Rk9SR0VE:',
  'client-cert-chain': ':Rk9SR0VE:, :Rk9SR0VE:',
  'x-real-ip': '203.0.113.68',
  forwarded: 'for=203.0.113.69',
  'x-forwarded-host': 'FORGED.example',
  'proxy-authorization': 'Basic FORGED',
  'x-partner-trace': 'FORGED-unlisted',
  'user-agent': 'FORGED-agent',
} as const

let plain: Harness
let configured: Harness

beforeAll(async () => {
  plain = await startHarness(pki)
  configured = await startHarness(pki, {
    upstream: { forwardHeaders: ['X-Partner-Trace', 'authorization'], clientCertHeaders: true },
  })
})
afterAll(async () => {
  await plain?.close()
  await configured?.close()
})

/** Posts as the good client and returns what the host received. */
async function received(h: Harness, headers: Record<string, string>): Promise<ReceivedMessage> {
  const before = h.host.received.length
  const res = await post(pki, h.port, { client: pki.clients.good, headers })
  expect(res.status).toBe(200)
  expect(h.host.received.length).toBe(before + 1)
  return h.host.received[h.host.received.length - 1]!
}

function der(file: string): Buffer {
  return new X509Certificate(readFileSync(file)).raw
}

/** RFC 8941 byte sequence(s): `:base64:`, list members separated by ", ". */
function byteSequences(value: unknown): Buffer[] {
  return String(value)
    .split(',')
    .map((member) => {
      const match = /^:([A-Za-z0-9+/=]*):$/.exec(member.trim())
      expect(match, `byte sequence: ${member}`).not.toBeNull()
      return Buffer.from(match![1]!, 'base64')
    })
}

describe('by default', () => {
  it('passes none of the identity, address, credential or unlisted headers a client sends', async () => {
    const at = await received(plain, { ...FORGED, soapaction: '"http://tempuri.org/GetTransaction"' })
    for (const name of Object.keys(FORGED)) expect(at.headers, name).not.toHaveProperty(name)
    const all = JSON.stringify(at.headers)
    expect(all).not.toContain('FORGED')
    expect(all).not.toContain('Rk9SR0VE')
    expect(all).not.toMatch(/203\.0\.113\./)
    expect(at.headers['content-type']).toBe('text/xml')
    expect(at.headers.soapaction).toBe('"http://tempuri.org/GetTransaction"')
    expect(at.headers['x-ehi-client-verified']).toBe('SUCCESS')
  })

  it('keeps Content-Type when the Connection header names it', async () => {
    const at = await received(plain, {
      connection: 'content-type, soapaction',
      'content-type': 'application/xml; charset=utf-8',
      soapaction: '"http://tempuri.org/GetTransaction"',
    })
    expect(at.headers['content-type']).toBe('application/xml; charset=utf-8')
    expect(at.headers.soapaction).toBe('"http://tempuri.org/GetTransaction"')
  })

  it('passes a valid tracestate with the client traceparent, and no RFC 9440 headers', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const at = await received(plain, { traceparent, tracestate: 'congo=t61rcWkgMzE' })
    expect(at.headers.traceparent).toBe(traceparent)
    expect(at.headers.tracestate).toBe('congo=t61rcWkgMzE')
    expect(at.headers['client-cert']).toBeUndefined()
    expect(at.headers['client-cert-chain']).toBeUndefined()
  })
})

describe('with upstream.forwardHeaders and upstream.clientCertHeaders', () => {
  it('passes the listed headers and still none of the others', async () => {
    const at = await received(configured, { ...FORGED, 'x-partner-trace': 'abc-123' })
    expect(at.headers['x-partner-trace']).toBe('abc-123')
    expect(at.headers.authorization).toBe('Basic FORGED')
    for (const name of Object.keys(FORGED).filter((n) => !['x-partner-trace', 'authorization'].includes(n)))
      expect(String(at.headers[name] ?? ''), name).not.toContain('FORGED')
  })

  it('drops a listed header that the Connection header names', async () => {
    const at = await received(configured, { connection: 'X-Partner-Trace', 'x-partner-trace': 'abc-123' })
    expect(at.headers['x-partner-trace']).toBeUndefined()
    expect(at.headers['content-type']).toBe('text/xml')
  })

  it("sends the verified certificate and its CA path as RFC 9440 headers, not the client's", async () => {
    const at = await received(configured, {
      'client-cert': FORGED['client-cert'],
      'client-cert-chain': FORGED['client-cert-chain'],
    })
    const [leaf, ...extra] = byteSequences(at.headers['client-cert'])
    expect(extra).toEqual([])
    expect(leaf!.equals(der(pki.clients.good.cert))).toBe(true)
    const chain = byteSequences(at.headers['client-cert-chain'])
    expect(chain.map((c) => c.toString('hex'))).toEqual([
      der(pki.files['thredd-issuing-ca.pem']!).toString('hex'),
      der(pki.files['thredd-root-ca.pem']!).toString('hex'),
    ])
  })
})

describe('upstream.forwardHeaders validation', () => {
  it.each(['x-ssl-client-cert', 'true-client-ip', 'Connection', 'x-forwarded-for', 'client-cert'])(
    'refuses to start with %s listed, naming the entry',
    (name) => {
      const { config, issues } = validateConfig({
        ...baseConfig(pki, 'http://127.0.0.1:9/ehi'),
        upstream: { url: 'http://127.0.0.1:9/ehi', forwardHeaders: ['x-fine', name] },
      })
      expect(issues).toEqual([])
      let error: unknown
      try {
        compileRuntime(config)
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['upstream.forwardHeaders[1]'])
    },
  )
})
