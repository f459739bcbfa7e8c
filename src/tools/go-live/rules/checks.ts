/**
 * The checks `ehi-gateway check` runs, as data: what Thredd looks at before go-live
 * (ehi-domain.md §6a and §7) plus the TLS hygiene behind an SSL Labs grade A. Each check has a
 * stable id (used in the report, the JSON output and the tests) and is evaluated from the probe
 * results by a pure function in evaluate-checks.ts.
 */
import type { AuthKind } from '../tls12-handshake.ts'

export const CHECKS = [
  { id: 'protocols.legacy', title: 'TLS 1.0 and 1.1 refused' },
  { id: 'protocols.modern', title: 'TLS 1.2 and 1.3 offered' },
  { id: 'ciphers.tls12', title: 'TLS 1.2 suites: forward secret AEAD only' },
  { id: 'ciphers.tls13', title: 'TLS 1.3 suites' },
  { id: 'chain.sent', title: 'Leaf and intermediate sent, in order' },
  { id: 'chain.trusted', title: 'Chain verifies at every depth' },
  { id: 'chain.expiry', title: 'Certificates valid, not expiring soon' },
  { id: 'chain.hostname', title: 'Certificate matches the host name' },
  { id: 'client-ca.names', title: 'Acceptable client certificate CA names' },
  { id: 'http.no-client-cert', title: 'POST without a client certificate: 400/403' },
  { id: 'http.with-client-cert', title: 'POST with the client certificate: 200 and an EHI answer' },
  { id: 'http.hsts', title: 'HSTS (Strict-Transport-Security) on answers' },
] as const

/**
 * Checks of the gateway's own state, read from its admin server (`--admin URL`); informational,
 * never required, and only run when asked for.
 */
export const GATEWAY_CHECKS = [
  { id: 'gateway.candidate-trust', title: 'Candidate trust: differences from the live trust' },
] as const

/**
 * The one check reported when the server cannot be reached at all: every other check needs a
 * connection, so they are not run (rather than each failing with the same reason).
 */
export const CONNECT_CHECK = { id: 'connect', title: 'The server accepts a connection' } as const

export type CheckId =
  (typeof CHECKS)[number]['id'] | (typeof GATEWAY_CHECKS)[number]['id'] | (typeof CONNECT_CHECK)['id']
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

export interface CheckResult {
  id: CheckId
  title: string
  /** Counts towards the exit code. A required check passes with `pass` or `warn` only. */
  required: boolean
  status: CheckStatus
  /** One line for the table. */
  summary: string
  /** The evidence, one fact per line. */
  evidence: string[]
}

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'

/** One TLS handshake attempt. `local` failures mean this client could not even offer it. */
export type HandshakeAttempt =
  | { ok: true; protocol: string; cipher: string }
  | { ok: false; local: boolean; code: string; message: string }

export interface ProtocolProbe {
  version: TlsVersion
  result: HandshakeAttempt
}

export interface SuiteProbe {
  suite: string
  result: HandshakeAttempt
}

/** What the server sent in its handshake: its chain as sent and its CertificateRequest. */
export interface ServerView {
  /** How it was read: our TLS 1.2 reader, `openssl s_client` (TLS 1.3) or node:tls (order not guaranteed). */
  source: 'tls1.2' | 'openssl' | 'node'
  /** Which certificate type was asked for (TLS 1.2 reader only). */
  auth: AuthKind | undefined
  /** DER certificates, leaf first, as sent. */
  certificates: Buffer[]
  /** undefined when the source cannot tell. */
  certificateRequested: boolean | undefined
  /** Acceptable client certificate CA names, as text. */
  caNames: string[]
  /** The same names as DER, when read from the handshake itself. */
  caNamesDer: Buffer[] | undefined
}

export type HttpAttempt =
  | { ok: true; status: number; headers: Record<string, string | string[] | undefined>; body: string }
  | { ok: false; code: string; message: string }

export interface ProbeResults {
  /** The URL checked. */
  url: string
  /** A failure to reach the server at all (then nothing else was probed). */
  unreachable: string | undefined
  protocols: ProtocolProbe[]
  tls12Suites: SuiteProbe[]
  tls13Suites: SuiteProbe[]
  /** One view per server certificate found (ECDSA and RSA are asked for separately). */
  views: ServerView[]
  /** Why no view could be read, or a note about how it was read. */
  viewNotes: string[]
  /** Chain verification by Node.js/OpenSSL against the same trust anchors. */
  verification: { authorized: boolean; error: string | undefined } | undefined
  opensslAvailable: boolean
  noClientCert: HttpAttempt
  withClientCert: HttpAttempt | undefined
  sampleFormat: 'xml' | 'json'
}
