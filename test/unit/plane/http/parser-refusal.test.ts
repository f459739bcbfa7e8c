import { describe, expect, it } from 'vitest'
import { errorAnswer } from '../../../../src/plane/http/error-answer.ts'
import { parserRefusalReason, rawAnswer } from '../../../../src/plane/http/parser-refusal.ts'

describe('parserRefusalReason', () => {
  it.each([
    ['ERR_HTTP_REQUEST_TIMEOUT', 'request_timeout'],
    ['HPE_HEADER_OVERFLOW', 'headers_too_large'],
    ['HPE_INVALID_METHOD', 'bad_request'],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 'bad_request'],
    ['HPE_INVALID_CHUNK_SIZE', 'bad_request'],
    // TLS and socket errors reach clientError too; there is no HTTP exchange to answer.
    ['ERR_TLS_HANDSHAKE_TIMEOUT', undefined],
    ['ECONNRESET', undefined],
    [undefined, undefined],
  ])('%s -> %s', (code, reason) => {
    expect(parserRefusalReason(code)).toBe(reason)
  })
})

describe('rawAnswer', () => {
  const answer = errorAnswer('headers_too_large', 'req-1', true)
  const text = rawAnswer(answer, { 'strict-transport-security': 'max-age=1' })
  const [head, body] = text.split('\r\n\r\n')

  it('starts with the status line of the reason', () => {
    expect(head!.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large')
  })

  it('carries the reason header, the extra headers and connection: close', () => {
    const lines = head!.split('\r\n')
    expect(lines).toContain('x-ehi-gateway-reason: headers_too_large')
    expect(lines).toContain('strict-transport-security: max-age=1')
    expect(lines).toContain('connection: close')
  })

  it('declares the body length in bytes', () => {
    expect(head).toContain(`content-length: ${Buffer.byteLength(body!)}`)
    expect(JSON.parse(body!)).toMatchObject({ reason: 'headers_too_large', requestId: 'req-1' })
  })
})
