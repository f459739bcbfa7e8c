/**
 * The host's answer goes back to Thredd unchanged except for hop-by-hop headers and
 * Content-Length, which the gateway sets from the body it buffered.
 */
import { describe, expect, it } from 'vitest'
import { toClientResponseHeaders } from '../../../../src/plane/http/host-response-headers.ts'

describe('toClientResponseHeaders', () => {
  it('keeps end-to-end headers and drops hop-by-hop ones and content-length', () => {
    expect(
      toClientResponseHeaders({
        'content-type': 'text/xml; charset=utf-8',
        'content-length': '512',
        'transfer-encoding': 'chunked',
        connection: 'keep-alive, x-host-debug',
        'keep-alive': 'timeout=5',
        'x-host-debug': 'pool=3',
        trailer: 'x-checksum',
        upgrade: 'h2c',
        'cache-control': 'no-store',
        date: 'Mon, 01 Jan 2030 00:00:00 GMT',
      }),
    ).toEqual({
      'content-type': 'text/xml; charset=utf-8',
      'cache-control': 'no-store',
      date: 'Mon, 01 Jan 2030 00:00:00 GMT',
    })
  })

  it('keeps set-cookie as an array, values unjoined', () => {
    const cookies = ['a=1; Path=/', 'b=2, with comma; Path=/']
    expect(toClientResponseHeaders({ 'set-cookie': cookies })).toEqual({ 'set-cookie': cookies })
  })

  it('skips undefined values', () => {
    expect(toClientResponseHeaders({ 'x-a': undefined, 'x-b': 'b' })).toEqual({ 'x-b': 'b' })
  })

  it('drops headers named in a Connection header given as several lines', () => {
    expect(toClientResponseHeaders({ connection: ['close', 'x-one'], 'x-one': '1', 'x-two': '2' })).toEqual({
      'x-two': '2',
    })
  })
})
