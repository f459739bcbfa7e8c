/**
 * The EHI listener: wiring of the data plane onto a node:https server, in data-path order:
 *
 *   accept (allowlist, limits: the connection gate and registry) -> TLS (handshake, client
 *   certificate) -> identity (verdict per connection) -> per request (plane/io/request-handler.ts):
 *   the request gate (the verdict re-checked now) -> EHI route (parse, classify, deadline,
 *   upstream) -> the answer, then one audit line
 *
 * Every refusal of a connection, whichever stage, goes through one function (connection-refusal).
 *
 * The EHI listener is a plain `node:https` server, not fastify (which serves the admin API):
 * one route, one method and answers that are always whole buffers need none of a framework's
 * routing, hooks or content-type parsers, and the request's life is explicit here, including a
 * client that leaves mid-body or while the host answers (still audited, never left in flight).
 * On the bench this alone saved little CPU (bench/README.md): most of what fastify's frames
 * carried was Node's own response writing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { Socket } from 'node:net'
import { installConnectionGate, verdictOf } from '../plane/io/connection-gate.ts'
import { compileProxyProtocol } from '../plane/accept/proxy-protocol.ts'
import type { Logger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { Reason } from '../reasons.ts'
import { securityHeaders } from '../plane/http/security-headers.ts'
import { parserRefusalReason } from '../plane/http/parser-refusal.ts'
import {
  connectionRefuser,
  endRefused,
  markParserRefused,
  type RefuseConnection,
} from '../plane/io/connection-refusal.ts'
import { requestHandler } from '../plane/io/request-handler.ts'
import { trackConnections, type ConnectionRegistry } from './connection-registry.ts'
import type { LiveState } from '../plane/http/exchange.ts'
import type { Ledger } from '../ledger/ledger.ts'

export interface GatewayDeps {
  /** The current runtime and host client; swapped by a reload, read per connection and request. */
  live: () => LiveState
  /** True once draining for shutdown: new requests are answered 503 and connections closed. */
  draining: () => boolean
  logger: Logger
  metrics: Metrics
  /** The message ledger (a no-op when ledger.url is unset). */
  ledger: Ledger
}

export interface Gateway {
  server: Server
  connections: ConnectionRegistry
  /** The one way a connection is refused (log, metric, end). */
  refuse: RefuseConnection
}

export function buildGateway(deps: GatewayDeps): Gateway {
  const { live, draining, logger, metrics, ledger } = deps
  // Settings fixed for the life of the listener (a reload that changes them asks for a restart).
  const { runtime } = live()
  const { config } = runtime
  const limits = config.limits
  const paths = new Set(config.routes.paths)
  const bodyLimit = config.routes.bodyLimitBytes

  // Security headers on every answer, refusals included.
  const security = securityHeaders()

  const server = createServer(
    {
      ...runtime.material.secureContextOptions,
      requestCert: true,
      // Verification still happens (socket.authorized); the gate decides, so every refusal
      // carries a reason code. Node itself only checks the chain after the handshake anyway.
      rejectUnauthorized: false,
      handshakeTimeout: config.tls.handshakeTimeoutMs,
      // Slow clients: headers and whole requests are timed, checked every 250 ms.
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
      connectionsCheckingInterval: 250,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
    },
    (request, response) => handleRequest(request, response, undefined),
  )
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  const connections = trackConnections(server, { maxConnectionsPerIp: limits.maxConnectionsPerIp, metrics })
  const refuse = connectionRefuser({ logger, metrics, security })
  // Expect: the gateway decides, not Node: no 100 Continue before the connection's verdict, and
  // any other expectation refused with a reason code like every other refusal.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) =>
    handleRequest(request, response, 'continue'),
  )
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) =>
    handleRequest(request, response, 'unsupported'),
  )

  /**
   * A request the HTTP parser refused (or a CONNECT) is answered like any other refusal: reason
   * code, security headers, one log line and one count, connection closed. A connection the gate
   * already refused keeps the gate's reason, logged and counted at its handshake. The parser may
   * report more errors from bytes still arriving: the first one answers.
   */
  const refuseUnparsed = (socket: Socket, reason: Reason, httpCode?: string) => {
    if (!markParserRefused(socket)) return
    const verdict = verdictOf(socket)
    const peer = { address: socket.remoteAddress, port: socket.remotePort }
    if (verdict && !verdict.allow) endRefused(socket, verdict.reason, 'answer', security)
    else refuse({ reason, peer, end: 'answer', socket, details: { httpCode } })
  }
  // Node's HTTP parser refusals; the raw packet is never logged (it may hold card data).
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const reason = parserRefusalReason(error.code)
    if (socket.destroyed) return
    if (reason) refuseUnparsed(socket, reason, error.code)
    else socket.destroy()
  })

  // 1-3. accept (PROXY header when on, allowlist), TLS and identity: decided per connection,
  // before any HTTP byte is read.
  installConnectionGate(server, {
    state: () => live().runtime.gate,
    ocsp: () => live().ocsp,
    logger,
    metrics,
    connections,
    refuse,
    refusedIdleMs: config.tls.handshakeTimeoutMs,
    proxyProtocol: config.proxyProtocol.enabled
      ? {
          trusted: compileProxyProtocol(config.proxyProtocol).trusted,
          headerTimeoutMs: config.proxyProtocol.headerTimeoutMs,
        }
      : undefined,
  })
  server.maxConnections = limits.maxConnections
  // Node closes a connection past maxConnections itself and reports it here.
  server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) =>
    refuse({
      reason: 'too_many_connections',
      peer: { address: data?.remoteAddress, port: data?.remotePort },
      end: 'none',
    }),
  )
  // CONNECT is not an EHI request; Node would close it silently.
  server.on('connect', (_request: unknown, socket: Socket) => refuseUnparsed(socket, 'method_not_allowed'))

  // 4-7. the request gate, the EHI route and the answer, one exchange per request.
  const handleRequest = requestHandler({
    live,
    draining,
    logger,
    metrics,
    security,
    connections,
    routes: paths,
    bodyLimit,
    maxRequestsPerConnection: limits.maxRequestsPerConnection,
    maxConnectionAgeMs: limits.maxConnectionAgeMs,
    ledger,
  })

  return { server, connections, refuse }
}
