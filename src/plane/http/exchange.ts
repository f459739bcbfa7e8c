/**
 * One request and its answer, as values: what the request path decided (the record behind the
 * one audit line), the answer to send, and the audit line itself. Pure: the I/O edge that owns a
 * request's life (plane/io/exchange-io.ts) keeps one record per request and is its only writer.
 */
import type { Runtime } from '../../runtime/compile-runtime.ts'
import type { LedgerEvent } from '../../ledger/rules/ledger-record.ts'
import type { Reason } from '../../reasons.ts'
import type { EhiAudit } from '../ehi/audit-record.ts'
import type { MessageClass } from '../ehi/ehi-message.ts'
import type { AllowedPeer } from '../identity/peer-evaluator.ts'
import type { HostClient } from '../io/host-client.ts'
import type { OcspChecker } from '../io/ocsp-checker.ts'
import { errorAnswer } from './error-answer.ts'

/** What a reload swaps: read once per request, so a request sees one consistent state. */
export interface LiveState {
  runtime: Runtime
  host: HostClient
  /** The OCSP cache (tls.ocsp.enabled); it outlives reloads that leave tls.ocsp unchanged. */
  ocsp: OcspChecker | undefined
}

/** replayed: a resend answered with the host's own stored acknowledgement (ledger.replayAcknowledged). */
export type Outcome = 'host_answer' | 'synthesized' | 'refused' | 'rejected' | 'host_failure' | 'replayed'

/** What the message ledger records of a routed message, besides what the audit line has. */
export interface LedgerFacts {
  fields: Readonly<Record<string, string | undefined>>
  format: 'xml' | 'json'
  root: 'GetTransaction' | 'Cut_Off'
  mode: number
  /** The traceparent sent to the host. */
  traceparent: string | undefined
  /** An earlier message has this one's key, or Thredd marked it a resend. */
  resend: boolean | undefined
  /** The request id of the first message with this key, when the ledger knows it. */
  resendOf: string | undefined
  /** The host's answer bytes, only when the ledger keeps them for replay. */
  hostAnswer:
    | { status: number; headers: Readonly<Record<string, string | string[] | undefined>>; body: Buffer }
    | undefined
}

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
  /** Unix time in ms when the request arrived (for the ledger). */
  arrivedAt: number
  /** Set by the EHI route for a parsed message: what the ledger records of it. */
  ledger: LedgerFacts | undefined
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

/** An answer to send; `close` asks for the connection to close after it. */
export interface Answer {
  status: number
  headers: Readonly<Record<string, string | string[]>>
  body: string | Buffer
  close: boolean
  /** Set on the gateway's own error answers: counted as a request error under this reason. */
  errorReason?: Reason
}

/** The answer the gateway makes itself for `reason` (reply: error-answer.ts). */
export function reasonAnswer(
  reason: Reason,
  requestId: string,
  close: boolean,
  extraHeaders?: Readonly<Record<string, string>>,
): Answer {
  const made = errorAnswer(reason, requestId, close)
  return {
    status: made.status,
    headers: extraHeaders ? { ...made.headers, ...extraHeaders } : made.headers,
    body: made.body,
    close,
    errorReason: reason,
  }
}

/** A request's record when it arrives, before anything is decided. */
export function newRecord(connection: {
  acceptedAt: number | undefined
  requestOnConnection: number
  handshakeMs: number | undefined
}): RequestRecord {
  return {
    peer: null,
    outcome: 'rejected',
    reason: undefined,
    detail: undefined,
    messageClass: 'unclassified',
    ehi: undefined,
    answer: undefined,
    startedAt: performance.now(),
    connectionAcceptedAt: connection.acceptedAt,
    requestOnConnection: connection.requestOnConnection,
    handshakeMs: connection.handshakeMs,
    parseMs: undefined,
    hostMs: undefined,
    hostError: undefined,
    arrivedAt: Date.now(),
    ledger: undefined,
  }
}

/**
 * When Thredd's clock for this request started: at TCP accept for the first message on a
 * connection (Thredd times its connect and handshake too), at its own arrival for a later one.
 */
export function budgetStart(record: RequestRecord): number {
  return record.requestOnConnection === 1 && record.connectionAcceptedAt !== undefined
    ? record.connectionAcceptedAt
    : record.startedAt
}

/** What the audit line needs besides the record: facts of the HTTP exchange. */
export interface ExchangeFacts {
  requestId: string
  method: string | undefined
  /** The configured route the request matched, or undefined: never a path the client chose. */
  route: string | undefined
  /** The status sent, when an answer was sent. */
  status: number | undefined
  /** The client closed the connection before its answer was sent (or while it was). */
  clientClosed: boolean
  peerAddress: string | undefined
  /** performance.now() when the exchange ended. */
  endedAt: number
}

export interface AuditLine {
  level: 'info' | 'warn' | 'error'
  message: string
  line: Record<string, unknown>
  /** For the latency histograms. */
  totalMs: number
  exchangeMs: number
}

/** The one audit line of a request, and its level. */
export function auditLine(record: RequestRecord, facts: ExchangeFacts): AuditLine {
  const totalMs = facts.endedAt - record.startedAt
  const exchangeMs = facts.endedAt - budgetStart(record)
  const line = {
    event: 'request',
    requestId: facts.requestId,
    method: facts.method,
    path: facts.route ?? '(not a configured route)',
    status: facts.status,
    clientClosed: facts.clientClosed ? true : undefined,
    outcome: record.outcome,
    reason: record.reason,
    detail: record.detail,
    peer: { address: facts.peerAddress },
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
  if (record.messageClass === 'cutoff' && record.outcome !== 'host_answer')
    return { level: 'error', message: 'Cut_Off not taken by the host', line, totalMs, exchangeMs }
  const clean = record.outcome === 'host_answer' && record.answer?.conforming !== false && !facts.clientClosed
  return { level: clean ? 'info' : 'warn', message: 'request', line, totalMs, exchangeMs }
}

/** The ledger's record of a routed message (undefined for a request that never got that far). */
export function ledgerEvent(
  record: RequestRecord,
  facts: { requestId: string; status: number | undefined; totalMs: number; exchangeMs: number },
): LedgerEvent | undefined {
  const routed = record.ledger
  if (!routed) return undefined
  return {
    requestId: facts.requestId,
    arrivedAt: record.arrivedAt,
    format: routed.format,
    root: routed.root,
    messageClass: record.messageClass,
    mode: routed.mode,
    fields: routed.fields,
    tokenHash: record.ehi?.tokenHmac,
    outcome: record.outcome,
    reason: record.reason,
    answer: record.answer,
    status: facts.status,
    timings: { totalMs: facts.totalMs, exchangeMs: facts.exchangeMs, hostMs: record.hostMs },
    traceparent: routed.traceparent,
    client: record.peer
      ? { serial: record.peer.identity.serial, spkiSha256: record.peer.identity.spkiSha256 }
      : undefined,
    resendOf: routed.resendOf,
    resend: routed.resend,
    hostAnswer: routed.hostAnswer,
  }
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 100) / 100
}
