/**
 * The data plane, wired in data-path order:
 *
 *   accept (allowlist) -> TLS (handshake, client certificate) -> identity (verdict per connection)
 *   -> request gate (refuse or admit) -> EHI route (parse, classify, deadline) -> upstream
 *   (internal host) -> reply, then one audit line per request
 *
 * Reading this file top to bottom shows the whole pipeline; each step lives in its own module.
 */
import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import { installConnectionGate, verdictOf } from '../accept/connection-gate.ts'
import { compileProxyProtocol } from '../accept/proxy-protocol.ts'
import type { Logger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { Reason } from '../reasons.ts'
import { securityHeaders } from '../reply/security-headers.ts'
import { errorAnswer } from '../reply/error-answer.ts'
import { parserRefusalReason, rawAnswer } from '../reply/parser-refusal.ts'
import { ehiRoute, type LiveState, type RequestRecord } from './ehi-route.ts'

/** Told first when a request arrives and last when its answer is sent (drain uses it). */
export interface RequestTracker {
  started(socket: Socket): void
  finished(socket: Socket): void
}

export interface GatewayDeps {
  /** The current runtime and host client; swapped by a reload, read per connection and request. */
  live: () => LiveState
  /** True once draining for shutdown: new requests are answered 503 and connections closed. */
  draining: () => boolean
  logger: Logger
  metrics: Metrics
  tracker?: RequestTracker
}

/** Set on a socket once a parser refusal has been answered on it. */
const kParserRefused = Symbol('ehi.parserRefused')

declare module 'fastify' {
  interface FastifyRequest {
    ehi: RequestRecord
  }
}

export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const { live, draining, logger, metrics, tracker } = deps
  // Settings fixed for the life of the listener (a reload that changes them asks for a restart).
  const { runtime } = live()
  const { config } = runtime
  const limits = config.limits

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

  const app = Fastify({
    // Node's HTTP parser refusals; the raw packet is never logged (it may hold card data).
    clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket) {
      const reason = parserRefusalReason(error.code)
      if (socket.destroyed) return
      if (reason) refuseUnparsed(socket, reason, error.code)
      else socket.destroy()
    },
    https: {
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
    },
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
    loggerInstance: logger as FastifyBaseLogger,
    // The gateway writes its own single line per request (recordRequest below).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.routes.bodyLimitBytes,
    // Inbound X-Request-Id is not trusted: the gateway's own id goes to the host and the log.
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    // No per-request child logger (a pino child per request, profiled): the request line and any
    // error line carry the request id themselves.
    childLoggerFactory: (parent) => parent,
    // The gateway answers 503 shutting_down itself, with its reason code.
    return503OnClosing: false,
  })

  // 1-3. accept (PROXY header when on, allowlist), TLS and identity: decided per connection,
  // before any HTTP byte is read.
  installConnectionGate(app.server, {
    state: () => live().runtime.gate,
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
  app.server.maxConnections = limits.maxConnections
  // Node closes a connection past maxConnections itself and reports it here.
  app.server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
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
  // CONNECT is not a request fastify routes; Node would close it silently.
  app.server.on('connect', (_request: unknown, socket: Socket) =>
    refuseUnparsed(socket, 'method_not_allowed'),
  )

  app.decorateRequest('ehi', null as unknown as RequestRecord)

  // 4. request gate: only a connection whose verdict is allow gets past this hook.
  app.after(() => {
    app.addHook('onRequest', function admitRequest(request, reply, done) {
      // First: the request gate below answers refusals itself.
      reply.headers(security)
      // First, before any answer: a request answered right here must still count as in flight.
      tracker?.started(request.raw.socket)
      const verdict = verdictOf(request.raw.socket)
      const requestOnConnection = verdict ? ++verdict.requests : 1
      request.ehi = {
        peer: null,
        outcome: 'rejected',
        reason: undefined,
        detail: undefined,
        messageClass: 'unclassified',
        ehi: undefined,
        answer: undefined,
        startedAt: performance.now(),
        connectionAcceptedAt: verdict?.acceptedAt,
        requestOnConnection,
        handshakeMs: verdict?.handshakeMs,
        parseMs: undefined,
        hostMs: undefined,
        hostError: undefined,
      }
      if (draining()) {
        sendError(request, reply, 'shutting_down', true)
        return
      }
      if (verdict?.allow) {
        request.ehi.peer = verdict.peer
        done()
        return
      }
      // No verdict at all cannot happen on a TLS socket; if it does, fail closed.
      request.ehi.outcome = 'refused'
      sendError(request, reply, verdict ? verdict.reason : 'internal_error', true)
    })
  })

  // Bodies are read as the exact bytes received; the EHI parser checks the media type itself,
  // so a wrong Content-Type gets the EHI reason code, not a generic 415.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  // 5-6. the EHI route on each configured path; other methods and paths are refused.
  const handleEhiMessage = ehiRoute({ live, metrics, sendError })
  for (const path of config.routes.paths) {
    app.post(path, handleEhiMessage)
    app.route({
      method: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
      url: path,
      handler: (request, reply) =>
        sendError(request, reply.header('allow', 'POST'), 'method_not_allowed', false),
    })
  }
  app.setNotFoundHandler((request, reply) => sendError(request, reply, 'not_found', false))
  app.setErrorHandler((error: { code?: string; statusCode?: number }, request, reply) => {
    let reason: Reason = 'internal_error'
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') reason = 'ehi_too_large'
    else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_EMPTY_TYPE') {
      reason = 'ehi_unsupported_media_type'
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) reason = 'bad_request'
    else logger.error({ event: 'request_failed', requestId: request.id, err: error }, 'request failed')
    sendError(request, reply, reason, false)
  })

  function sendError(request: FastifyRequest, reply: FastifyReply, reason: Reason, close: boolean) {
    request.ehi.reason = reason
    // A body the parser refused mid-request was answered and counted by refuseUnparsed.
    if (!(request.raw.socket as { [kParserRefused]?: true })[kParserRefused])
      metrics.requestErrors.inc({ reason })
    const answer = errorAnswer(reason, request.id, close)
    return reply
      .code(answer.status)
      .headers(answer.headers)
      .header('x-request-id', request.id)
      .send(answer.body)
  }

  // 7. one audit line and the metrics per request, once the answer is sent.
  // While draining, every answer closes its connection, so nothing idles past the drain.
  app.addHook('onSend', function closeWhenDraining(_request, reply, payload, done) {
    if (draining()) reply.header('connection', 'close')
    done(null, payload)
  })

  app.addHook('onResponse', function recordRequest(request, reply, done) {
    tracker?.finished(request.raw.socket)
    const record = request.ehi
    const totalMs = reply.elapsedTime
    const cls = record.messageClass
    metrics.requests.inc({ class: cls, outcome: record.outcome })
    metrics.requestDuration.observe({ class: cls }, totalMs / 1000)
    // Thredd's clock started at its connect: the first message on a connection is timed from accept.
    const exchangeMs =
      record.requestOnConnection === 1 && record.connectionAcceptedAt !== undefined
        ? performance.now() - record.connectionAcceptedAt
        : totalMs
    metrics.exchangeDuration.observe({ class: cls }, exchangeMs / 1000)
    const line = {
      event: 'request',
      requestId: request.id,
      method: request.method,
      path: request.routeOptions.url ?? request.url.split('?')[0],
      status: reply.statusCode,
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
    else if (record.outcome === 'host_answer' && record.answer?.conforming !== false)
      logger.info(line, 'request')
    else logger.warn(line, 'request')
    done()
  })

  return app
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 100) / 100
}
