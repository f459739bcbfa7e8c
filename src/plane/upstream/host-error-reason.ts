/**
 * Maps a failed call to the internal host to a reason code. The only module that knows undici's
 * and the socket layer's error codes. Pure.
 */
import type { Reason } from '../../reasons.ts'

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
])

const BAD_RESPONSE = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'UND_ERR_INFO',
])

const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/** undici errors that may come without a code (an HTTPParserError for bytes that are not HTTP). */
const BAD_RESPONSE_NAMES = new Set([
  'HTTPParserError',
  'ResponseContentLengthMismatchError',
  'ResponseExceededMaxSizeError',
  'SocketError',
])

/** `deadlineHit` is true when the gateway's own deadline aborted the call. */
export function hostErrorReason(error: unknown, deadlineHit: boolean): Reason {
  if (deadlineHit) return 'host_timeout'
  const code = errorCode(error)
  if (code && UNREACHABLE.has(code)) return 'host_unreachable'
  if (code && TIMEOUT.has(code)) return 'host_timeout'
  if (code && (BAD_RESPONSE.has(code) || code.startsWith('HPE_'))) return 'host_bad_response'
  if (BAD_RESPONSE_NAMES.has((error as { name?: unknown } | undefined)?.name as string))
    return 'host_bad_response'
  return 'host_error'
}

/** The most specific code on an error or its cause chain (undici wraps socket errors). */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error
  let found: string | undefined
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') found = code
    current = (current as { cause?: unknown }).cause
  }
  return found
}
