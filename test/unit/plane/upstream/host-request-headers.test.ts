/**
 * The host gets an allowlist of request headers: the message headers, the names the operator
 * adds, and what the gateway sets itself. Whatever the client sends under any other name, and
 * under the names the gateway owns, is dropped, so the host can trust what it receives.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { describe, expect, it, vi } from 'vitest'
import {
  compileHostHeaderPolicy,
  toHostRequestHeaders,
  type ForwardContext,
  type HostHeaderPolicy,
} from '../../../../src/plane/upstream/host-request-headers.ts'

const identity = Object.freeze({
  'x-forwarded-client-cert': 'Hash=abc;Subject="CN=thredd"',
  'x-ehi-client-verified': 'SUCCESS',
  'x-ehi-client-serial': '0A1B',
})
const certHeaders = Object.freeze({ 'client-cert': ':AAEC:', 'client-cert-chain': ':AwQF:, :BgcI:' })
const peer = { headers: identity, clientCertHeaders: () => certHeaders }
const anonymous = { headers: {}, clientCertHeaders: () => ({}) }
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
const context: ForwardContext = { requestId: 'req-1', traceparent: TRACEPARENT, clientAddress: '192.0.2.7' }
/** What the gateway sets on every request, whatever the client sent. */
const OWN: Record<string, string> = {
  ...identity,
  'x-forwarded-for': context.clientAddress,
  'x-forwarded-proto': 'https',
  'x-request-id': context.requestId,
  traceparent: TRACEPARENT,
}

function policy(forwardHeaders: string[] = [], clientCertHeaders = false): HostHeaderPolicy {
  const compiled = compileHostHeaderPolicy({ forwardHeaders, clientCertHeaders })
  expect(compiled.issues).toEqual([])
  return compiled.policy
}

const forward = (inbound: IncomingHttpHeaders, chosen: HostHeaderPolicy = policy()) =>
  toHostRequestHeaders(inbound, peer, context, chosen)

describe('toHostRequestHeaders', () => {
  it('passes the message headers and adds the identity and forwarding headers, nothing else', () => {
    expect(
      forward({
        'content-type': 'text/xml; charset=utf-8',
        soapaction: '"http://tempuri.org/GetTransaction"',
        'x-thredd-signature': 'k=key-1, s=00ff',
        'user-agent': 'thredd',
        accept: '*/*',
      }),
    ).toEqual({
      'content-type': 'text/xml; charset=utf-8',
      soapaction: '"http://tempuri.org/GetTransaction"',
      'x-thredd-signature': 'k=key-1, s=00ff',
      ...OWN,
    })
  })

  // The names issue 13 lists, and every other kind a host might trust or a proxy might set.
  it.each([
    // Identity and address assertions of other terminators, CDNs and auth proxies.
    'x-client-cert',
    'x-ssl-client-cert',
    'x-ssl-client-s-dn',
    'ssl-client-verify',
    'true-client-ip',
    'x-envoy-external-address',
    'x-real-ip',
    'cf-connecting-ip',
    'x-arr-clientcert',
    'x-amzn-mtls-clientcert',
    'x-auth-request-user',
    // Credentials.
    'authorization',
    'cookie',
    'proxy-authorization',
    // RFC 9440 under the standard names: only the gateway may set them.
    'client-cert',
    'client-cert-chain',
    // Owned by the gateway or its HTTP client.
    'forwarded',
    'x-forwarded-host',
    'x-forwarded-port',
    'x-ehi-client-spki-sha256',
    'x-ehi-anything',
    'host',
    'content-length',
    'expect',
    // Hop-by-hop.
    'connection',
    'keep-alive',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'proxy-connection',
    // Ordinary headers nobody listed.
    'user-agent',
    'accept-encoding',
    'x-custom',
  ])('never passes the client %s', (name) => {
    const out = toHostRequestHeaders({ [name]: 'FORGED', 'content-type': 'text/xml' }, anonymous, context)
    expect(out).not.toHaveProperty(name)
    expect(JSON.stringify(out)).not.toContain('FORGED')
    expect(out['content-type']).toBe('text/xml')
  })

  it.each([
    'x-forwarded-client-cert',
    'x-ehi-client-verified',
    'x-ehi-client-serial',
    'x-forwarded-for',
    'x-forwarded-proto',
    'x-request-id',
    'traceparent',
  ])("replaces the client's %s with the gateway's", (name) => {
    expect(forward({ [name]: 'FORGED' })[name]).toBe(OWN[name])
  })

  describe('Connection tokens', () => {
    const extra = policy(['x-custom', 'x-other'])
    it.each([
      { name: 'Connection: content-type', connection: 'content-type', kept: ['content-type'], dropped: [] },
      {
        name: 'every message header in mixed case',
        connection: 'Content-Type, SOAPAction, X-Thredd-Signature',
        kept: ['content-type', 'soapaction', 'x-thredd-signature'],
        dropped: [],
      },
      { name: 'a configured header', connection: 'x-custom', kept: ['x-other'], dropped: ['x-custom'] },
      {
        name: 'a configured header in upper case',
        connection: 'close, X-CUSTOM',
        kept: [],
        dropped: ['x-custom'],
      },
      {
        name: 'tokens with odd spacing',
        connection: ' ,x-custom ,, x-other',
        kept: [],
        dropped: ['x-custom', 'x-other'],
      },
      { name: 'only close', connection: 'close', kept: ['x-custom', 'x-other', 'content-type'], dropped: [] },
    ])('$name', ({ connection, kept, dropped }) => {
      const inbound = {
        connection,
        'content-type': 'text/xml',
        soapaction: '"a"',
        'x-thredd-signature': 's',
        'x-custom': '1',
        'x-other': '2',
      }
      const out = forward(inbound, extra)
      for (const name of kept) expect(out[name]).toBe(inbound[name as keyof typeof inbound])
      for (const name of dropped) expect(out).not.toHaveProperty(name)
      expect(out).not.toHaveProperty('connection')
    })

    it("keeps the gateway's own headers when Connection names them", () => {
      const out = forward({
        connection: 'x-forwarded-for, x-request-id, traceparent, x-forwarded-client-cert',
      })
      expect(out).toMatchObject(OWN)
    })
  })

  describe('configured extra headers', () => {
    it('passes a listed header, listed in any case', () => {
      expect(forward({ 'x-partner-trace': 'abc' }, policy(['X-Partner-Trace']))['x-partner-trace']).toBe(
        'abc',
      )
    })

    it('passes authorization and cookie only when listed', () => {
      const inbound = { authorization: 'Basic dGhyZWRkOg==', cookie: 'a=1' }
      expect(forward(inbound)).not.toHaveProperty('authorization')
      expect(forward(inbound, policy(['authorization', 'cookie']))).toMatchObject(inbound)
    })

    it('joins repeated fields with ", "', () => {
      expect(forward({ 'x-multi': ['a', 'b'] }, policy(['x-multi']))['x-multi']).toBe('a, b')
      expect(forward({ soapaction: ['"a"', '"b"'] }).soapaction).toBe('"a", "b"')
    })

    it('skips a listed header the request does not carry', () => {
      expect(forward({ 'x-none': undefined }, policy(['x-none', 'x-absent']))).toEqual(OWN)
    })

    it('never reads a listed name from the prototype', () => {
      expect(forward({}, policy(['constructor', '__proto__']))).toEqual(OWN)
    })
  })

  describe('tracestate', () => {
    it('passes a valid tracestate with the traceparent it belongs to', () => {
      const out = forward({
        traceparent: TRACEPARENT,
        tracestate: 'congo=t61rcWkgMzE, rojo=00f067aa0ba902b7',
      })
      expect(out.tracestate).toBe('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7')
    })

    it('joins repeated tracestate fields into one list', () => {
      expect(forward({ traceparent: TRACEPARENT, tracestate: ['a=1', 'b=2'] }).tracestate).toBe('a=1,b=2')
    })

    it('drops the tracestate when the gateway started a new trace', () => {
      const out = toHostRequestHeaders(
        { traceparent: 'garbage', tracestate: 'a=1' },
        peer,
        { ...context, traceparent: '00-11111111111111111111111111111111-2222222222222222-00' },
        policy(),
      )
      expect(out).not.toHaveProperty('tracestate')
      expect(forward({ tracestate: 'a=1' })).not.toHaveProperty('tracestate')
    })

    it('drops an invalid tracestate whole', () => {
      expect(forward({ traceparent: TRACEPARENT, tracestate: 'a=1,Bad Key=2' })).not.toHaveProperty(
        'tracestate',
      )
    })
  })

  describe('RFC 9440 Client-Cert headers', () => {
    it('sends the verified certificate and chain when on, never the client copy', () => {
      const out = forward(
        { 'client-cert': ':Zm9yZ2Vk:', 'client-cert-chain': ':Zm9yZ2Vk:' },
        policy([], true),
      )
      expect(out['client-cert']).toBe(certHeaders['client-cert'])
      expect(out['client-cert-chain']).toBe(certHeaders['client-cert-chain'])
    })

    it('does not build them when off', () => {
      const clientCertHeaders = vi.fn(() => certHeaders)
      const out = toHostRequestHeaders(
        { 'client-cert': ':Zm9yZ2Vk:' },
        { ...peer, clientCertHeaders },
        context,
      )
      expect(out).not.toHaveProperty('client-cert')
      expect(out).not.toHaveProperty('client-cert-chain')
      expect(clientCertHeaders).not.toHaveBeenCalled()
    })
  })
})

describe('compileHostHeaderPolicy', () => {
  it('lower-cases and trims the names and drops the ones always passed', () => {
    const { policy: compiled, issues } = compileHostHeaderPolicy({
      forwardHeaders: [' X-Partner-Trace ', 'authorization', 'Content-Type', 'x-partner-trace'],
      clientCertHeaders: true,
    })
    expect(issues).toEqual([])
    expect(compiled).toEqual({ extra: ['x-partner-trace', 'authorization'], clientCert: true })
  })

  it.each([
    { name: 'x y', says: 'is not a header name' },
    { name: 'x-tab\there', says: 'is not a header name' },
    { name: 'x:colon', says: 'is not a header name' },
    { name: '', says: 'is not a header name' },
    { name: 'Connection', says: 'hop-by-hop' },
    { name: 'transfer-encoding', says: 'hop-by-hop' },
    { name: 'proxy-authorization', says: 'hop-by-hop' },
    { name: 'upgrade', says: 'hop-by-hop' },
    { name: 'host', says: 'set by the gateway' },
    { name: 'content-length', says: 'set by the gateway' },
    { name: 'traceparent', says: 'set by the gateway' },
    { name: 'tracestate', says: 'set by the gateway' },
    { name: 'x-request-id', says: 'set by the gateway' },
    { name: 'X-Forwarded-For', says: 'set by the gateway' },
    { name: 'x-forwarded-host', says: 'set by the gateway' },
    { name: 'forwarded', says: 'set by the gateway' },
    { name: 'x-forwarded-client-cert', says: 'set by the gateway' },
    { name: 'x-ehi-client-verified', says: 'set by the gateway' },
    { name: 'client-cert', says: 'set by the gateway' },
    { name: 'client-cert-chain', says: 'set by the gateway' },
    { name: 'x-client-cert', says: 'client identity or address' },
    { name: 'x-ssl-client-cert', says: 'client identity or address' },
    { name: 'x-ssl-client-s-dn', says: 'client identity or address' },
    { name: 'ssl-client-verify', says: 'client identity or address' },
    { name: 'true-client-ip', says: 'client identity or address' },
    { name: 'x-envoy-external-address', says: 'client identity or address' },
    { name: 'x-real-ip', says: 'client identity or address' },
    { name: 'cf-connecting-ip', says: 'client identity or address' },
    { name: 'x-amzn-mtls-clientcert', says: 'client identity or address' },
    { name: 'x-remote-user', says: 'client identity or address' },
  ])('refuses $name ($says), naming the entry', ({ name, says }) => {
    const { issues } = compileHostHeaderPolicy({ forwardHeaders: ['x-fine', name], clientCertHeaders: false })
    expect(issues).toHaveLength(1)
    expect(issues[0]!.path).toBe('upstream.forwardHeaders[1]')
    expect(issues[0]!.message).toContain(JSON.stringify(name))
    expect(issues[0]!.message).toContain(says)
  })
})
