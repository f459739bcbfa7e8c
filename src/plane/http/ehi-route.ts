/**
 * The EHI route: parse -> classify -> deadline -> forward -> check the answer -> the answer to
 * send. It takes the request as a value and returns the answer as a value, with what it decided
 * for the audit record; the I/O edge (plane/io/exchange-io.ts) sends it. A body that is not an
 * EHI message is refused and never forwarded; when the host gives no usable answer, the class
 * decides the answer (ehi/failure-answer.ts), never an approval or an acknowledgement the host
 * did not give.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Metrics } from '../../observability/metrics.ts'
import type { Reason } from '../../reasons.ts'
import type { Runtime } from '../../runtime/compile-runtime.ts'
import { auditRecord } from '../ehi/audit-record.ts'
import { checkHostAnswer, type AnswerCheck } from '../ehi/check-host-answer.ts'
import {
  classifyEhiMessage,
  modeFor,
  resendAttempt,
  threddDecided,
  type EhiMode,
} from '../ehi/classify-ehi-message.ts'
import { contentTypeFor } from '../ehi/ehi-answers.ts'
import { ehiHostHeaders } from '../ehi/ehi-host-headers.ts'
import { asciiTrim, type EhiFormat, type EhiMessage, type MessageClass } from '../ehi/ehi-message.ts'
import { remainingDeadlineMs } from '../ehi/deadline.ts'
import { failureAnswer } from '../ehi/failure-answer.ts'
import { parseEhiMessage } from '../ehi/parse-ehi-message.ts'
import type { AllowedPeer } from '../identity/peer-evaluator.ts'
import type { HostClient } from '../io/host-client.ts'
import { toHostRequestHeaders } from '../upstream/host-request-headers.ts'
import { traceparentFor } from '../upstream/trace-context.ts'
import { REASON_HEADER } from './error-answer.ts'
import type { Ledger } from '../../ledger/ledger.ts'
import { answerSummaryText } from '../../ledger/rules/ledger-record.ts'
import {
  reasonAnswer,
  type Answer,
  type AnswerAudit,
  type LedgerFacts,
  type RequestRecord,
} from './exchange.ts'
import { toClientResponseHeaders } from './host-response-headers.ts'

/** An admitted request with its whole body: what the route needs, nothing of the socket. */
export interface EhiRequest {
  /** The gateway's request id (x-request-id to the host and the client, and in the log). */
  id: string
  /** The exact bytes received. */
  body: Buffer
  headers: IncomingHttpHeaders
  /** The verified client, admitted for this request. */
  peer: AllowedPeer
  clientAddress: string | undefined
  /** performance.now() when Thredd's clock for this message started (exchange.ts budgetStart). */
  since: number
}

export interface RouteDeps {
  runtime: Runtime
  host: HostClient
  metrics: Metrics
  /** The message ledger: duplicates, and replayed acknowledgements (never on the critical path). */
  ledger: Pick<Ledger, 'enabled' | 'storesAnswers' | 'lookup'>
}

/** What the route decided for the request's record. */
export type RouteDecision = Pick<RequestRecord, 'outcome'> &
  Partial<
    Pick<
      RequestRecord,
      'reason' | 'detail' | 'messageClass' | 'ehi' | 'answer' | 'parseMs' | 'hostMs' | 'hostError' | 'ledger'
    >
  >

export interface RouteResult {
  answer: Answer
  record: RouteDecision
}

export async function routeEhiMessage(request: EhiRequest, deps: RouteDeps): Promise<RouteResult> {
  const { runtime, host, metrics, ledger } = deps
  const { limits, modes, deadlines, failurePolicy, replaceNonConforming } = runtime.ehi

  const parseStart = performance.now()
  const parsed = parseEhiMessage(request.body, request.headers['content-type'], limits)
  const parseMs = performance.now() - parseStart
  if (!parsed.ok)
    return {
      answer: reasonAnswer(parsed.reason, request.id, false),
      record: { outcome: 'rejected', reason: parsed.reason, detail: parsed.detail, parseMs },
    }
  const message = parsed.message
  const mode = modeFor(message, modes)
  const cls = classifyEhiMessage(message, mode)
  const traceparent = traceparentFor(request.headers.traceparent)
  const facts: LedgerFacts = {
    fields: message.fields,
    format: message.format,
    root: message.root,
    mode,
    traceparent,
    resend: undefined,
    resendOf: undefined,
    hostAnswer: undefined,
  }
  const decided = {
    messageClass: cls,
    ehi: auditRecord(message, cls, mode, runtime.tokenKey),
    parseMs,
    ledger: facts,
  }
  countMessage(metrics, message, cls, mode)

  /** The host gave no usable answer: answer as the class allows, never more. */
  const withoutHost = (reason: Reason, facts: Omit<RouteDecision, 'outcome'>): RouteResult => {
    const format: EhiFormat = message.format
    const made = failureAnswer(cls, mode, format, failurePolicy)
    if (made.kind === 'status')
      return {
        answer: reasonAnswer(reason, request.id, false),
        record: { ...facts, outcome: 'host_failure', reason },
      }
    metrics.synthesizedAnswers.inc({ class: cls, reason })
    const headers: Record<string, string> = {
      'content-type': contentTypeFor(format),
      [REASON_HEADER]: reason,
      'x-ehi-gateway-synthesized': 'true',
    }
    // Thredd's HTTP message format makes soapaction mandatory on an XML answer: the request's.
    const soapaction = request.headers.soapaction
    if (format === 'xml' && typeof soapaction === 'string') headers.soapaction = soapaction
    return {
      answer: { status: 200, headers, body: made.body, close: false },
      record: {
        ...facts,
        outcome: 'synthesized',
        reason,
        answer: {
          status: 200,
          synthesized: true,
          ...(made.acknowledgement !== undefined ? { Acknowledgement: made.acknowledgement } : {}),
          ...(made.responseStatus !== undefined ? { Responsestatus: made.responseStatus } : {}),
          ...(made.cutOffResult !== undefined ? { Cut_OffResult: made.cutOffResult } : {}),
        },
      },
    }
  }

  // Has the ledger seen it? Bounded by ledger.lookupTimeoutMs, never an error; off: not asked.
  const seen = ledger.enabled
    ? await ledger.lookup({
        fields: message.fields,
        format: message.format,
        root: message.root,
        messageClass: cls,
      })
    : undefined
  if (seen) {
    facts.resend = seen.resend
    facts.resendOf = seen.first?.requestId
    // The host already acknowledged this exact message: its own stored answer, replayed.
    if (seen.replay) {
      const headers: Record<string, string> = {
        'content-type': seen.replay.contentType ?? contentTypeFor(message.format),
        'x-ehi-gateway-replayed-from': seen.replay.requestId,
      }
      if (seen.replay.soapaction) headers.soapaction = seen.replay.soapaction
      return {
        answer: { status: seen.replay.status, headers, body: seen.replay.body, close: false },
        record: {
          ...decided,
          outcome: 'replayed',
          detail: `answered with the host's acknowledgement of request ${seen.replay.requestId}`,
          answer: { status: seen.replay.status, synthesized: false, Acknowledgement: '1' },
        },
      }
    }
  }

  // Past the class's deadline the message is not forwarded: Thredd has stopped waiting.
  const remaining = remainingDeadlineMs(deadlines[cls], performance.now() - request.since)
  if (remaining <= 0) return withoutHost('deadline_passed', decided)

  const headers = toHostRequestHeaders(
    request.headers,
    request.peer,
    {
      requestId: request.id,
      traceparent,
      clientAddress: stripV4Mapped(request.clientAddress),
    },
    runtime.hostHeaders,
  )
  Object.assign(headers, ehiHostHeaders(message, cls))
  // A resend: the host learns which request it repeats and what Thredd got for that one.
  if (seen?.resend && seen.first) {
    headers['x-ehi-resend-of'] = seen.first.requestId
    headers['x-ehi-resend-first-answer'] = answerSummaryText(seen.first.answer)
  }

  metrics.inFlight.inc()
  const hostStart = performance.now()
  const result = await host.post(request.body, headers, remaining)
  const hostMs = performance.now() - hostStart
  metrics.inFlight.dec()

  if (!result.ok) {
    metrics.hostErrors.inc({ reason: result.reason })
    const hostError = { reason: result.reason, code: result.code }
    return withoutHost(result.reason, { ...decided, hostMs, hostError })
  }
  metrics.hostDuration.observe({ class: cls }, hostMs / 1000)
  if (ledger.storesAnswers)
    facts.hostAnswer = { status: result.status, headers: result.headers, body: result.body }
  const check = checkHostAnswer(result, message.format, cls)
  const answer = answerAudit(result.status, check)
  for (const problem of check.warnings ?? []) metrics.hostAnswerWarnings.inc({ class: cls, problem })
  if (!check.conforming) {
    for (const problem of check.problems) metrics.nonConformingAnswers.inc({ class: cls, problem })
    if (replaceNonConforming) {
      const hostError = { reason: 'host_nonconforming' as const, code: check.problems.join(',') }
      return withoutHost('host_nonconforming', {
        ...decided,
        hostMs,
        hostError,
        answer,
      })
    }
  }
  return {
    answer: {
      status: result.status,
      headers: toClientResponseHeaders(result.headers),
      body: result.body,
      close: false,
    },
    record: { ...decided, outcome: 'host_answer', hostMs, answer },
  }
}

/** Resends by attempt, and the decisions Thredd took itself (the host missed them). */
function countMessage(metrics: Metrics, message: EhiMessage, cls: MessageClass, mode: EhiMode): void {
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

function answerAudit(status: number, check: AnswerCheck): AnswerAudit {
  const audit: AnswerAudit = { status, synthesized: false, conforming: check.conforming }
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
