/**
 * The EHI route: parse -> classify -> deadline -> forward -> check the answer -> reply.
 * A body that is not an EHI message is refused and never forwarded; when the host gives no
 * usable answer, the class decides the answer (ehi/failure-answer.ts), never an approval or an
 * acknowledgement the host did not give.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { auditRecord, type EhiAudit } from '../ehi/audit-record.ts'
import { checkHostAnswer, type AnswerCheck } from '../ehi/check-host-answer.ts'
import {
  classifyEhiMessage,
  modeFor,
  resendAttempt,
  threddDecided,
  type EhiMode,
} from '../ehi/classify-ehi-message.ts'
import type { Runtime } from '../../runtime/compile-runtime.ts'
import { contentTypeFor } from '../ehi/ehi-answers.ts'
import { ehiHostHeaders } from '../ehi/ehi-host-headers.ts'
import { asciiTrim, type EhiFormat, type EhiMessage, type MessageClass } from '../ehi/ehi-message.ts'
import { remainingDeadlineMs } from '../ehi/deadline.ts'
import { failureAnswer, type FailurePolicy } from '../ehi/failure-answer.ts'
import { parseEhiMessage } from '../ehi/parse-ehi-message.ts'
import type { AllowedPeer } from '../identity/peer-evaluator.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { Reason } from '../../reasons.ts'
import { REASON_HEADER } from './error-answer.ts'
import { toClientResponseHeaders } from './host-response-headers.ts'
import type { OcspChecker } from '../io/ocsp-checker.ts'
import type { HostClient } from '../io/host-client.ts'
import { toHostRequestHeaders } from '../upstream/host-request-headers.ts'
import { traceparentFor } from '../upstream/trace-context.ts'

export type Outcome = 'host_answer' | 'synthesized' | 'refused' | 'rejected' | 'host_failure'

/** Everything the one audit line of a request reports. */
export interface RequestRecord {
  peer: AllowedPeer | null
  outcome: Outcome
  reason: Reason | undefined
  detail: string | undefined
  messageClass: MessageClass | 'unclassified'
  ehi: EhiAudit | undefined
  answer: AnswerAudit | undefined
  /** performance.now() when the request arrived, and the connection's accept time. */
  startedAt: number
  connectionAcceptedAt: number | undefined
  /** 1 for the first request on the connection. */
  requestOnConnection: number
  handshakeMs: number | undefined
  parseMs: number | undefined
  hostMs: number | undefined
  hostError: { reason: Reason; code: string | undefined } | undefined
}

export interface AnswerAudit {
  status: number
  synthesized: boolean
  Acknowledgement?: string
  Responsestatus?: string
  Cut_OffResult?: string
  conforming?: boolean
  problems?: string[]
  /** Shape details Thredd accepts (missing numeric elements): counted and logged, never replaced. */
  warnings?: string[]
}

/** One request and its answer, as the route sees them. */
export interface Exchange {
  readonly request: IncomingMessage
  readonly response: ServerResponse
  /** The gateway's request id (x-request-id to the host and the client, and in the log). */
  readonly id: string
  /** The configured route path the request matched, or the request's path without the query. */
  readonly path: string
  readonly record: RequestRecord
}

/** Sends an answer: the security headers, `headers`, x-request-id, Content-Length, `body`. */
export type Send = (
  exchange: Exchange,
  status: number,
  headers: Readonly<Record<string, string | string[]>>,
  body: string | Buffer,
) => void

/** Answers with a reason code (reply/error-answer.ts), counted and closing the connection if asked. */
export type SendError = (exchange: Exchange, reason: Reason, close: boolean) => void

/** What a reload swaps: read once per request, so a request sees one consistent state. */
export interface LiveState {
  runtime: Runtime
  host: HostClient
  /** The OCSP cache (tls.ocsp.enabled); it outlives reloads that leave tls.ocsp unchanged. */
  ocsp: OcspChecker | undefined
}

export interface EhiRouteDeps {
  live: () => LiveState
  metrics: Metrics
  send: Send
  sendError: SendError
}

export function ehiRoute(deps: EhiRouteDeps) {
  const { live, metrics, send, sendError } = deps

  /** `body`: the exact bytes received. */
  return async function handleEhiMessage(exchange: Exchange, body: Buffer): Promise<void> {
    const { runtime, host } = live()
    const { limits, modes, deadlines, failurePolicy, replaceNonConforming } = runtime.ehi
    const { request, record } = exchange
    const peer = record.peer
    // Unreachable: the request gate admits only allowed connections. Fail closed regardless.
    if (!peer) return sendError(exchange, 'internal_error', true)

    const parseStart = performance.now()
    const parsed = parseEhiMessage(body, request.headers['content-type'], limits)
    record.parseMs = performance.now() - parseStart
    if (!parsed.ok) {
      record.detail = parsed.detail
      return sendError(exchange, parsed.reason, false)
    }
    const message = parsed.message
    const mode = modeFor(message, modes)
    const cls = classifyEhiMessage(message, mode)
    record.messageClass = cls
    record.ehi = auditRecord(message, cls, mode, runtime.tokenKey)
    countMessage(message, cls, mode)

    // Thredd's timer started at its TCP connect: the first message on a connection is counted
    // from accept, later ones on a kept-alive connection from their own arrival.
    const since =
      record.requestOnConnection === 1 && record.connectionAcceptedAt !== undefined
        ? record.connectionAcceptedAt
        : record.startedAt
    const remaining = remainingDeadlineMs(deadlines[cls], performance.now() - since)
    if (remaining <= 0)
      return answerWithoutHost(exchange, cls, mode, message.format, 'deadline_passed', failurePolicy)

    const headers = toHostRequestHeaders(
      request.headers,
      peer,
      {
        requestId: exchange.id,
        traceparent: traceparentFor(request.headers.traceparent),
        clientAddress: stripV4Mapped(request.socket.remoteAddress),
      },
      runtime.hostHeaders,
    )
    Object.assign(headers, ehiHostHeaders(message, cls))

    metrics.inFlight.inc()
    const hostStart = performance.now()
    const result = await host.post(body, headers, remaining)
    record.hostMs = performance.now() - hostStart
    metrics.inFlight.dec()

    if (!result.ok) {
      record.hostError = { reason: result.reason, code: result.code }
      metrics.hostErrors.inc({ reason: result.reason })
      return answerWithoutHost(exchange, cls, mode, message.format, result.reason, failurePolicy)
    }
    metrics.hostDuration.observe({ class: cls }, record.hostMs / 1000)
    const check = checkHostAnswer(result, message.format, cls)
    record.answer = answerAudit(result.status, false, check)
    for (const problem of check.warnings ?? []) metrics.hostAnswerWarnings.inc({ class: cls, problem })
    if (!check.conforming) {
      for (const problem of check.problems) metrics.nonConformingAnswers.inc({ class: cls, problem })
      if (replaceNonConforming) {
        record.hostError = { reason: 'host_nonconforming', code: check.problems.join(',') }
        return answerWithoutHost(exchange, cls, mode, message.format, 'host_nonconforming', failurePolicy)
      }
    }
    record.outcome = 'host_answer'
    send(exchange, result.status, toClientResponseHeaders(result.headers), result.body)
  }

  /** Resends by attempt, and the decisions Thredd took itself (the host missed them). */
  function countMessage(message: EhiMessage, cls: MessageClass, mode: EhiMode): void {
    const attempt = resendAttempt(message)
    if (attempt !== undefined) {
      metrics.repeats.inc({ class: cls })
      // Bounded: Thredd resends 5 times by default; anything past that is one bucket.
      metrics.resends.inc({ class: cls, attempt: attempt > 5 ? '6+' : String(attempt) })
    }
    if (threddDecided(message, mode)) {
      const stat = asciiTrim(message.fields.Txn_Stat_Code ?? '')
      metrics.threddDecided.inc({ class: cls, txn_stat_code: stat === 'A' || stat === 'I' ? stat : 'other' })
    }
  }

  /** The host gave no usable answer: answer as the class allows, never more. */
  function answerWithoutHost(
    exchange: Exchange,
    cls: MessageClass,
    mode: EhiMode,
    format: EhiFormat,
    reason: Reason,
    failurePolicy: FailurePolicy,
  ) {
    const record = exchange.record
    const answer = failureAnswer(cls, mode, format, failurePolicy)
    if (answer.kind === 'status') {
      record.outcome = 'host_failure'
      return sendError(exchange, reason, false)
    }
    record.outcome = 'synthesized'
    record.reason = reason
    metrics.synthesizedAnswers.inc({ class: cls, reason })
    record.answer = {
      status: 200,
      synthesized: true,
      ...(answer.acknowledgement !== undefined ? { Acknowledgement: answer.acknowledgement } : {}),
      ...(answer.responseStatus !== undefined ? { Responsestatus: answer.responseStatus } : {}),
      ...(answer.cutOffResult !== undefined ? { Cut_OffResult: answer.cutOffResult } : {}),
    }
    const headers: Record<string, string> = {
      'content-type': contentTypeFor(format),
      [REASON_HEADER]: reason,
      'x-ehi-gateway-synthesized': 'true',
    }
    // Thredd's HTTP message format makes soapaction mandatory on an XML answer: the request's.
    const soapaction = exchange.request.headers.soapaction
    if (format === 'xml' && typeof soapaction === 'string') headers.soapaction = soapaction
    send(exchange, 200, headers, answer.body)
  }
}

function answerAudit(status: number, synthesized: boolean, check: AnswerCheck): AnswerAudit {
  const audit: AnswerAudit = { status, synthesized, conforming: check.conforming }
  if (check.acknowledgement !== undefined) audit.Acknowledgement = check.acknowledgement
  if (check.responseStatus !== undefined) audit.Responsestatus = check.responseStatus
  if (check.cutOffResult !== undefined) audit.Cut_OffResult = check.cutOffResult
  if (!check.conforming) audit.problems = check.problems
  if (check.warnings) audit.warnings = check.warnings
  return audit
}

export function stripV4Mapped(address: string | undefined): string {
  if (!address) return 'unknown'
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}
