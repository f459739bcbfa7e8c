/**
 * The ledger record: what the gateway keeps about one EHI message, and the check every value
 * passes on the way in. Pure.
 *
 * Never card data: the record has no field for a PAN, CVV2, expiry date, PIN or token PAN, and
 * Token only arrives as the audit line's keyed hash. Every stored value must have its documented
 * shape (TXn_ID digits, MTID digits, Txn_Type one letter...); a value that does not is stored as
 * NULL and its column named in `masked`, never raw, so a card number a sender put in the wrong
 * field cannot reach the store through it.
 */
import { randomUUID } from 'node:crypto'

/** What the request path hands the ledger about one message (see docs/ledger.md, "Integration"). */
export interface LedgerEvent {
  /** The gateway's request id (x-request-id), a UUID. */
  requestId: string
  /** Unix time in ms when the request arrived. */
  arrivedAt: number
  format?: 'xml' | 'json' | undefined
  root?: 'GetTransaction' | 'Cut_Off' | undefined
  /** decision, reversal, advice, financial, cutoff, other, unclassified, ... */
  messageClass: string
  mode?: number | undefined
  /** The fields the parser extracted (EhiMessage.fields or EhiAudit.fields); Token is ignored. */
  fields?: Readonly<Record<string, string | undefined>> | undefined
  /** The keyed hash of Token (EhiAudit.tokenHmac). */
  tokenHash?: string | undefined
  /** host_answer, synthesized, host_failure, refused, rejected, replayed. */
  outcome: string
  /** The reason code when there was no host answer. */
  reason?: string | undefined
  /** The answer Thredd got (the route's AnswerAudit). */
  answer?: AnswerAuditLike | undefined
  /** The HTTP status sent, when there is no answer audit (an error answer). */
  status?: number | undefined
  timings?: { totalMs?: number | undefined; exchangeMs?: number | undefined; hostMs?: number | undefined }
  /** The traceparent sent to the host, or its 32-hex trace id. */
  traceparent?: string | undefined
  client?: { serial?: string | undefined; spkiSha256?: string | undefined } | undefined
  /** From lookup(): the request id of the first message with this key. */
  resendOf?: string | undefined
  /** From lookup(): this message is a resend (SendingAttemptCount >= 1 or seen before). */
  resend?: boolean | undefined
  /** The host's answer bytes; stored only for replay (ledger.replayAcknowledged, stored-answer.ts). */
  hostAnswer?: HostAnswerBytes | undefined
}

export interface AnswerAuditLike {
  status?: number | undefined
  synthesized?: boolean | undefined
  Acknowledgement?: string | undefined
  Responsestatus?: string | undefined
  Cut_OffResult?: string | undefined
  conforming?: boolean | undefined
}

export interface HostAnswerBytes {
  status: number
  headers: Readonly<Record<string, string | string[] | undefined>>
  body: Buffer | Uint8Array | string
}

/** Thredd's Cut_Off counters, by category, as the ledger stores them. */
export const CUTOFF_COUNTERS = [
  'auths_ack',
  'auths_not_ack',
  'financials_ack',
  'financials_not_ack',
  'loads_unloads_ack',
  'loads_unloads_not_ack',
  'balance_adjust_expiry_ack',
  'balance_adjust_expiry_not_ack',
] as const
export type CutoffCounter = (typeof CUTOFF_COUNTERS)[number]

/**
 * Where each counter is in a Cut_Off: the XML element name, then the JSON name (Thredd's JSON
 * Cut_Off renames them; ehi-domain facts in docs/ledger.md).
 */
export const CUTOFF_COUNTER_FIELDS: Readonly<Record<CutoffCounter, readonly string[]>> = {
  auths_ack: ['Auths_Acknowledged', 'AuthsAcknowledged'],
  auths_not_ack: ['Auths_NotAcknowledged', 'AuthsNotAcknowledged'],
  financials_ack: ['Financials_Acknowledged', 'FinancialsAcknowledged'],
  financials_not_ack: ['Financials_NotAcknowledged', 'FinancialsNotAcknowledged'],
  loads_unloads_ack: ['LoadsUnloads_Acknowledged', 'LoadsUnloadsAcknowledged'],
  loads_unloads_not_ack: ['LoadsUnloads_NotAcknowledged', 'LoadsUnloadsNotAcknowledged'],
  balance_adjust_expiry_ack: ['BalanceAdjustExpiry_Acknowledged', 'BalanceAdjustExpiryAcknowledged'],
  balance_adjust_expiry_not_ack: [
    'BalanceAdjustExpiry_NotAcknowledged',
    'BalanceAdjustExpiryNotAcknowledged',
  ],
}
const CUTOFF_ID_FIELDS = ['CutoffID', 'CutOffId']
const CUTOFF_PRODUCT_FIELDS = ['ProductID', 'ProductId']
const CUTOFF_DATE_FIELDS = ['CutoffDate', 'CutOffDate']
const FIRST_TXN_FIELDS = ['FirstTxn_ID', 'FirstTransactionId']
const LAST_TXN_FIELDS = ['LastTxn_ID', 'LastTransactionId']

/** One row of ledger_messages (and, for a Cut_Off, of ledger_cutoffs), as written. */
export interface LedgerRecord {
  request_id: string
  arrived_at: number
  instance: string | null
  root: string | null
  format: string | null
  class: string
  mode: number | null
  /** Decimal digits; a BIGINT in the store (a TXn_ID can exceed 2^53). */
  txn_id: string | null
  mtid: string | null
  txn_type: string | null
  product_id: string | null
  sending_attempt: number | null
  authorised_by_gps: string | null
  txn_stat_code: string | null
  token_hash: string | null
  outcome: string
  reason: string | null
  status: number | null
  synthesized: number | null
  acknowledgement: string | null
  response_status: string | null
  cut_off_result: string | null
  conforming: number | null
  total_ms: number | null
  exchange_ms: number | null
  host_ms: number | null
  trace_id: string | null
  client_serial: string | null
  client_spki: string | null
  resend: number
  resend_of: string | null
  cutoff_id: string | null
  /** Columns whose value did not have its documented shape (comma-separated), or null. */
  masked: string | null
  /** Set for a Cut_Off with a CutoffID: its range and Thredd's counters. */
  cutoff: CutoffFields | null
  /** Set when the host's acknowledgement is kept for replay (stored-answer.ts). */
  stored_answer: StoredAnswer | null
}

export interface CutoffFields {
  cutoff_id: string
  product_id: string | null
  cutoff_date: string | null
  first_txn_id: string | null
  last_txn_id: string | null
  counters: Record<CutoffCounter, number | null>
}

export interface StoredAnswer {
  status: number
  content_type: string | null
  soapaction: string | null
  body: Uint8Array
}

/** The duplicate key: Thredd's TXn_ID is not enough, a follow-up advice keeps TXn_ID and MTID. */
export interface DedupKey {
  txn_id: string
  mtid: string | null
  authorised_by_gps: string | null
  txn_stat_code: string | null
}

export function dedupKeyOf(record: Pick<LedgerRecord, keyof DedupKey>): DedupKey | undefined {
  if (record.txn_id === null) return undefined
  return {
    txn_id: record.txn_id,
    mtid: record.mtid,
    authorised_by_gps: record.authorised_by_gps,
    txn_stat_code: record.txn_stat_code,
  }
}

/**
 * The key of a message's extracted fields, with the shapes the record uses; undefined when its
 * TXn_ID is missing or malformed (such a message cannot be recognised again).
 */
export function dedupKeyFromFields(
  fields: Readonly<Record<string, string | undefined>>,
): DedupKey | undefined {
  const shaped = (value: string | undefined, shape: RegExp) => {
    const v = value?.trim()
    return v && v.length <= 64 && shape.test(v) ? v : null
  }
  const txn = shaped(fields.TXn_ID, DIGITS_ID)
  if (txn === null || BigInt(txn) > INT64_MAX || cardLike(txn)) return undefined
  return {
    txn_id: BigInt(txn).toString(),
    mtid: shaped(fields.MTID, SHAPES.mtid),
    authorised_by_gps: shaped(fields.Authorised_by_GPS, SHAPES.authorised_by_gps),
    txn_stat_code: shaped(fields.Txn_Stat_Code, SHAPES.txn_stat_code),
  }
}

export function dedupKeyString(key: DedupKey): string {
  return `${key.txn_id}|${key.mtid ?? ''}|${key.authorised_by_gps ?? ''}|${key.txn_stat_code ?? ''}`
}

// ---------------------------------------------------------------------------------------------
// Shapes. Each is the documented form of the value (ehi-domain facts in docs/ledger.md); anything
// else is masked. Lengths are tight on purpose: 13 to 19 digits is what a card number looks like,
// so no numeric field but TXn_ID and CutoffID (Thredd's 64-bit ids) accepts that many.

const INT64_MAX = 9223372036854775807n

/**
 * A 64-bit id that could be a card number: 13 to 19 digits passing the Luhn check. Thredd's ids
 * have 10 digits in every published example; one this long that passes Luhn is kept out (masked)
 * rather than risk storing a PAN a sender put in the wrong field. [inferred: see docs/ledger.md]
 */
function cardLike(digits: string): boolean {
  const d = digits.replace(/^0+/, '')
  if (d.length < 13 || d.length > 19) return false
  let sum = 0
  for (let i = 0; i < d.length; i++) {
    let n = d.charCodeAt(d.length - 1 - i) - 48
    if (i % 2 === 1) {
      n *= 2
      if (n > 9) n -= 9
    }
    sum += n
  }
  return sum % 10 === 0
}
const DIGITS_ID = /^\d{1,19}$/
const SHAPES = {
  mtid: /^\d{2,4}$/,
  txn_type: /^[A-Z]$/,
  product_id: /^\d{1,12}$/,
  sending_attempt: /^\d{1,3}$/,
  authorised_by_gps: /^[YN]$/,
  txn_stat_code: /^[A-Z0-9]{1,2}$/,
  acknowledgement: /^[01]$/,
  response_status: /^[0-9A-Z]{2}$/,
  cut_off_result: /^[01]$/,
  trace_id: /^(?!0{32})[0-9a-f]{32}$/,
  client_serial: /^[0-9A-F]{1,64}$/,
  client_spki: /^[A-Za-z0-9+/]{43}=$/,
  token_hash: /^[A-Za-z0-9_-]{22}$/,
  reason: /^[a-z][a-z0-9_]{0,63}$/,
  class: /^[a-z][a-z_]{0,31}$/,
  outcome: /^[a-z][a-z_]{0,31}$/,
  instance: /^[A-Za-z0-9._:-]{1,64}$/,
  cutoff_date: /^\d{4}-\d{2}-\d{2}([T ][0-9:.]{1,15}Z?)?$/,
  counter: /^\d{1,9}$/,
  format: /^(xml|json)$/,
  root: /^(GetTransaction|Cut_Off)$/,
} as const
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Largest timing kept, in ms (a day): beyond is not a timing. */
const MAX_MS = 86_400_000

export interface RecordOptions {
  /** The gateway instance (ledger.instanceId or host:pid). */
  instance: string
  /** Keep the host's acknowledgement for replay (ledger.replayAcknowledged). */
  storeAnswers: boolean
  /** Decides whether an answer may be stored (stored-answer.ts); injected to keep this module small. */
  storable?: (record: LedgerRecord, answer: HostAnswerBytes) => StoredAnswer | null
}

/** Checks and converts one event; never throws, never keeps a value of the wrong shape. */
export function toLedgerRecord(event: LedgerEvent, options: RecordOptions): LedgerRecord {
  const masked: string[] = []
  const fields = event.fields ?? {}

  /** A text value of a shape: '' or absent -> null; wrong shape -> null and named in `masked`. */
  const text = (column: string, value: unknown, shape: RegExp): string | null => {
    if (value === undefined || value === null || value === '') return null
    const s = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : undefined
    if (s === '') return null
    if (s !== undefined && s.length <= 64 && shape.test(s)) return s
    masked.push(column)
    return null
  }
  const id = (column: string, value: unknown): string | null => {
    const s = text(column, value, DIGITS_ID)
    if (s === null) return null
    if (BigInt(s) > INT64_MAX || cardLike(s)) {
      masked.push(column)
      return null
    }
    // Leading zeros would make "0042" and "42" two keys of one BIGINT.
    return BigInt(s).toString()
  }
  const int = (column: string, value: unknown, min: number, max: number): number | null => {
    if (value === undefined || value === null) return null
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value
    masked.push(column)
    return null
  }
  const ms = (column: string, value: unknown): number | null => {
    if (value === undefined || value === null) return null
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_MS)
      return Math.round(value * 100) / 100
    masked.push(column)
    return null
  }

  let requestId = event.requestId
  if (typeof requestId !== 'string' || !UUID.test(requestId)) {
    // The primary key must exist: a fresh id, and the column named so nobody trusts it.
    masked.push('request_id')
    requestId = randomUUID()
  }
  const arrivedAt =
    typeof event.arrivedAt === 'number' && Number.isFinite(event.arrivedAt) && event.arrivedAt > 0
      ? Math.round(event.arrivedAt)
      : (masked.push('arrived_at'), Date.now())

  const answer = event.answer
  const attemptText = text('sending_attempt', fields.SendingAttemptCount, SHAPES.sending_attempt)
  const resendOfRaw = event.resendOf
  const resendOf =
    resendOfRaw === undefined ? null : UUID.test(resendOfRaw) ? resendOfRaw : (masked.push('resend_of'), null)

  const record: LedgerRecord = {
    request_id: requestId,
    arrived_at: arrivedAt,
    instance: text('instance', options.instance, SHAPES.instance),
    root: text('root', event.root, SHAPES.root),
    format: text('format', event.format, SHAPES.format),
    class: text('class', event.messageClass, SHAPES.class) ?? 'unclassified',
    mode: int('mode', event.mode, 1, 4),
    txn_id: id('txn_id', fields.TXn_ID),
    mtid: text('mtid', fields.MTID, SHAPES.mtid),
    txn_type: text('txn_type', fields.Txn_Type, SHAPES.txn_type),
    product_id: text('product_id', firstOf(fields, CUTOFF_PRODUCT_FIELDS), SHAPES.product_id),
    sending_attempt: attemptText === null ? null : Number(attemptText),
    authorised_by_gps: text('authorised_by_gps', fields.Authorised_by_GPS, SHAPES.authorised_by_gps),
    txn_stat_code: text('txn_stat_code', fields.Txn_Stat_Code, SHAPES.txn_stat_code),
    token_hash: text('token_hash', event.tokenHash, SHAPES.token_hash),
    outcome: text('outcome', event.outcome, SHAPES.outcome) ?? 'other',
    reason: text('reason', event.reason, SHAPES.reason),
    status: int('status', answer?.status ?? event.status, 100, 599),
    synthesized: answer?.synthesized === undefined ? null : answer.synthesized ? 1 : 0,
    acknowledgement: text('acknowledgement', answer?.Acknowledgement, SHAPES.acknowledgement),
    response_status: text('response_status', answer?.Responsestatus, SHAPES.response_status),
    cut_off_result: text('cut_off_result', answer?.Cut_OffResult, SHAPES.cut_off_result),
    conforming: answer?.conforming === undefined ? null : answer.conforming ? 1 : 0,
    total_ms: ms('total_ms', event.timings?.totalMs),
    exchange_ms: ms('exchange_ms', event.timings?.exchangeMs),
    host_ms: ms('host_ms', event.timings?.hostMs),
    trace_id: text('trace_id', traceIdOf(event.traceparent), SHAPES.trace_id),
    client_serial: text('client_serial', event.client?.serial, SHAPES.client_serial),
    client_spki: text('client_spki', event.client?.spkiSha256, SHAPES.client_spki),
    resend: 0,
    resend_of: resendOf,
    cutoff_id: null,
    masked: null,
    cutoff: null,
    stored_answer: null,
  }
  record.resend = event.resend || resendOf !== null || (record.sending_attempt ?? 0) >= 1 ? 1 : 0

  if (record.root === 'Cut_Off' || record.class === 'cutoff') {
    const cutoffId = id('cutoff_id', firstOf(fields, CUTOFF_ID_FIELDS))
    record.cutoff_id = cutoffId
    if (cutoffId !== null) {
      const counters = {} as Record<CutoffCounter, number | null>
      for (const counter of CUTOFF_COUNTERS) {
        const value = text(counter, firstOf(fields, CUTOFF_COUNTER_FIELDS[counter]), SHAPES.counter)
        counters[counter] = value === null ? null : Number(value)
      }
      record.cutoff = {
        cutoff_id: cutoffId,
        product_id: record.product_id,
        cutoff_date: text('cutoff_date', firstOf(fields, CUTOFF_DATE_FIELDS), SHAPES.cutoff_date),
        first_txn_id: id('first_txn_id', firstOf(fields, FIRST_TXN_FIELDS)),
        last_txn_id: id('last_txn_id', firstOf(fields, LAST_TXN_FIELDS)),
        counters,
      }
    }
  }

  if (options.storeAnswers && event.hostAnswer && options.storable)
    record.stored_answer = options.storable(record, event.hostAnswer)
  if (masked.length > 0) record.masked = [...new Set(masked)].join(',')
  return record
}

function firstOf(fields: Readonly<Record<string, string | undefined>>, names: readonly string[]) {
  for (const name of names) {
    const value = fields[name]
    if (value !== undefined && value !== '') return value
  }
  return undefined
}

/** The trace id of a traceparent (`00-<32 hex>-<16 hex>-<2 hex>`), or a bare 32-hex id. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (traceparent === undefined) return undefined
  const parts = traceparent.trim().split('-')
  return parts.length >= 4 ? parts[1] : traceparent.trim()
}

/** What a lookup reports of an earlier answer. */
export interface AnswerSummary {
  outcome: string
  status: number | null
  synthesized: boolean | null
  acknowledgement: string | null
  responseStatus: string | null
  cutOffResult: string | null
}

export function answerSummaryOf(
  row: Pick<
    LedgerRecord,
    'outcome' | 'status' | 'synthesized' | 'acknowledgement' | 'response_status' | 'cut_off_result'
  >,
): AnswerSummary {
  return {
    outcome: row.outcome,
    status: row.status,
    synthesized: row.synthesized === null ? null : row.synthesized === 1,
    acknowledgement: row.acknowledgement,
    responseStatus: row.response_status,
    cutOffResult: row.cut_off_result,
  }
}

/** One line for the x-ehi-resend-of companion header: `outcome status Ack Responsestatus`. */
export function answerSummaryText(summary: AnswerSummary): string {
  const parts = [summary.outcome]
  if (summary.status !== null) parts.push(`status=${summary.status}`)
  if (summary.acknowledgement !== null) parts.push(`Acknowledgement=${summary.acknowledgement}`)
  if (summary.responseStatus !== null) parts.push(`Responsestatus=${summary.responseStatus}`)
  if (summary.cutOffResult !== null) parts.push(`Cut_OffResult=${summary.cutOffResult}`)
  if (summary.synthesized) parts.push('synthesized')
  return parts.join(' ')
}
