/**
 * The request path on the wire, per request: opens its exchange (plane/io/exchange-io.ts), asks
 * the request gate (plane/http/admission.ts) with the connection's verdict and this request's
 * certificate verdict, reads the body, runs the EHI route (plane/http/ehi-route.ts) with the
 * state of this moment, and sends its answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../../observability/logger.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { ConnectionRegistry } from '../../server/connection-registry.ts'
import { connectionAdmission, requestAdmission, type Expectation } from '../http/admission.ts'
import { routeEhiMessage } from '../http/ehi-route.ts'
import { budgetStart, type LiveState } from '../http/exchange.ts'
import { wasParserRefused } from './connection-refusal.ts'
import { requestVerdict, verdictOf, type RequestVerdict } from './connection-gate.ts'
import { openExchange, type Exchange, type ExchangeDeps } from './exchange-io.ts'
import { readBody } from './read-body.ts'
import type { Ledger } from '../../ledger/ledger.ts'

export interface RequestHandlerDeps {
  /** The current runtime, host client and OCSP cache; swapped by a reload, read per request. */
  live: () => LiveState
  /** True once draining for shutdown: requests are answered 503 and connections closed. */
  draining: () => boolean
  logger: Logger
  metrics: Metrics
  security: Readonly<Record<string, string>>
  connections: ConnectionRegistry
  /** routes.paths */
  routes: ReadonlySet<string>
  bodyLimit: number
  maxRequestsPerConnection: number
  maxConnectionAgeMs: number
  /** The message ledger (a no-op when ledger.url is unset). */
  ledger: Ledger
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse, expect: Expectation) => void

export function requestHandler(deps: RequestHandlerDeps): RequestHandler {
  const { live, draining, logger, metrics, security, connections, routes, bodyLimit, ledger } = deps
  const { maxRequestsPerConnection, maxConnectionAgeMs } = deps

  const exchanges: ExchangeDeps = {
    logger,
    metrics,
    security,
    routes,
    mustClose: (exchange) => {
      if (draining()) return true
      const state = connections.stateOf(exchange.request.socket)
      return (
        state !== undefined &&
        (state.closeAfterAnswer !== undefined ||
          exchange.record.requestOnConnection >= maxRequestsPerConnection ||
          performance.now() - state.openedAt >= maxConnectionAgeMs)
      )
    },
    parserRefused: (request) => wasParserRefused(request.socket),
    started: (request) => connections.started(request.socket),
    finished: (request) => connections.finished(request.socket),
    ledger,
  }

  // 4. the request gate: only a connection whose verdict is allow, and whose certificate still
  // passes the current trust now, gets past it; then the request line and the body.
  return function handleRequest(
    request: IncomingMessage,
    response: ServerResponse,
    expect: Expectation,
  ): void {
    const verdict = verdictOf(request.socket)
    const exchange = openExchange(
      request,
      response,
      {
        acceptedAt: verdict?.acceptedAt,
        requestOnConnection: verdict ? ++verdict.requests : 1,
        handshakeMs: verdict?.handshakeMs,
      },
      exchanges,
    )
    try {
      const gate = connectionAdmission({ draining: draining(), connection: verdict })
      if (!gate.admit) return exchange.refuse(gate)
      // Unreachable: connectionAdmission admits an allowed verdict only. Fail closed regardless.
      if (!verdict?.allow) return exchange.fail(new Error('admitted without an allowed verdict'))
      const { runtime, ocsp } = live()
      const check = requestVerdict(verdict, runtime.gate, Date.now(), ocsp)
      // Only on the first sight of a certificate with OCSP on does the verdict have to wait.
      if (check instanceof Promise)
        check.then(
          (decided) => admitted(exchange, decided, expect),
          (error: unknown) => exchange.fail(error),
        )
      else admitted(exchange, check, expect)
    } catch (error) {
      exchange.fail(error)
    }
  }

  function admitted(exchange: Exchange, check: RequestVerdict, expect: Expectation): void {
    const { request } = exchange
    exchange.decide(check.allow ? { peer: check.peer, detail: check.warn } : { detail: check.detail })
    const decision = requestAdmission({
      certificate: check,
      expect,
      routeKnown: routes.has(exchange.path),
      method: request.method,
    })
    if (!decision.admit) return exchange.refuse(decision)
    if (decision.sendContinue) exchange.response.writeContinue()
    // The body as the exact bytes received; the EHI parser checks the media type itself, so a
    // wrong Content-Type gets the EHI reason code.
    readBody(request, bodyLimit, (result) => {
      // Past the limit the rest is not read: the connection closes so it need not be. Aborted:
      // nobody to answer; the audit line says the client went away.
      if (!result.ok) {
        if (result.problem === 'too_large')
          exchange.refuse({ admit: false, reason: 'ehi_too_large', close: true, outcome: 'rejected' })
        return
      }
      // 5-6. the EHI route, with the state of this moment.
      exchange.run(async () => {
        const { runtime, host } = live()
        const routed = await routeEhiMessage(
          {
            id: exchange.id,
            body: result.body,
            headers: request.headers,
            peer: exchange.record.peer!,
            clientAddress: request.socket.remoteAddress,
            since: budgetStart(exchange.record),
          },
          { runtime, host, metrics, ledger },
        )
        exchange.decide(routed.record)
        exchange.send(routed.answer)
      })
    })
  }
}
