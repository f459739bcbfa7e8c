/**
 * The connection gate: the I/O edge that applies the accept-time and handshake-time decisions.
 *
 *   TCP accept        -> source allowlist; a refused socket is destroyed before any TLS work
 *   TLS handshake ok  -> the peer verdict is computed once and stored on the socket
 *   TLS handshake err -> classified, counted and logged once
 *
 * The verdict is enforced twice: in `handshake` mode the socket is destroyed here, before the
 * HTTP layer reads a byte; in `http` mode the first request is answered 400/403 by the
 * onRequest hook and the connection is then closed. The request path forwards nothing unless
 * the verdict on its socket says allow (fail closed when there is none).
 */
import type { Socket } from 'node:net'
import type { Server as TlsServer, TLSSocket } from 'node:tls'
import type { IpAllowlist } from './ip-allowlist.ts'
import type { AllowedPeer, PeerEvaluator, PeerVerdict } from '../identity/peer-evaluator.ts'
import type { Logger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { Reason } from '../reasons.ts'
import { handshakeErrorReason } from '../tls/handshake-error-reason.ts'

export const kVerdict = Symbol('ehi-gateway.verdict')
const kAcceptedAt = Symbol('ehi-gateway.acceptedAt')
const kRefused = Symbol('ehi-gateway.refused')

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
  ({ allow: true; peer: AllowedPeer } | { allow: false; reason: Reason; detail: string })

export interface GateState {
  allowIp: IpAllowlist
  evaluatePeer: PeerEvaluator
  rejectMode: 'http' | 'handshake'
}

export interface GateDeps {
  /** Read on every connection, so a reload takes effect for new connections only. */
  state: () => GateState
  logger: Logger
  metrics: Metrics
  /** How long a refused connection may stay open waiting for its request (http mode). */
  refusedIdleMs: number
  /** Open connections allowed per source address; more are closed before TLS. */
  maxConnectionsPerIp: number
}

type GatedSocket = TLSSocket & { [kVerdict]?: ConnectionVerdict; _parent?: RawSocket }
type RawSocket = Socket & { [kAcceptedAt]?: number; [kRefused]?: true }

export function verdictOf(socket: Socket): ConnectionVerdict | undefined {
  return (socket as GatedSocket)[kVerdict]
}

export function installConnectionGate(server: TlsServer, deps: GateDeps): void {
  const { logger, metrics } = deps
  const perIp = new Map<string, number>()

  // Runs before the TLS layer wraps the socket, so a refused address costs no TLS work.
  server.prependListener('connection', (raw: RawSocket) => {
    const address = raw.remoteAddress
    if (!deps.state().allowIp(address)) {
      raw[kRefused] = true
      raw.destroy()
      refuse('ip_not_allowed', { address, port: raw.remotePort })
      return
    }
    const key = address ?? ''
    const open = (perIp.get(key) ?? 0) + 1
    if (open > deps.maxConnectionsPerIp) {
      raw[kRefused] = true
      raw.destroy()
      refuse('too_many_connections_from_ip', { address, port: raw.remotePort })
      return
    }
    perIp.set(key, open)
    raw[kAcceptedAt] = performance.now()
    metrics.connectionsAccepted.inc()
    if (logger.isLevelEnabled('debug'))
      logger.debug(
        { event: 'connection_accepted', peer: { address, port: raw.remotePort } },
        'connection accepted',
      )
    metrics.connectionsOpen.inc()
    raw.once('close', () => {
      metrics.connectionsOpen.dec()
      const left = (perIp.get(key) ?? 1) - 1
      if (left <= 0) perIp.delete(key)
      else perIp.set(key, left)
    })
  })

  // Prepended so it runs before the HTTP layer attaches to the socket.
  server.prependListener('secureConnection', (socket: GatedSocket) => {
    const state = deps.state()
    const acceptedAt = socket._parent?.[kAcceptedAt]
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
    let peer: PeerVerdict
    try {
      peer = state.evaluatePeer({
        cert: socket.getPeerX509Certificate(),
        authorized: socket.authorized,
        opensslCode: socket.authorizationError ? String(socket.authorizationError) : undefined,
        now: Date.now(),
      })
    } catch (error) {
      // Fail closed: an evaluation bug refuses the client instead of letting it through.
      logger.error({ err: error }, 'client certificate evaluation failed')
      peer = { allow: false, reason: 'cert_invalid', detail: 'evaluation failed' }
    }
    const verdict: ConnectionVerdict = { ...info, ...peer }
    socket[kVerdict] = verdict
    if (verdict.allow) {
      metrics.clientCertificateExpiry.set(verdict.peer.identity.notAfter / 1000)
      return
    }

    const identity = 'identity' in peer ? peer.identity : undefined
    refuse(
      verdict.reason,
      { address: info.remoteAddress, port: info.remotePort },
      {
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
    )
    if (state.rejectMode === 'handshake') {
      socket.destroy()
      return
    }
    // http mode: the first request is answered and the connection closed; do not wait forever for it.
    const timer = setTimeout(() => socket.destroy(), deps.refusedIdleMs)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
  })

  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: GatedSocket) => {
    // Already counted when the allowlist destroyed it.
    if (socket._parent?.[kRefused]) return
    const reason = handshakeErrorReason(error.code)
    refuse(
      reason,
      { address: socket.remoteAddress ?? socket._parent?.remoteAddress, port: socket.remotePort },
      {
        tlsCode: error.code,
      },
    )
  })

  function refuse(
    reason: Reason,
    peer: { address: string | undefined; port: number | undefined },
    extra?: object,
  ) {
    metrics.connectionsRefused.inc({ reason })
    logger.warn({ event: 'connection_refused', reason, peer, ...extra }, 'connection refused')
  }
}
