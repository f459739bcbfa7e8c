/** A failed TLS handshake gets a reason for the log and the metric; unknown codes fall back. */
import { describe, expect, it } from 'vitest'
import { isReason, REASONS } from '../../../../src/reasons.ts'
import { handshakeErrorReason } from '../../../../src/plane/tls/handshake-error-reason.ts'

describe('handshakeErrorReason', () => {
  it.each([
    { code: 'ERR_TLS_HANDSHAKE_TIMEOUT', reason: 'handshake_timeout' },
    { code: 'ERR_SSL_HTTP_REQUEST', reason: 'http_on_tls_port' },
    { code: 'ERR_SSL_UNSUPPORTED_PROTOCOL', reason: 'tls_protocol_version' },
    { code: 'ERR_SSL_VERSION_TOO_LOW', reason: 'tls_protocol_version' },
    { code: 'ERR_SSL_WRONG_VERSION_NUMBER', reason: 'tls_protocol_version' },
    { code: 'ERR_SSL_NO_SHARED_CIPHER', reason: 'tls_no_shared_cipher' },
    { code: 'ERR_SSL_NO_SHARED_GROUPS', reason: 'tls_no_shared_cipher' },
    { code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', reason: 'tls_handshake_failed' },
    { code: 'ECONNRESET', reason: 'tls_handshake_failed' },
    { code: undefined, reason: 'tls_handshake_failed' },
    { code: '', reason: 'tls_handshake_failed' },
  ])('$code -> $reason', ({ code, reason }) => {
    expect(handshakeErrorReason(code)).toBe(reason)
  })

  it.each(['ERR_TLS_HANDSHAKE_TIMEOUT', 'ERR_SSL_NO_SHARED_CIPHER', 'unknown'])(
    'gives a tls-stage reason without HTTP answer for %s',
    (code) => {
      const reason = handshakeErrorReason(code)
      expect(isReason(reason)).toBe(true)
      expect(REASONS[reason]).toMatchObject({ stage: 'tls', status: 0 })
    },
  )
})
