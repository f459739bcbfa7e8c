/**
 * A request's life on the wire: it owns the request's record (the only writer), sends the one
 * answer (security headers, request id, Content-Length, Connection: close when the connection
 * must end), runs the route, and writes the one audit line once the answer is sent or the client
 * gone and the route done (a client that leaves while the host answers is audited with the
 * host's answer it missed). What to answer is decided elsewhere, as values (plane/http/).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import type { Logger } from '../../observability/logger.ts'
import type { Metrics } from '../../observability/metrics.ts'
import { REASONS } from '../../reasons.ts'
import type { Refusal } from '../http/admission.ts'
import type { Ledger } from '../../ledger/ledger.ts'
import {
  auditLine,
  ledgerEvent,
  newRecord,
  reasonAnswer,
  type Answer,
  type RequestRecord,
} from '../http/exchange.ts'
import { requestPath } from '../http/request-path.ts'

export interface ExchangeDeps {
  logger: Logger
  metrics: Metrics
  /** Security headers on every answer, refusals included. */
  security: Readonly<Record<string, string>>
  /** routes.paths: the only paths the audit line names. */
  routes: ReadonlySet<string>
  /** Whether this answer must close its connection (draining, the connection's limits, a reload). */
  mustClose(exchange: Exchange): boolean
  /** The HTTP parser refused this socket's bytes and answered it (counted there). */
  parserRefused(request: IncomingMessage): boolean
  /** Told when the request starts (before any answer) and when its audit line is written. */
  started(request: IncomingMessage): void
  finished(request: IncomingMessage): void
  /** Where each routed message's fate is recorded (a no-op when the ledger is off). */
  ledger: Pick<Ledger, 'record'>
}

export interface Exchange {
  readonly id: string
  readonly request: IncomingMessage
  readonly response: ServerResponse
  /** The request's path without its query (request-path.ts). */
  readonly path: string
  /** The record behind the audit line; read it, change it through `decide`. */
  readonly record: Readonly<RequestRecord>
  decide(fields: Partial<RequestRecord>): void
  send(answer: Answer): void
  /** Answers a refusal with its reason code, and records who refused what. */
  refuse(refusal: Refusal): void
  /** A bug, not a client's fault: logged with its stack, answered 500, never forwarded half-done. */
  fail(error: unknown): void
  /** Runs the route; the audit line waits for it, even after the client has gone. */
  run(route: () => Promise<void>): void
}

export function openExchange(
  request: IncomingMessage,
  response: ServerResponse,
  connection: {
    acceptedAt: number | undefined
    requestOnConnection: number
    handshakeMs: number | undefined
  },
  deps: ExchangeDeps,
): Exchange {
  const { logger, metrics } = deps
  // First, before any answer: a request answered right here must still count as in flight.
  deps.started(request)
  const record = newRecord(connection)
  let routeRunning = false
  let responseClosed = false

  const exchange: Exchange = {
    id: randomUUID(),
    request,
    response,
    path: requestPath(request.url ?? '/'),
    record,
    decide(fields) {
      Object.assign(record, fields)
    },
    send(answer) {
      if (answer.errorReason) {
        // A body the parser refused mid-request was answered and counted by the listener.
        if (!deps.parserRefused(request)) metrics.requestErrors.inc({ reason: answer.errorReason })
        // A reason decided before TLS (the source address) has no HTTP answer: the connection closes.
        if (REASONS[answer.errorReason].status === 0) {
          request.socket.destroy()
          return
        }
      }
      // The client went away (its request aborted): the answer has nowhere to go.
      if (response.headersSent || response.destroyed) return
      const out: Record<string, string | string[] | number> = { ...deps.security, ...answer.headers }
      // As for any whole-buffer answer: a host answer without a type is bytes.
      if (out['content-type'] === undefined) out['content-type'] = 'application/octet-stream'
      out['x-request-id'] = exchange.id
      out['content-length'] = Buffer.byteLength(answer.body)
      if (answer.close || deps.mustClose(exchange)) out.connection = 'close'
      response.writeHead(answer.status, out)
      response.end(answer.body)
    },
    refuse(refusal) {
      record.outcome = refusal.outcome
      record.reason = refusal.reason
      exchange.send(reasonAnswer(refusal.reason, exchange.id, refusal.close, refusal.headers))
    },
    fail(error) {
      logger.error({ event: 'request_failed', requestId: exchange.id, err: error }, 'request failed')
      record.reason = 'internal_error'
      exchange.send(reasonAnswer('internal_error', exchange.id, false))
    },
    run(route) {
      routeRunning = true
      route()
        .catch((error: unknown) => exchange.fail(error))
        .finally(() => {
          routeRunning = false
          if (responseClosed) finish()
        })
    },
  }

  response.once('close', () => {
    responseClosed = true
    if (!routeRunning) finish()
  })

  function finish(): void {
    deps.finished(request)
    const status = response.headersSent ? response.statusCode : undefined
    const audit = auditLine(record, {
      requestId: exchange.id,
      method: request.method,
      route: deps.routes.has(exchange.path) ? exchange.path : undefined,
      status,
      clientClosed: !response.writableFinished,
      peerAddress: request.socket.remoteAddress,
      endedAt: performance.now(),
    })
    const cls = record.messageClass
    metrics.requests.inc({ class: cls, outcome: record.outcome })
    metrics.requestDuration.observe({ class: cls }, audit.totalMs / 1000)
    metrics.exchangeDuration.observe({ class: cls }, audit.exchangeMs / 1000)
    logger[audit.level](audit.line, audit.message)
    // Synchronous and bounded: the ledger queues it, never slowing this request or the next.
    const event = ledgerEvent(record, {
      requestId: exchange.id,
      status,
      totalMs: audit.totalMs,
      exchangeMs: audit.exchangeMs,
    })
    if (event) deps.ledger.record(event)
  }

  return exchange
}
