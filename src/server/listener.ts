/**
 * The data plane, wired in data-path order:
 *
 *   accept (allowlist) -> TLS (handshake, client certificate) -> identity (verdict per connection)
 *   -> request gate (refuse or admit) -> EHI route (parse, classify, deadline) -> upstream
 *   (internal host) -> reply, then one audit line per request
 *
 * Reading this file top to bottom shows the whole pipeline; each step lives in its own module.
 *
 * The EHI listener is a plain `node:https` server, not fastify (which serves the admin API):
 * one route, one method and answers that are always whole buffers need none of a framework's
 * routing, hooks or content-type parsers, and the request's life is explicit here, including a
 * client that leaves mid-body or while the host answers (still audited, never left in flight).
 * On the bench this alone saved little CPU (bench/README.md): most of what fastify's frames
 * carried was Node's own response writing.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { Socket } from 'node:net'
import {
  installConnectionGate,
  requestVerdict,
  verdictOf,
  type RequestVerdict,
} from '../plane/io/connection-gate.ts'
import { compileProxyProtocol } from '../plane/accept/proxy-protocol.ts'
import type { Logger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import { REASONS, type Reason } from '../reasons.ts'
import { securityHeaders } from '../plane/http/security-headers.ts'
import { errorAnswer } from '../plane/http/error-answer.ts'
import { parserRefusalReason, rawAnswer } from '../plane/http/parser-refusal.ts'
import { trackConnections, type ConnectionRegistry } from './connection-registry.ts'
import { ehiRoute, type Exchange, type LiveState, type Send } from '../plane/http/ehi-route.ts'
import { readBody } from '../plane/io/read-body.ts'
import { requestPath } from '../plane/http/request-path.ts'

export interface GatewayDeps {
  /** The current runtime and host client; swapped by a reload, read per connection and request. */
  live: () => LiveState
  /** True once draining for shutdown: new requests are answered 503 and connections closed. */
  draining: () => boolean
  logger: Logger
  metrics: Metrics
}

export interface Gateway {
  server: Server
  connections: ConnectionRegistry
}

/** Set on a socket once a parser refusal has been answered on it. */
const kParserRefused = Symbol('ehi.parserRefused')

export function buildGateway(deps: GatewayDeps): Gateway {
  const { live, draining, logger, metrics } = deps
  // Settings fixed for the life of the listener (a reload that changes them asks for a restart).
  const { runtime } = live()
  const { config } = runtime
  const limits = config.limits
  const paths = new Set(config.routes.paths)
  const bodyLimit = config.routes.bodyLimitBytes
  const { maxRequestsPerConnection, maxConnectionAgeMs } = limits

  // Security headers on every answer, refusals included.
  const security = securityHeaders()

  /**
   * Answers a request the HTTP parser refused (or a CONNECT) like any other refusal: reason code,
   * security headers, one log line and one count, connection closed. A connection the gate
   * already refused keeps the gate's reason, which was logged and counted at the handshake.
   */
  function refuseUnparsed(
    socket: Socket & { [kParserRefused]?: true },
    parserReason: Reason,
    parserCode?: string,
  ): void {
    // The parser may report more errors from bytes still arriving; the first one answers.
    if (socket[kParserRefused]) return
    socket[kParserRefused] = true
    const verdict = verdictOf(socket)
    const refusedByGate = verdict !== undefined && !verdict.allow
    const reason = refusedByGate ? verdict.reason : parserReason
    if (!refusedByGate) {
      metrics.connectionsRefused.inc({ reason })
      logger.warn(
        {
          event: 'connection_refused',
          reason,
          peer: { address: socket.remoteAddress, port: socket.remotePort },
          httpCode: parserCode,
        },
        'connection refused',
      )
    }
    // As Node's own handler: never write into a response that has started.
    const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (socket.writable && !pending?.headersSent) {
      socket.end(rawAnswer(errorAnswer(reason, randomUUID(), true), security))
      socket.destroySoon()
    } else {
      socket.destroy()
    }
  }

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
  const connections = trackConnections(server)
  // Expect: the gateway decides, not Node: no 100 Continue before the connection's verdict, and
  // any other expectation refused with a reason code like every other refusal.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) =>
    handleRequest(request, response, 'continue'),
  )
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) =>
    handleRequest(request, response, 'unsupported'),
  )

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
    refusedIdleMs: config.tls.handshakeTimeoutMs,
    maxConnectionsPerIp: limits.maxConnectionsPerIp,
    proxyProtocol: config.proxyProtocol.enabled
      ? {
          trusted: compileProxyProtocol(config.proxyProtocol).trusted,
          headerTimeoutMs: config.proxyProtocol.headerTimeoutMs,
        }
      : undefined,
  })
  server.maxConnections = limits.maxConnections
  // Node closes a connection past maxConnections itself and reports it here.
  server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
    metrics.connectionsRefused.inc({ reason: 'too_many_connections' })
    logger.warn(
      {
        event: 'connection_refused',
        reason: 'too_many_connections',
        peer: { address: data?.remoteAddress, port: data?.remotePort },
      },
      'connection refused',
    )
  })
  // CONNECT is not an EHI request; Node would close it silently.
  server.on('connect', (_request: unknown, socket: Socket) => refuseUnparsed(socket, 'method_not_allowed'))

  const send: Send = (exchange, status, headers, body) => {
    const { response } = exchange
    // The client went away (its request aborted): the answer has nowhere to go.
    if (response.headersSent || response.destroyed) return
    const out: Record<string, string | string[] | number> = { ...security, ...headers }
    // As for any whole-buffer answer: a host answer without a type is bytes.
    if (out['content-type'] === undefined) out['content-type'] = 'application/octet-stream'
    out['x-request-id'] = exchange.id
    out['content-length'] = Buffer.byteLength(body)
    // While draining, every answer closes its connection, so nothing idles past the drain; so
    // does the last answer a connection may carry (its age, its request count, or a reload that
    // no longer admits its certificate).
    if (draining() || mustClose(exchange)) out.connection = 'close'
    response.writeHead(status, out)
    response.end(body)
  }

  /** A connection past its age or request limit, or refused by a reload, closes after this answer. */
  function mustClose(exchange: Exchange): boolean {
    const state = connections.stateOf(exchange.request.socket)
    if (!state) return false
    return (
      state.closeAfterAnswer !== undefined ||
      exchange.record.requestOnConnection >= maxRequestsPerConnection ||
      performance.now() - state.openedAt >= maxConnectionAgeMs
    )
  }

  function sendError(exchange: Exchange, reason: Reason, close: boolean, extra?: Record<string, string>) {
    exchange.record.reason = reason
    // A body the parser refused mid-request was answered and counted by refuseUnparsed.
    if (!(exchange.request.socket as { [kParserRefused]?: true })[kParserRefused])
      metrics.requestErrors.inc({ reason })
    // A reason decided before TLS (the source address) has no HTTP answer: the connection closes.
    if (REASONS[reason].status === 0) {
      exchange.request.socket.destroy()
      return
    }
    const answer = errorAnswer(reason, exchange.id, close)
    send(exchange, answer.status, extra ? { ...answer.headers, ...extra } : answer.headers, answer.body)
  }

  // 5-6. the EHI route on each configured path.
  const handleEhiMessage = ehiRoute({ live, metrics, send, sendError })

  // 4. the request gate, then the route: only a connection whose verdict is allow, and whose
  // certificate still passes the current trust now, gets past it.
  function handleRequest(
    request: IncomingMessage,
    response: ServerResponse,
    expect: 'continue' | 'unsupported' | undefined,
  ): void {
    const socket = request.socket
    // First, before any answer: a request answered right here must still count as in flight.
    connections.started(socket)
    const verdict = verdictOf(socket)
    const exchange: Exchange = {
      request,
      response,
      id: randomUUID(),
      path: requestPath(request.url ?? '/'),
      record: {
        peer: null,
        outcome: 'rejected',
        reason: undefined,
        detail: undefined,
        messageClass: 'unclassified',
        ehi: undefined,
        answer: undefined,
        startedAt: performance.now(),
        connectionAcceptedAt: verdict?.acceptedAt,
        requestOnConnection: verdict ? ++verdict.requests : 1,
        handshakeMs: verdict?.handshakeMs,
        parseMs: undefined,
        hostMs: undefined,
        hostError: undefined,
      },
    }
    // 7. once the answer is sent or the client gone, and the route done (a client that leaves
    // while the host answers is audited with the host's answer it missed): one audit line.
    let routeRunning = false
    let responseClosed = false
    response.once('close', () => {
      responseClosed = true
      if (!routeRunning) recordRequest(exchange)
    })
    const runRoute = (body: Buffer) => {
      routeRunning = true
      handleEhiMessage(exchange, body)
        .catch((error: unknown) => failed(exchange, error))
        .finally(() => {
          routeRunning = false
          if (responseClosed) recordRequest(exchange)
        })
    }
    try {
      if (draining()) return sendError(exchange, 'shutting_down', true)
      if (!verdict?.allow) {
        // No verdict at all cannot happen on a TLS socket; if it does, fail closed.
        exchange.record.outcome = 'refused'
        return sendError(exchange, verdict ? verdict.reason : 'internal_error', true)
      }
      const { runtime, ocsp } = live()
      const check = requestVerdict(verdict, runtime.gate, Date.now(), ocsp)
      // Only on the first sight of a certificate with OCSP on does the verdict have to wait.
      if (check instanceof Promise)
        check.then(
          (decided) => admit(exchange, decided, expect, runRoute),
          (error: unknown) => failed(exchange, error),
        )
      else admit(exchange, check, expect, runRoute)
    } catch (error) {
      failed(exchange, error)
    }
  }

  /** The request's verdict is in: refuse it, or check the request line and read the body. */
  function admit(
    exchange: Exchange,
    check: RequestVerdict,
    expect: 'continue' | 'unsupported' | undefined,
    runRoute: (body: Buffer) => void,
  ) {
    const { request, response } = exchange
    if (!check.allow) {
      exchange.record.outcome = 'refused'
      exchange.record.detail = check.detail
      return sendError(exchange, check.reason, true)
    }
    exchange.record.peer = check.peer
    if (check.warn) exchange.record.detail = check.warn
    // A client waiting for 100 Continue may still send its body: an early answer closes.
    const waiting = expect !== undefined
    if (expect === 'unsupported') return sendError(exchange, 'expectation_failed', true)
    if (!paths.has(exchange.path)) return sendError(exchange, 'not_found', waiting)
    if (request.method !== 'POST')
      return sendError(exchange, 'method_not_allowed', waiting, { allow: 'POST' })
    if (expect === 'continue') response.writeContinue()
    // The body as the exact bytes received; the EHI parser checks the media type itself, so a
    // wrong Content-Type gets the EHI reason code.
    readBody(request, bodyLimit, (result) => {
      if (!result.ok) {
        // Past the limit: the rest is not read; the connection closes so it need not be.
        if (result.problem === 'too_large') sendError(exchange, 'ehi_too_large', true)
        // Aborted: nobody to answer; the audit line says the client went away.
        return
      }
      runRoute(result.body)
    })
  }

  /** A bug, not a client's fault: logged with its stack, answered 500, never forwarded half-done. */
  function failed(exchange: Exchange, error: unknown): void {
    logger.error({ event: 'request_failed', requestId: exchange.id, err: error }, 'request failed')
    sendError(exchange, 'internal_error', false)
  }

  function recordRequest(exchange: Exchange): void {
    const { request, response, record } = exchange
    connections.finished(request.socket)
    const now = performance.now()
    const totalMs = now - record.startedAt
    const cls = record.messageClass
    metrics.requests.inc({ class: cls, outcome: record.outcome })
    metrics.requestDuration.observe({ class: cls }, totalMs / 1000)
    // Thredd's clock started at its connect: the first message on a connection is timed from accept.
    const exchangeMs =
      record.requestOnConnection === 1 && record.connectionAcceptedAt !== undefined
        ? now - record.connectionAcceptedAt
        : totalMs
    metrics.exchangeDuration.observe({ class: cls }, exchangeMs / 1000)
    const line = {
      event: 'request',
      requestId: exchange.id,
      method: request.method,
      // The configured route, never a path the client chose (it may hold anything, card data too).
      path: paths.has(exchange.path) ? exchange.path : '(not a configured route)',
      status: response.headersSent ? response.statusCode : undefined,
      // The client closed the connection before its answer was sent (or while it was).
      clientClosed: response.writableFinished ? undefined : true,
      outcome: record.outcome,
      reason: record.reason,
      detail: record.detail,
      peer: { address: request.socket.remoteAddress },
      client: record.peer ? { serial: record.peer.identity.serial } : undefined,
      ehi: record.ehi,
      answer: record.answer,
      hostError: record.hostError,
      timings: {
        tlsHandshakeMs: record.requestOnConnection === 1 ? round(record.handshakeMs) : undefined,
        parseMs: round(record.parseMs),
        hostMs: round(record.hostMs),
        totalMs: round(totalMs),
        exchangeMs: round(exchangeMs),
      },
    }
    // Thredd does not resend a Cut_Off: a Cut_Off the host did not take is an error to act on.
    if (cls === 'cutoff' && record.outcome !== 'host_answer')
      logger.error(line, 'Cut_Off not taken by the host')
    else if (
      record.outcome === 'host_answer' &&
      record.answer?.conforming !== false &&
      line.clientClosed !== true
    )
      logger.info(line, 'request')
    else logger.warn(line, 'request')
  }

  return { server, connections }
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 100) / 100
}
