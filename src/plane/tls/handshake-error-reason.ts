/** Maps a TLS handshake failure (tlsClientError) to a reason code. Pure. */
import type { Reason } from '../../reasons.ts'

const BY_CODE: Record<string, Reason> = {
  ERR_TLS_HANDSHAKE_TIMEOUT: 'handshake_timeout',
  ERR_SSL_HTTP_REQUEST: 'http_on_tls_port',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'tls_protocol_version',
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: 'tls_protocol_version',
  ERR_SSL_VERSION_TOO_LOW: 'tls_protocol_version',
  ERR_SSL_WRONG_VERSION_NUMBER: 'tls_protocol_version',
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: 'tls_protocol_version',
  ERR_SSL_NO_SHARED_CIPHER: 'tls_no_shared_cipher',
  ERR_SSL_NO_SHARED_SIGNATURE_ALGORITHMS: 'tls_no_shared_cipher',
  ERR_SSL_NO_SUITABLE_KEY_SHARE: 'tls_no_shared_cipher',
  ERR_SSL_NO_SHARED_GROUPS: 'tls_no_shared_cipher',
}

export function handshakeErrorReason(code: string | undefined): Reason {
  return (code && BY_CODE[code]) || 'tls_handshake_failed'
}
