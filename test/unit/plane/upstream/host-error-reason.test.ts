/**
 * A failed call to the internal host becomes 502 or 504 with a stable reason. undici wraps socket
 * errors, so the code is searched along the `cause` chain.
 */
import { describe, expect, it } from 'vitest'
import { errorCode, hostErrorReason } from '../../../../src/plane/upstream/host-error-reason.ts'

const withCode = (code: string, cause?: unknown) =>
  Object.assign(new Error(code), { code }, cause ? { cause } : {})

describe('hostErrorReason', () => {
  it.each([
    { code: 'ECONNREFUSED', reason: 'host_unreachable' },
    { code: 'ENOTFOUND', reason: 'host_unreachable' },
    { code: 'EAI_AGAIN', reason: 'host_unreachable' },
    { code: 'EHOSTUNREACH', reason: 'host_unreachable' },
    { code: 'UND_ERR_CONNECT_TIMEOUT', reason: 'host_unreachable' },
    { code: 'UND_ERR_HEADERS_TIMEOUT', reason: 'host_timeout' },
    { code: 'UND_ERR_BODY_TIMEOUT', reason: 'host_timeout' },
    { code: 'ECONNRESET', reason: 'host_bad_response' },
    { code: 'EPIPE', reason: 'host_bad_response' },
    { code: 'UND_ERR_SOCKET', reason: 'host_bad_response' },
    { code: 'UND_ERR_RES_EXCEEDED_MAX_SIZE', reason: 'host_bad_response' },
    // Any llhttp parse error.
    { code: 'HPE_INVALID_CONSTANT', reason: 'host_bad_response' },
    { code: 'HPE_INVALID_HEADER_TOKEN', reason: 'host_bad_response' },
    { code: 'ERR_SOMETHING_ELSE', reason: 'host_error' },
  ])('$code -> $reason', ({ code, reason }) => {
    expect(hostErrorReason(withCode(code), false)).toBe(reason)
  })

  it.each(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'ERR_SOMETHING_ELSE'])(
    'is host_timeout when the gateway deadline fired, whatever the code (%s)',
    (code) => {
      expect(hostErrorReason(withCode(code), true)).toBe('host_timeout')
    },
  )

  it.each([
    { name: 'an error without code', error: new Error('boom') },
    { name: 'undefined', error: undefined },
    { name: 'a string', error: 'ECONNREFUSED' },
  ])('is host_error for $name', ({ error }) => {
    expect(hostErrorReason(error, false)).toBe('host_error')
  })

  it('reads the code of a wrapped socket error (fetch failed -> cause)', () => {
    const error = new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') })
    expect(hostErrorReason(error, false)).toBe('host_unreachable')
  })
})

describe('hostErrorReason without a code', () => {
  // undici raises HTTPParserError without a code for bytes that are not HTTP at all.
  it.each([
    'HTTPParserError',
    'ResponseContentLengthMismatchError',
    'ResponseExceededMaxSizeError',
    'SocketError',
  ])('%s -> host_bad_response', (name) => {
    const error = Object.assign(new Error('bad answer'), { name })
    expect(hostErrorReason(error, false)).toBe('host_bad_response')
  })
})

describe('errorCode', () => {
  it.each([
    { name: 'a code on the error', error: withCode('ECONNRESET'), code: 'ECONNRESET' },
    {
      name: 'the deepest code of a chain',
      error: withCode('UND_ERR_SOCKET', withCode('ECONNRESET')),
      code: 'ECONNRESET',
    },
    {
      name: 'an outer code when the cause has none',
      error: withCode('UND_ERR_SOCKET', new Error('inner')),
      code: 'UND_ERR_SOCKET',
    },
    {
      name: 'a code two causes down',
      error: new Error('a', { cause: new Error('b', { cause: withCode('EPIPE') }) }),
      code: 'EPIPE',
    },
    { name: 'a numeric code (ignored)', error: { code: -111 }, code: undefined },
    { name: 'no error', error: undefined, code: undefined },
    { name: 'null', error: null, code: undefined },
  ])('finds $name', ({ error, code }) => {
    expect(errorCode(error)).toBe(code)
  })

  it('terminates on a cause cycle', () => {
    const error: { code: string; cause?: unknown } = { code: 'ECONNRESET' }
    error.cause = error
    expect(errorCode(error)).toBe('ECONNRESET')
  })
})
