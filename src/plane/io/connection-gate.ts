/**
 * The connection gate: the I/O edge that applies the accept-time and handshake-time decisions.
 *
 *   TCP accept        -> source allowlist; a refused socket is destroyed before any TLS work
 *   TLS handshake ok  -> the peer verdict is computed and stored on the socket; every request
 *                        on the connection is re-checked against the current trust (requestVerdict)
 *   TLS handshake err -> classified, counted and logged once
 *
 * With PROXY protocol on (proxyProtocol.enabled), TCP accept first refuses a peer that is not a
 * trusted load balancer, then reads the PROXY header off the raw socket; only then does the
 * socket go through the allowlist and reach TLS, with the header's source address standing in for
 * the peer's everywhere (allowlist, per-IP limits, x-forwarded-for, logs).
 *
 * The verdict is enforced twice: in `handshake` mode the socket is destroyed here, before the
 * HTTP layer reads a byte; in `http` mode the first request is answered 400/403 by the
 * request gate (gateway/build-gateway.ts) and the connection is then closed. The request path forwards nothing unless
 * the verdict on its socket says allow (fail closed when there is none).
 */
import type { X509Certificate } from 'node:crypto'
import type { Socket } from 'node:net'
import type { Server as TlsServer, TLSSocket } from 'node:tls'
import type { IpAllowlist } from '../accept/ip-allowlist.ts'
import { readProxyHeader } from './proxy-header-reader.ts'
import type { ProxyEndpoint } from '../accept/proxy-protocol.ts'
import { compareVerdicts, type CandidateTrust } from '../identity/candidate-trust.ts'
import type { AllowedPeer, PeerEvaluator, PeerVerdict } from '../identity/peer-evaluator.ts'
import type { PeerIdentity } from '../identity/peer-identity.ts'
import type { ConnectionRegistry } from '../../server/connection-registry.ts'
import type { ConnectionRefusal, RefuseConnection } from './connection-refusal.ts'
import type { Logger } from '../../observability/logger.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { Reason } from '../../reasons.ts'
import { handshakeErrorReason } from '../tls/handshake-error-reason.ts'
import type { OcspChecker } from './ocsp-checker.ts'

export const kVerdict = Symbol('ehi-gateway.verdict')
const kRefused = Symbol('ehi-gateway.refused')
/** The load balancer's own address, on a socket whose peer address came from a PROXY header. */
const kProxiedBy = Symbol('ehi-gateway.proxiedBy')

export interface ConnectionInfo {
  remoteAddress: string
  remotePort: number | undefined
  protocol: string | null
  resumed: boolean
  handshakeMs: number
  /** performance.now() at TCP accept: Thredd's timer for the first message starts about then. */
  acceptedAt: number | undefined
  /** Requests seen on this connection so far (mutable). */
  requests: number
}

export type ConnectionVerdict = ConnectionInfo &
  (
    | {
        allow: true
        peer: AllowedPeer
        /** The client certificate, re-checked for every request (requestVerdict). */
        cert: X509Certificate
        /** The decisions it was admitted with; a reload replaces them. */
        gate: GateState
      }
    | { allow: false; reason: Reason; detail: string }
  )

export type RequestVerdict =
  | { allow: true; peer: AllowedPeer; /** Why it was admitted without a good OCSP answer. */ warn?: string }
  | { allow: false; reason: Reason; detail: string }

/**
 * Whether a request on an admitted connection may pass, now. The verdict of the handshake is
 * not enough: a certificate can expire or be revoked (a CRL or OCSP answer) while a kept-alive
 * connection stays open, and a reload can narrow who is admitted. So every request re-runs the
 * certificate evaluation of the current decisions (time-dependent checks each time; chain, pins
 * and subject rules come from its per-certificate cache, and are computed afresh after a reload),
 * and after a reload the source address goes through the new allowlist too.
 */
export function requestVerdict(
  verdict: Extract<ConnectionVerdict, { allow: true }>,
  gate: GateState,
  now: number,
): RequestVerdict
export function requestVerdict(
  verdict: Extract<ConnectionVerdict, { allow: true }>,
  gate: GateState,
  now: number,
  ocsp: OcspChecker | undefined,
): RequestVerdict | Promise<RequestVerdict>
export function requestVerdict(
  verdict: Extract<ConnectionVerdict, { allow: true }>,
  gate: GateState,
  now: number,
  ocsp?: OcspChecker,
): RequestVerdict | Promise<RequestVerdict> {
  if (gate !== verdict.gate && !gate.allowIp(verdict.remoteAddress))
    return { allow: false, reason: 'ip_not_allowed', detail: 'the source address left the allowlist' }
  // Only an authorised certificate was admitted; the chain is rebuilt against the current trust.
  const peer = gate.evaluatePeer({ cert: verdict.cert, authorized: true, opensslCode: undefined, now })
  if (!peer.allow) return { allow: false, reason: peer.reason, detail: peer.detail }
  return ocsp ? withOcsp(peer.peer, verdict.cert, ocsp, now) : peer
}

/**
 * OCSP, when on, last: only a certificate that passed every other check is asked about, since
 * the responder's address comes from the certificate. From the cache, except on the first sight
 * of a certificate, which waits for the responder at most tls.ocsp.firstSightTimeoutMs.
 */
function withOcsp(
  peer: AllowedPeer,
  cert: X509Certificate,
  ocsp: OcspChecker,
  now: number,
): RequestVerdict | Promise<RequestVerdict> {
  const decide = (state: ReturnType<OcspChecker['status']>): RequestVerdict => {
    const decision = ocsp.decide(state)
    if (!decision.allow) return decision
    return decision.warn ? { allow: true, peer, warn: decision.warn } : { allow: true, peer }
  }
  // Unreachable for an admitted certificate (its chain was built); fail closed regardless.
  if (!peer.issuer) return decide({ state: 'unavailable', detail: 'no issuer in the trust store' })
  const state = ocsp.status(cert, peer.issuer, now)
  if (state.state !== 'pending') return decide(state)
  return ocsp.wait(cert, peer.issuer).then(decide)
}

export interface GateState {
  allowIp: IpAllowlist
  evaluatePeer: PeerEvaluator
  rejectMode: 'http' | 'handshake'
  /** Shadow trust (candidateTrust): evaluated after the live verdict and reported, never enforced. */
  candidate?: CandidateTrust
}

export interface GateDeps {
  /** Read on every connection, so a reload takes effect for new connections only. */
  state: () => GateState
  /** The OCSP cache, when tls.ocsp is on: asked as soon as a handshake completes. */
  ocsp: () => OcspChecker | undefined
  logger: Logger
  metrics: Metrics
  /** The open connections: admits each against its source address's limit, keeps its accept time. */
  connections: ConnectionRegistry
  /** The one way a connection is refused: logged, counted, ended. */
  refuse: RefuseConnection
  /** How long a refused connection may stay open waiting for its request (http mode). */
  refusedIdleMs: number
  /** PROXY protocol on the listener: trusted load balancers and the header deadline. */
  proxyProtocol?: { trusted: IpAllowlist; headerTimeoutMs: number } | undefined
}

type GatedSocket = TLSSocket & { [kVerdict]?: ConnectionVerdict; _parent?: RawSocket }
type RawSocket = Socket & { [kRefused]?: true; [kProxiedBy]?: ProxyEndpoint }

export function verdictOf(socket: Socket): ConnectionVerdict | undefined {
  return (socket as GatedSocket)[kVerdict]
}

export function installConnectionGate(server: TlsServer, deps: GateDeps): void {
  const { logger, metrics, connections } = deps
  /** Refused before TLS: closed at once, and marked so the failing handshake is not counted again. */
  const refuseRaw = (raw: RawSocket, reason: Reason, peer: ConnectionRefusal['peer'], details?: object) => {
    raw[kRefused] = true
    deps.refuse({ reason, peer, end: 'destroy', socket: raw, details: details as Record<string, unknown> })
  }

  // Runs before the TLS layer wraps the socket, so a refused address costs no TLS work.
  // `acceptedAt`: with PROXY protocol, Thredd's clock ran from its TCP connect, header included.
  const admit = (raw: RawSocket, acceptedAt?: number): boolean => {
    const address = raw.remoteAddress
    const peer = { address, port: raw.remotePort }
    const via = raw[kProxiedBy] && { proxy: raw[kProxiedBy] }
    if (!deps.state().allowIp(address)) {
      refuseRaw(raw, 'ip_not_allowed', peer, via)
      return false
    }
    if (!connections.admit(raw, address, acceptedAt)) {
      refuseRaw(raw, 'too_many_connections_from_ip', peer, via)
      return false
    }
    if (logger.isLevelEnabled('debug'))
      logger.debug({ event: 'connection_accepted', peer }, 'connection accepted')
    return true
  }

  const proxy = deps.proxyProtocol
  if (!proxy) server.prependListener('connection', admit)
  else {
    // The TLS layer wraps a socket in its 'connection' listener and reads it from then on, so it
    // must not see the socket before the header is consumed: its listener is taken off the
    // server and called here, once the header is read and the socket admitted. The https
    // server still listens, so its limits, connection tracking and timeouts work as without.
    const intoTls = server.listeners('connection') as ((socket: Socket) => void)[]
    server.removeAllListeners('connection')
    server.on('connection', (raw: RawSocket) => {
      const balancer = { address: raw.remoteAddress ?? 'unknown', port: raw.remotePort ?? 0 }
      if (!proxy.trusted(raw.remoteAddress)) return refuseRaw(raw, 'proxy_untrusted_source', balancer)
      const acceptedAt = performance.now()
      void readProxyHeader(raw, proxy.headerTimeoutMs).then((read) => {
        if (!read.ok) return refuseRaw(raw, 'proxy_header_invalid', balancer, { detail: read.problem })
        if (raw.destroyed) return
        // LOCAL / UNKNOWN (a balancer's own check) carries no client: the balancer's address stays.
        if (read.header.command === 'proxy') {
          raw[kProxiedBy] = balancer
          presentPeerAs(raw, read.header.source, read.header.family === 'tcp6' ? 'IPv6' : 'IPv4')
        }
        if (!admit(raw, acceptedAt)) return
        for (const listener of intoTls) listener.call(server, raw)
      })
    })
  }

  // Prepended so it runs before the HTTP layer attaches to the socket.
  server.prependListener('secureConnection', (socket: GatedSocket) => {
    adoptProxiedPeer(socket)
    const state = deps.state()
    const acceptedAt = connections.acceptedAt(socket)
    const handshakeMs = acceptedAt === undefined ? 0 : performance.now() - acceptedAt
    const resumed = socket.isSessionReused()
    metrics.handshakeDuration.observe(handshakeMs / 1000)
    if (resumed) metrics.sessionsResumed.inc()
    const info: ConnectionInfo = {
      remoteAddress: socket.remoteAddress ?? 'unknown',
      remotePort: socket.remotePort,
      protocol: socket.getProtocol(),
      resumed,
      handshakeMs,
      acceptedAt,
      requests: 0,
    }
    const cert = socket.getPeerX509Certificate()
    const now = Date.now()
    let peer: PeerVerdict
    try {
      peer = state.evaluatePeer({
        cert,
        authorized: socket.authorized,
        opensslCode: socket.authorizationError ? String(socket.authorizationError) : undefined,
        now,
      })
    } catch (error) {
      // Fail closed: an evaluation bug refuses the client instead of letting it through.
      logger.error({ err: error }, 'client certificate evaluation failed')
      peer = { allow: false, reason: 'cert_invalid', detail: 'evaluation failed' }
    }
    // OCSP, when on: the query starts now, during the handshake's last round trip, and a
    // revocation the cache already knows refuses here; any other answer is the request's to use.
    const ocsp = deps.ocsp()
    if (ocsp && peer.allow && cert && peer.peer.issuer) {
      const known = ocsp.status(cert, peer.peer.issuer, Date.now())
      if (known.state === 'revoked')
        peer = {
          allow: false,
          reason: 'revoked',
          detail: `OCSP: ${known.detail}`,
          identity: peer.peer.identity,
        }
    }
    const verdict: ConnectionVerdict =
      peer.allow && cert
        ? { ...info, allow: true, peer: peer.peer, cert, gate: state }
        : peer.allow
          ? { ...info, allow: false, reason: 'no_client_cert', detail: 'the client sent no certificate' }
          : { ...info, allow: false, reason: peer.reason, detail: peer.detail }
    socket[kVerdict] = verdict
    // Only when a candidate is configured; the live verdict above is already final.
    if (state.candidate && cert)
      compareWithCandidate(state.candidate, cert, peer, now, {
        address: info.remoteAddress,
        port: info.remotePort,
      })
    if (verdict.allow) {
      metrics.clientCertificateExpiry.set(verdict.peer.identity.notAfter / 1000)
      return
    }

    const identity = 'identity' in peer ? peer.identity : undefined
    deps.refuse({
      reason: verdict.reason,
      peer: { address: info.remoteAddress, port: info.remotePort },
      // handshake mode: closed before any HTTP byte; http mode: its first request is answered.
      end: state.rejectMode === 'handshake' ? 'destroy' : 'none',
      socket,
      details: {
        mode: state.rejectMode,
        detail: verdict.detail,
        tls: { protocol: info.protocol, resumed },
        client: identity && {
          subject: identity.subjectText,
          issuer: identity.issuerText,
          serial: identity.serial,
          notAfter: new Date(identity.notAfter).toISOString(),
        },
      },
    })
    if (state.rejectMode === 'handshake') return
    // http mode: the first request is answered and the connection closed; do not wait forever for it.
    const timer = setTimeout(() => socket.destroy(), deps.refusedIdleMs)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
  })

  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: GatedSocket) => {
    // Already counted when the allowlist destroyed it.
    if (socket._parent?.[kRefused]) return
    adoptProxiedPeer(socket)
    deps.refuse({
      reason: handshakeErrorReason(error.code),
      peer: { address: socket.remoteAddress ?? socket._parent?.remoteAddress, port: socket.remotePort },
      // The TLS layer is already closing it.
      end: 'none',
      details: { tlsCode: error.code },
    })
  })

  /**
   * Shadow trust: evaluates the certificate against the candidate too, and counts (and logs, once
   * per certificate and kind) where the two disagree. It only reports: whatever happens here,
   * even an exception, leaves the live verdict as it is.
   */
  function compareWithCandidate(
    candidate: CandidateTrust,
    cert: X509Certificate,
    live: PeerVerdict,
    now: number,
    peer: { address: string; port: number | undefined },
  ): void {
    try {
      metrics.candidateConnections.inc()
      // OpenSSL verified the chain against the live CAs only; against the candidate CAs the
      // evaluator's own chain building (signatures, validity, CRLs) decides.
      const shadow = candidate.evaluatePeer({ cert, authorized: true, opensslCode: undefined, now })
      const difference = compareVerdicts(live, shadow)
      if (!difference) return
      metrics.candidateDifferences.inc({ kind: difference.kind, reason: difference.reason })
      if (!candidate.firstSight(cert.fingerprint256, difference.kind)) return
      const identity = identityOf(live) ?? identityOf(shadow)
      logger.warn(
        {
          event: 'candidate_trust_difference',
          kind: difference.kind,
          reason: difference.reason,
          live: live.allow ? { allow: true } : { allow: false, reason: live.reason, detail: live.detail },
          candidate: shadow.allow
            ? { allow: true }
            : { allow: false, reason: shadow.reason, detail: shadow.detail },
          peer,
          client: identity && {
            subject: identity.subjectText,
            issuer: identity.issuerText,
            serial: identity.serial,
            notAfter: new Date(identity.notAfter).toISOString(),
          },
        },
        'candidate trust differs from the live trust (logged once per certificate)',
      )
    } catch (error) {
      metrics.candidateErrors.inc()
      if (candidate.firstSight(cert.fingerprint256, 'error'))
        logger.error(
          { event: 'candidate_trust_error', err: error, peer },
          'candidate trust evaluation failed; the live verdict stands',
        )
    }
  }

  /** Before anything reads its address: the TLS socket reports the PROXY header's client too. */
  function adoptProxiedPeer(socket: GatedSocket): void {
    const raw = socket._parent
    if (raw?.[kProxiedBy] && raw.remoteAddress)
      presentPeerAs(
        socket,
        { address: raw.remoteAddress, port: raw.remotePort ?? 0 },
        raw.remoteFamily ?? 'IPv4',
      )
  }
}

/**
 * Makes a socket report the client named by a PROXY header as its peer. Node reads the peer of
 * a socket (and of the TLS socket over it) from the TCP handle, which knows only the load
 * balancer; own properties shadow those getters, so every later reader (the allowlist, the
 * per-IP limits, the TLS and HTTP layers, x-forwarded-for, the logs) sees the client.
 */
function presentPeerAs(socket: Socket, peer: ProxyEndpoint, family: string): void {
  Object.defineProperties(socket, {
    remoteAddress: { value: peer.address, configurable: true, enumerable: true },
    remotePort: { value: peer.port, configurable: true, enumerable: true },
    remoteFamily: { value: family, configurable: true, enumerable: true },
  })
}

function identityOf(verdict: PeerVerdict): PeerIdentity | undefined {
  return verdict.allow ? verdict.peer.identity : verdict.identity
}
