/**
 * The reason-code catalog: every refusal and every gateway-made error answer has exactly one
 * code from this table, and the same code appears in the HTTP answer (body and
 * `x-ehi-gateway-reason` header), the log line (`reason`) and the metric label (`reason`).
 * The codes are public API: add codes, never rename them. docs/reason-codes.md is generated from
 * this table and a test fails when the two drift.
 */

export type Stage = 'accept' | 'tls' | 'identity' | 'http' | 'ehi' | 'upstream'

export interface ReasonInfo {
  readonly stage: Stage
  /** HTTP status of the answer; 0 = no HTTP answer is possible (the connection is closed). */
  readonly status: number
  readonly message: string
}

export const REASONS = {
  // accept: decided on the TCP connection, before any TLS work
  ip_not_allowed: {
    stage: 'accept',
    status: 0,
    message: 'The source address is not in the allowlist; the TCP connection is closed before TLS.',
  },

  too_many_connections: {
    stage: 'accept',
    status: 0,
    message: 'The gateway is at limits.maxConnections; the TCP connection is closed before TLS.',
  },
  too_many_connections_from_ip: {
    stage: 'accept',
    status: 0,
    message: 'The source address is at limits.maxConnectionsPerIp; the TCP connection is closed before TLS.',
  },
  proxy_untrusted_source: {
    stage: 'accept',
    status: 0,
    message:
      'PROXY protocol is on and the TCP peer is not a trusted load balancer (proxyProtocol.trustedCidrs); the connection is closed before any byte is read.',
  },
  proxy_header_invalid: {
    stage: 'accept',
    status: 0,
    message:
      'PROXY protocol is on and the connection did not start with a valid PROXY v1 or v2 header within proxyProtocol.headerTimeoutMs (missing, malformed, truncated, oversized or not TCP); it is closed before TLS.',
  },

  // tls: the TLS handshake itself failed, so no HTTP answer can be sent
  handshake_timeout: {
    stage: 'tls',
    status: 0,
    message: 'The client did not complete the TLS handshake within the handshake timeout.',
  },
  tls_protocol_version: {
    stage: 'tls',
    status: 0,
    message: 'The client offered only TLS versions the gateway refuses (it accepts TLS 1.2 and 1.3).',
  },
  tls_no_shared_cipher: {
    stage: 'tls',
    status: 0,
    message: 'The client offered no cipher suite the gateway accepts (ECDHE with AEAD only).',
  },
  http_on_tls_port: {
    stage: 'tls',
    status: 0,
    message: 'The client sent plain HTTP to the TLS port.',
  },
  tls_handshake_failed: {
    stage: 'tls',
    status: 0,
    message: 'The TLS handshake failed (see the log line for the TLS error).',
  },

  // identity: the handshake completed; the client certificate failed a check
  no_client_cert: {
    stage: 'identity',
    status: 400,
    message: 'No required SSL certificate was sent',
  },
  untrusted_issuer: {
    stage: 'identity',
    status: 403,
    message: 'The client certificate does not chain to a configured client CA.',
  },
  invalid_chain: {
    stage: 'identity',
    status: 403,
    message: 'The client certificate chain is not valid (CA constraints, path length or signature).',
  },
  expired: {
    stage: 'identity',
    status: 403,
    message: 'The client certificate, or a CA certificate in its chain, has expired.',
  },
  not_yet_valid: {
    stage: 'identity',
    status: 403,
    message: 'The client certificate, or a CA certificate in its chain, is not valid yet.',
  },
  revoked: {
    stage: 'identity',
    status: 403,
    message: 'The client certificate, or a CA certificate in its chain, is revoked.',
  },
  crl_expired: {
    stage: 'identity',
    status: 403,
    message:
      "The CRL of the client certificate's issuer is past its nextUpdate; revocation cannot be checked.",
  },
  crl_unavailable: {
    stage: 'identity',
    status: 403,
    message: "No valid CRL is loaded for the client certificate's issuer; revocation cannot be checked.",
  },
  ocsp_unavailable: {
    stage: 'identity',
    status: 403,
    message:
      'tls.ocsp.policy is hard and there is no current good OCSP answer for the client certificate: the responder is down, slow, answered unknown or with a bad signature or signer, or its last answer expired (the log line says which).',
  },
  bad_eku: {
    stage: 'identity',
    status: 403,
    message:
      'The client certificate is not for TLS client authentication (no clientAuth extended key usage, or a keyUsage without digitalSignature).',
  },
  weak_key: {
    stage: 'identity',
    status: 403,
    message: 'The client certificate or its chain uses a key or signature below the security level.',
  },
  pin_mismatch: {
    stage: 'identity',
    status: 403,
    message: 'The client certificate matches none of the configured SPKI or certificate pins.',
  },
  subject_not_allowed: {
    stage: 'identity',
    status: 403,
    message: 'The client certificate subject or SAN is not in the configured allow-list.',
  },
  cert_invalid: {
    stage: 'identity',
    status: 403,
    message: 'The client certificate failed verification (see the log line for the OpenSSL code).',
  },

  // http: the request itself is not one the gateway serves
  not_found: { stage: 'http', status: 404, message: 'No EHI endpoint is served at this path.' },
  method_not_allowed: {
    stage: 'http',
    status: 405,
    message: 'EHI endpoints accept POST only.',
  },
  bad_request: {
    stage: 'http',
    status: 400,
    message:
      "The HTTP request is malformed (refused by the HTTP parser; the log line names the parser's code).",
  },
  headers_too_large: {
    stage: 'http',
    status: 431,
    message: 'The request headers exceed the HTTP parser limit (16 KiB).',
  },
  request_timeout: {
    stage: 'http',
    status: 408,
    message:
      'The client did not send complete headers within limits.headersTimeoutMs, or the whole request within limits.requestTimeoutMs (slow-loris); the connection is closed.',
  },
  expectation_failed: {
    stage: 'http',
    status: 417,
    message:
      'The request carried an Expect header other than 100-continue, which the gateway does not support (RFC 9110 §10.1.1); the connection is closed.',
  },
  shutting_down: {
    stage: 'http',
    status: 503,
    message: 'The gateway is draining for shutdown; Thredd resends.',
  },

  // ehi: the body is not an EHI message the gateway can route; it is not forwarded
  ehi_malformed: {
    stage: 'ehi',
    status: 400,
    message: 'The body is not a well-formed EHI message (see the log line for what is wrong).',
  },
  ehi_unsupported_media_type: {
    stage: 'ehi',
    status: 400,
    message: 'The Content-Type is not application/xml, text/xml or application/json in UTF-8.',
  },
  ehi_too_large: {
    stage: 'ehi',
    status: 400,
    message: 'The body is larger than the configured limit (routes.bodyLimitBytes).',
  },

  // upstream: the internal host could not give an answer
  host_unreachable: {
    stage: 'upstream',
    status: 502,
    message: 'The internal host could not be reached.',
  },
  host_timeout: {
    stage: 'upstream',
    status: 504,
    message: 'The internal host did not answer within the deadline.',
  },
  host_bad_response: {
    stage: 'upstream',
    status: 502,
    message: 'The internal host closed the connection or sent an invalid HTTP answer.',
  },
  host_error: {
    stage: 'upstream',
    status: 502,
    message: 'Forwarding to the internal host failed.',
  },
  host_nonconforming: {
    stage: 'upstream',
    status: 502,
    message: 'The internal host answered in a shape Thredd does not accept (ehi.hostAnswerCheck is replace).',
  },
  deadline_passed: {
    stage: 'upstream',
    status: 504,
    message: "The message's deadline had passed before it could be forwarded; it was not sent to the host.",
  },
  internal_error: {
    stage: 'http',
    status: 500,
    message: 'The gateway failed while handling the request.',
  },
} as const satisfies Record<string, ReasonInfo>

export type Reason = keyof typeof REASONS

export function isReason(value: string): value is Reason {
  return Object.hasOwn(REASONS, value)
}
