/**
 * The host trusts the identity and forwarding headers because the gateway owns them: whatever the
 * client sends under those names is dropped and replaced, never passed on or merged.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { describe, expect, it } from 'vitest'
import { toHostRequestHeaders, type ForwardContext } from '../../../src/upstream/host-request-headers.ts'

const identity = Object.freeze({
  'x-forwarded-client-cert': 'Hash=abc;Subject="CN=thredd"',
  'x-ehi-client-verified': 'SUCCESS',
  'x-ehi-client-serial': '0A1B',
})
const context: ForwardContext = {
  requestId: 'req-1',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  clientAddress: '192.0.2.7',
}

describe('toHostRequestHeaders', () => {
  it('passes end-to-end headers and adds identity and forwarding headers', () => {
    expect(
      toHostRequestHeaders(
        {
          'content-type': 'text/xml',
          soapaction: '"http://tempuri.org/GetTransaction"',
          'user-agent': 'thredd',
        },
        identity,
        context,
      ),
    ).toEqual({
      'content-type': 'text/xml',
      soapaction: '"http://tempuri.org/GetTransaction"',
      'user-agent': 'thredd',
      ...identity,
      'x-forwarded-for': '192.0.2.7',
      'x-forwarded-proto': 'https',
      'x-request-id': 'req-1',
      traceparent: context.traceparent,
    })
  })

  it.each([
    { name: 'x-forwarded-client-cert', value: 'Hash=forged;Subject="CN=admin"' },
    { name: 'x-ehi-client-verified', value: 'SUCCESS' },
    { name: 'x-ehi-client-serial', value: 'FF' },
    // Any x-ehi-* name, even one the gateway does not set today.
    { name: 'x-ehi-gateway-reason', value: 'none' },
    { name: 'x-ehi-anything', value: 'x' },
    { name: 'x-forwarded-for', value: '10.0.0.1' },
    { name: 'x-forwarded-proto', value: 'http' },
    { name: 'x-forwarded-host', value: 'evil.example' },
    { name: 'x-forwarded-port', value: '80' },
    { name: 'forwarded', value: 'for=10.0.0.1' },
    { name: 'x-real-ip', value: '10.0.0.1' },
    { name: 'x-request-id', value: 'forged-id' },
    { name: 'traceparent', value: '00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01' },
    { name: 'expect', value: '100-continue' },
    { name: 'host', value: 'gateway.example:8443' },
    { name: 'content-length', value: '999' },
  ])('never passes the client $name', ({ name, value }) => {
    // No identity headers: a dropped name must not come back from the client either.
    const out = toHostRequestHeaders({ [name]: value, 'content-type': 'text/xml' }, {}, context)
    // The four the gateway sets itself carry its value; the rest are gone.
    const own: Record<string, string> = {
      'x-forwarded-for': context.clientAddress,
      'x-forwarded-proto': 'https',
      'x-request-id': context.requestId,
      traceparent: context.traceparent,
    }
    expect(out[name]).toBe(own[name])
    expect(out['content-type']).toBe('text/xml')
  })

  it('replaces the client identity header with the verified one', () => {
    const out = toHostRequestHeaders({ 'x-forwarded-client-cert': 'Hash=forged' }, identity, context)
    expect(out['x-forwarded-client-cert']).toBe(identity['x-forwarded-client-cert'])
  })

  it.each([
    'connection',
    'keep-alive',
    'proxy-authorization',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
  ])('drops the hop-by-hop header %s', (name) => {
    expect(toHostRequestHeaders({ [name]: 'x' }, {}, context)).not.toHaveProperty(name)
  })

  it('drops headers the Connection header names', () => {
    const out = toHostRequestHeaders(
      { connection: 'close, X-Client-Debug', 'x-client-debug': '1', 'x-kept': '2' },
      {},
      context,
    )
    expect(out).not.toHaveProperty('x-client-debug')
    expect(out['x-kept']).toBe('2')
  })

  it('joins array values with ", "', () => {
    const inbound: IncomingHttpHeaders = { 'x-multi': ['a', 'b'] }
    expect(toHostRequestHeaders(inbound, {}, context)['x-multi']).toBe('a, b')
  })

  it('skips undefined values', () => {
    expect(toHostRequestHeaders({ 'x-none': undefined }, {}, context)).not.toHaveProperty('x-none')
  })
})
