/**
 * Hop-by-hop headers belong to one connection (RFC 9110 §7.6.1): the fixed set, plus whatever the
 * Connection header names for this message.
 */
import { describe, expect, it } from 'vitest'
import { connectionTokens, isHopByHop } from '../../../../src/plane/http/hop-by-hop.ts'

describe('connectionTokens', () => {
  it.each([
    { name: 'no header', value: undefined, tokens: [] },
    { name: 'an empty header', value: '', tokens: [] },
    { name: 'one token', value: 'close', tokens: ['close'] },
    {
      name: 'tokens in mixed case with spaces',
      value: ' Keep-Alive ,X-Debug-Token',
      tokens: ['keep-alive', 'x-debug-token'],
    },
    { name: 'empty list elements', value: 'a,,b, ,', tokens: ['a', 'b'] },
    { name: 'several header lines', value: ['close', 'X-A, x-b'], tokens: ['close', 'x-a', 'x-b'] },
  ])('reads $name', ({ value, tokens }) => {
    expect([...connectionTokens(value)]).toEqual(tokens)
  })
})

describe('isHopByHop', () => {
  it.each([
    'connection',
    'keep-alive',
    'proxy-connection',
    'proxy-authenticate',
    'proxy-authorization',
    'te',
    'trailer',
    'trailers',
    'transfer-encoding',
    'upgrade',
  ])('always treats %s as hop-by-hop', (name) => {
    expect(isHopByHop(name, new Set())).toBe(true)
  })

  it.each(['content-type', 'soapaction', 'authorization', 'set-cookie', 'x-request-id'])(
    'passes %s when the Connection header does not name it',
    (name) => {
      expect(isHopByHop(name, new Set(['close']))).toBe(false)
    },
  )

  it('treats a header named in Connection as hop-by-hop', () => {
    expect(isHopByHop('x-debug-token', connectionTokens('close, X-Debug-Token'))).toBe(true)
  })
})
