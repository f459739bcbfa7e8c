/**
 * Answers to requests Node's HTTP parser refuses before the gateway sees a request: smuggling
 * shapes, oversized headers, bytes that are not HTTP, a slow client's timeout, CONNECT. They get
 * the same treatment as every other refusal (reason code in body and header, security headers,
 * connection closed), written as raw bytes because there is no request object to answer on.
 * Pure.
 */
import type { Reason } from '../../reasons.ts'
import type { ErrorAnswer } from './error-answer.ts'

/**
 * The reason for a Node `clientError` the gateway answers over HTTP; undefined for anything
 * else. https.Server also reports TLS errors (a handshake timeout, a reset) as clientError, and
 * those have no HTTP exchange to answer on: the connection gate logs them, the socket is closed.
 */
export function parserRefusalReason(code: string | undefined): Reason | undefined {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout'
  if (code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large'
  if (code?.startsWith('HPE_')) return 'bad_request'
  return undefined
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
}

/** An HTTP/1.1 response as bytes, closing the connection. */
export function rawAnswer(answer: ErrorAnswer, extraHeaders: Readonly<Record<string, string>>): string {
  const headers = { ...extraHeaders, ...answer.headers, connection: 'close' }
  const lines = [`HTTP/1.1 ${answer.status} ${STATUS_TEXT[answer.status] ?? 'Error'}`]
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  lines.push(`content-length: ${Buffer.byteLength(answer.body)}`)
  return `${lines.join('\r\n')}\r\n\r\n${answer.body}`
}
