/**
 * One interface for the two engines (sqlite-store.ts, postgres-store.ts): what the ledger writes
 * and what the request path and the operator tools read. Every method may reject with a
 * LedgerStoreError, whose kind says what an operator can do about it.
 */
import type { CutoffFields, DedupKey, LedgerRecord, StoredAnswer } from './rules/ledger-record.ts'
import type { RangeRow, Reconciliation } from './rules/cutoff-reconcile.ts'
import type { LedgerErrorKind } from './rules/ledger-status.ts'

/** A stored message, as read back: the record's columns and its sequence number. */
export type MessageRow = Omit<LedgerRecord, 'cutoff' | 'stored_answer'> & { seq: number }

/** What a duplicate lookup reads for each earlier attempt with the same key, oldest first. */
export interface LookupRow {
  request_id: string
  arrived_at: number
  format: string | null
  root: string | null
  class: string
  outcome: string
  status: number | null
  synthesized: number | null
  acknowledgement: string | null
  response_status: string | null
  cut_off_result: string | null
  answer: StoredAnswer | null
}

export interface CutoffRow extends CutoffFields {
  request_id: string
  arrived_at: number
  reconciled_at: number | null
  verdict: string | null
  detail: Reconciliation | null
}

export interface StatRow {
  class: string
  outcome: string
  acknowledgement: string | null
  resend: number
  count: number
}

export interface OpenResult {
  /** The schema version before and after this open (equal when nothing was migrated). */
  from: number
  to: number
}

export interface LedgerStore {
  readonly engine: 'sqlite' | 'postgres'
  /** Where, without secrets. */
  readonly location: string
  /** Opens, checks the schema version, and migrates when `migrate` (else an older schema is refused). */
  open(options: { migrate: boolean }): Promise<OpenResult>
  /** Writes records in one transaction; a record whose request id is already stored is skipped. */
  insert(records: readonly LedgerRecord[]): Promise<void>
  lookup(key: DedupKey, limit: number): Promise<LookupRow[]>
  byTxnId(txnId: string): Promise<MessageRow[]>
  /** Messages with seq > `afterSeq`, oldest first. */
  after(afterSeq: number, limit: number): Promise<MessageRow[]>
  /** The newest `limit` messages, oldest first. */
  latest(limit: number): Promise<MessageRow[]>
  /** Messages that arrived in [fromMs, untilMs) with seq > afterSeq, by seq (for paging). */
  page(fromMs: number, untilMs: number, afterSeq: number, limit: number): Promise<MessageRow[]>
  stats(fromMs: number, untilMs: number): Promise<StatRow[]>
  cutoff(cutoffId: string): Promise<CutoffRow | undefined>
  /** Every attempt of every message with FirstTxn_ID <= TXn_ID <= LastTxn_ID (of the product). */
  rangeRows(first: string, last: string, productId: string | null): Promise<RangeRow[]>
  saveReconciliation(result: Reconciliation, at: number): Promise<void>
  /** Deletes up to `chunk` records older than `beforeMs` from each table; returns the messages deleted. */
  prune(beforeMs: number, chunk: number): Promise<number>
  /** The schema version found (0 for an empty store). */
  schemaVersion(): Promise<number>
  close(): Promise<void>
}

export class LedgerStoreError extends Error {
  readonly kind: LedgerErrorKind
  constructor(kind: LedgerErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.kind = kind
  }
}

/** SQLite's primary result codes (extended codes carry them in their low byte). */
const SQLITE_KINDS: Record<number, LedgerErrorKind> = {
  5: 'timeout', // SQLITE_BUSY: another process holds the write lock past the busy timeout
  6: 'timeout', // SQLITE_LOCKED
  8: 'readonly', // SQLITE_READONLY
  10: 'unavailable', // SQLITE_IOERR
  11: 'corrupt', // SQLITE_CORRUPT
  13: 'full', // SQLITE_FULL
  14: 'unavailable', // SQLITE_CANTOPEN
  23: 'readonly', // SQLITE_AUTH
  26: 'corrupt', // SQLITE_NOTADB
}

/** What kind of trouble an error from either driver (or the file system) is. */
export function errorKind(error: unknown): LedgerErrorKind {
  if (error instanceof LedgerStoreError) return error.kind
  const e = error as { code?: unknown; errcode?: unknown; name?: unknown; message?: unknown }
  if (typeof e?.errcode === 'number') return SQLITE_KINDS[e.errcode & 0xff] ?? 'other'
  const code = typeof e?.code === 'string' ? e.code : ''
  // File system errors (making the data folder, opening the file).
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return 'readonly'
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'full'
  if (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN'].includes(
      code,
    )
  )
    return 'unavailable'
  // PostgreSQL SQLSTATE classes.
  if (/^[0-9A-Z]{5}$/.test(code)) {
    if (code === '53100') return 'full' // disk_full
    if (code === '25006') return 'readonly' // read_only_sql_transaction (a standby)
    if (code === '57014') return 'timeout' // query_canceled (statement_timeout)
    if (code === '42501' || code.startsWith('28')) return 'readonly' // no privilege, bad login
    if (code.startsWith('08') || code.startsWith('57') || code.startsWith('53')) return 'unavailable'
    if (code === 'XX001' || code === 'XX002') return 'corrupt'
  }
  const message = typeof e?.message === 'string' ? e.message : ''
  if (/timeout|timed out/i.test(message)) return 'timeout'
  if (/Connection terminated|connect|ECONNREFUSED|not queryable|Client was closed/i.test(message))
    return 'unavailable'
  return 'other'
}

/** A lookup row as either engine returns it: PostgreSQL's BIGINT time comes as text, BYTEA as a
 * Buffer; SQLite's as a number and a Uint8Array. The answer's body is always a copy of its own. */
export function lookupRowOf(row: Record<string, unknown>): LookupRow {
  return {
    request_id: row.request_id as string,
    arrived_at: Number(row.arrived_at),
    format: row.format as string | null,
    root: row.root as string | null,
    class: row.class as string,
    outcome: row.outcome as string,
    status: row.status as number | null,
    synthesized: row.synthesized as number | null,
    acknowledgement: row.acknowledgement as string | null,
    response_status: row.response_status as string | null,
    cut_off_result: row.cut_off_result as string | null,
    answer:
      row.a_body instanceof Uint8Array
        ? {
            status: row.a_status as number,
            content_type: row.a_content_type as string | null,
            soapaction: row.a_soapaction as string | null,
            body: new Uint8Array(row.a_body),
          }
        : null,
  }
}
