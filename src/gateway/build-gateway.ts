/**
 * The data plane, wired in data-path order:
 *
 *   accept (allowlist) -> TLS (handshake, client certificate) -> identity (verdict per connection)
 *   -> request gate (refuse or admit) -> EHI route -> upstream (internal host) -> reply
 *
 * Reading this file top to bottom shows the whole pipeline; each step lives in its own module.
 */
import { randomUUID } from 'node:crypto'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import { installConnectionGate, verdictOf, type GateState } from '../accept/connection-gate.ts'
import type { AllowedPeer } from '../identity/peer-evaluator.ts'
import type { Logger } from '../observability/logger.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { Reason } from '../reasons.ts'
import { errorAnswer } from '../reply/error-answer.ts'
import { toClientResponseHeaders } from '../reply/host-response-headers.ts'
import type { HostClient } from '../upstream/host-client.ts'
import { toHostRequestHeaders } from '../upstream/host-request-headers.ts'
import { traceparentFor } from '../upstream/trace-context.ts'
import type { Runtime } from './compile-runtime.ts'

export interface GatewayDeps {
  runtime: Runtime
  /** The current decisions; swapped by a reload, read per connection. */
  state: () => GateState
  host: HostClient
  logger: Logger
  metrics: Metrics
}

type Outcome = 'host_answer' | 'refused' | 'rejected' | 'host_failure'

interface RequestRecord {
  peer: AllowedPeer | null
  outcome: Outcome
  reason: Reason | undefined
  hostMs: number | undefined
  messageClass: string
}

declare module 'fastify' {
  interface FastifyRequest {
    ehi: RequestRecord
  }
}

const EMPTY = Buffer.alloc(0)

export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const { runtime, host, logger, metrics } = deps
  const { config } = runtime

  const app = Fastify({
    https: {
      ...runtime.material.secureContextOptions,
      requestCert: true,
      // Verification still happens (socket.authorized); the gate decides, so every refusal
      // carries a reason code. Node itself only checks the chain after the handshake anyway.
      rejectUnauthorized: false,
      handshakeTimeout: config.tls.handshakeTimeoutMs,
    },
    loggerInstance: logger as FastifyBaseLogger,
    // The gateway writes its own single line per request (recordRequest below).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.routes.bodyLimitBytes,
    // Inbound X-Request-Id is not trusted: the gateway's own id goes to the host and the log.
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
  })

  // 1-3. accept, TLS and identity: decided per connection, before any HTTP byte is read.
  installConnectionGate(app.server, {
    state: deps.state,
    logger,
    metrics,
    refusedIdleMs: config.tls.handshakeTimeoutMs,
  })

  app.decorateRequest('ehi', null as unknown as RequestRecord)

  // 4. request gate: only a connection whose verdict is allow gets past this hook.
  app.addHook('onRequest', function admitRequest(request, reply, done) {
    const verdict = verdictOf(request.raw.socket)
    request.ehi = {
      peer: null,
      outcome: 'rejected',
      reason: undefined,
      hostMs: undefined,
      messageClass: 'unclassified',
    }
    if (verdict?.allow) {
      request.ehi.peer = verdict.peer
      done()
      return
    }
    // No verdict at all cannot happen on a TLS socket; if it does, fail closed.
    const reason: Reason = verdict ? verdict.reason : 'internal_error'
    request.ehi.outcome = 'refused'
    sendError(request, reply, reason, true)
  })

  // Bodies are forwarded as the exact bytes received, whatever their type.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  // 5-6. the EHI route: forward to the host, return its answer.
  for (const path of config.routes.paths) {
    app.post(path, forwardToHost)
    app.route({
      method: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
      url: path,
      handler: (request, reply) => {
        reply.header('allow', 'POST')
        sendError(request, reply, 'method_not_allowed', false)
      },
    })
  }
  app.setNotFoundHandler((request, reply) => sendError(request, reply, 'not_found', false))
  app.setErrorHandler((error: { code?: string; statusCode?: number }, request, reply) => {
    let reason: Reason = 'internal_error'
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') reason = 'body_too_large'
    else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) reason = 'bad_request'
    else request.log.error({ err: error }, 'request failed')
    sendError(request, reply, reason, false)
  })

  async function forwardToHost(request: FastifyRequest, reply: FastifyReply) {
    const record = request.ehi
    const peer = record.peer
    if (!peer) return sendError(request, reply, 'internal_error', true) // unreachable: admitRequest
    const body = (request.body as Buffer | undefined) ?? EMPTY
    const headers = toHostRequestHeaders(request.headers, peer.headers, {
      requestId: request.id,
      traceparent: traceparentFor(request.headers.traceparent),
      clientAddress: stripV4Mapped(request.socket.remoteAddress),
    })
    metrics.inFlight.inc()
    const started = performance.now()
    const result = await host.post(body, headers, config.upstream.timeoutMs)
    record.hostMs = performance.now() - started
    metrics.inFlight.dec()
    if (!result.ok) {
      record.outcome = 'host_failure'
      metrics.hostErrors.inc({ reason: result.reason })
      request.log.warn(
        { event: 'host_error', requestId: request.id, reason: result.reason, code: result.code },
        'internal host gave no answer',
      )
      return sendError(request, reply, result.reason, false)
    }
    record.outcome = 'host_answer'
    metrics.hostDuration.observe({ class: record.messageClass }, record.hostMs / 1000)
    return reply
      .code(result.status)
      .headers(toClientResponseHeaders(result.headers))
      .header('x-request-id', request.id)
      .send(result.body)
  }

  function sendError(request: FastifyRequest, reply: FastifyReply, reason: Reason, close: boolean) {
    request.ehi.reason = reason
    metrics.requestErrors.inc({ reason })
    const answer = errorAnswer(reason, request.id, close)
    return reply
      .code(answer.status)
      .headers(answer.headers)
      .header('x-request-id', request.id)
      .send(answer.body)
  }

  // One log line and the metrics per request, once the answer is sent.
  app.addHook('onResponse', function recordRequest(request, reply, done) {
    const record = request.ehi
    const durationMs = reply.elapsedTime
    metrics.requests.inc({ class: record.messageClass, outcome: record.outcome })
    metrics.requestDuration.observe({ class: record.messageClass }, durationMs / 1000)
    logger.info(
      {
        event: 'request',
        requestId: request.id,
        method: request.method,
        path: request.routeOptions.url ?? request.url.split('?')[0],
        status: reply.statusCode,
        outcome: record.outcome,
        reason: record.reason,
        peer: { address: request.socket.remoteAddress },
        client: record.peer ? { serial: record.peer.identity.serial } : undefined,
        durationMs: round(durationMs),
        hostMs: record.hostMs === undefined ? undefined : round(record.hostMs),
      },
      'request',
    )
    done()
  })

  return app
}

function stripV4Mapped(address: string | undefined): string {
  if (!address) return 'unknown'
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
