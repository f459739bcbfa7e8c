/**
 * The SQLite ledger, synchronous (node:sqlite's DatabaseSync). The gateway runs it on worker
 * threads (sqlite-store.ts), so a slow disk, a full one or another process's write lock stalls a
 * thread, never the event loop that answers Thredd; the operator tools call it directly.
 *
 * WAL mode: readers (lookups, `ledger tail`) never wait for the writer, and several gateway
 * processes can write one file, each waiting its turn up to the busy timeout.
 */
import { accessSync, constants, existsSync, mkdirSync, statfsSync } from 'node:fs'
import { dirname } from 'node:path'
import type * as NodeSqlite from 'node:sqlite'
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { CUTOFF_COUNTERS, type DedupKey, type LedgerRecord } from './rules/ledger-record.ts'
import type { RangeRow, Reconciliation } from './rules/cutoff-reconcile.ts'
import {
  LATEST_VERSION,
  MESSAGE_COLUMNS,
  MIGRATIONS,
  SchemaTooNewError,
  SchemaTooOldError,
} from './rules/schema.ts'
import {
  LedgerStoreError,
  lookupRowOf,
  type CutoffRow,
  type LookupRow,
  type MessageRow,
  type OpenResult,
  type StatRow,
} from './store.ts'

export interface SqliteOptions {
  path: string
  /** Reader connections set query_only and never create or migrate. */
  role: 'writer' | 'reader' | 'tool'
  /** Busy timeout: how long a write waits for another process's lock. */
  busyTimeoutMs: number
  /** Tests only: caps the database at this many pages, to make it "full" (SQLITE_FULL). */
  maxPageCount?: number | undefined
  /** Make the file (and its folder) when missing; false for the read-only operator tools. */
  create: boolean
}

/** The select list of a message row: 64-bit ids as text, so none loses precision. */
const MESSAGE_SELECT = [
  'seq',
  ...MESSAGE_COLUMNS.map((c) => (c === 'txn_id' || c === 'cutoff_id' ? `CAST(${c} AS TEXT) AS ${c}` : c)),
].join(', ')

let sqliteModule: typeof NodeSqlite | undefined

/**
 * node:sqlite, loaded once. Node 24 before 24.15 prints "ExperimentalWarning: SQLite is an
 * experimental feature" on first load (24.15 made it a release candidate, silent); that one line
 * would end up in the gateway's stderr on every start, so it alone is filtered out.
 */
export async function loadSqlite(): Promise<typeof NodeSqlite> {
  if (sqliteModule) return sqliteModule
  const emit = process.emitWarning
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning.message
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type
    if (type === 'ExperimentalWarning' && /SQLite/.test(text)) return
    return (emit as (...args: unknown[]) => void).call(process, warning, ...rest)
  } as typeof process.emitWarning
  try {
    sqliteModule = await import('node:sqlite')
  } finally {
    process.emitWarning = emit
  }
  return sqliteModule
}

export class SqliteEngine {
  private db: DatabaseSync | undefined
  private readonly statements = new Map<string, StatementSync>()
  private readonly options: SqliteOptions

  constructor(options: SqliteOptions) {
    this.options = options
  }

  async open(migrate: boolean): Promise<OpenResult> {
    const { DatabaseSync } = await loadSqlite()
    try {
      return this.openWith(DatabaseSync, migrate)
    } catch (error) {
      throw this.explain(error)
    }
  }

  /**
   * SQLite's codes say little about why (a read-only mount is an I/O error, a folder it may not
   * write is "unable to open"): the file system is asked, so the operator reads the real cause.
   */
  private explain(error: unknown): unknown {
    const errcode = (error as { errcode?: unknown }).errcode
    if (typeof errcode !== 'number') return error
    const { path } = this.options
    const detail = (error as Error).message
    const primary = errcode & 0xff
    if (primary === 11 || primary === 26)
      return new LedgerStoreError('corrupt', `${path} is not a SQLite database or is damaged (${detail})`)
    if (primary === 13) return new LedgerStoreError('full', `${path}: ${detail}`)
    if (primary === 5 || primary === 6)
      return new LedgerStoreError(
        'timeout',
        `${path} stayed locked by another process past the busy timeout (ledger.writeTimeoutMs; SQLite: ${detail})`,
      )
    if (primary === 8 || primary === 10 || primary === 14) {
      const folder = dirname(path)
      for (const target of [folder, path]) {
        if (target === path && !existsSync(path)) continue
        try {
          accessSync(target, constants.W_OK)
        } catch (cause) {
          const code = (cause as NodeJS.ErrnoException).code
          return new LedgerStoreError('readonly', `cannot write ${target} (${code}; SQLite: ${detail})`)
        }
      }
      try {
        if (statfsSync(folder).bavail === 0)
          return new LedgerStoreError('full', `the file system of ${folder} is full (SQLite: ${detail})`)
      } catch {
        // No answer from statfs: keep SQLite's own error.
      }
    }
    return error
  }

  private openWith(Database: typeof DatabaseSync, migrate: boolean): OpenResult {
    const { path, role, create } = this.options
    if (create) mkdirSync(dirname(path), { recursive: true, mode: 0o750 })
    const db = new Database(path, { readOnly: role === 'tool' && !migrate && !create })
    try {
      // First: two processes opening a new file at once would otherwise see the other's
      // switch to WAL or migration as SQLITE_BUSY at once, without waiting.
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(this.options.busyTimeoutMs))}`)
      if (role === 'writer' || (role === 'tool' && migrate)) {
        // Fails here, with SQLITE_NOTADB, when the file is not a database (or its header is gone).
        const mode = db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string }
        if (mode.journal_mode !== 'wal')
          throw new LedgerStoreError('other', `cannot switch ${path} to WAL mode (got ${mode.journal_mode})`)
        db.exec('PRAGMA synchronous = NORMAL')
      } else {
        db.prepare('PRAGMA schema_version').get()
      }
      if (role === 'reader') db.exec('PRAGMA query_only = 1')
      if (this.options.maxPageCount !== undefined)
        db.exec(`PRAGMA max_page_count = ${this.options.maxPageCount}`)
      this.db = db
      const from = this.readVersion()
      if (from > LATEST_VERSION) throw new LedgerStoreError('schema', new SchemaTooNewError(from).message)
      if (from < LATEST_VERSION) {
        if (!migrate) throw new LedgerStoreError('schema', new SchemaTooOldError(from).message)
        this.migrate()
      }
      return { from, to: this.readVersion() }
    } catch (error) {
      this.db = undefined
      db.close()
      throw error
    }
  }

  /** The schema version; 0 for an empty file. A file with other tables but no ledger_schema is refused. */
  private readVersion(): number {
    const db = this.database()
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string
    }[]
    if (!tables.some((t) => t.name === 'ledger_schema')) {
      if (tables.length > 0)
        throw new LedgerStoreError(
          'schema',
          `${this.options.path} holds tables that are not an ehi-gateway ledger's (${tables
            .slice(0, 3)
            .map((t) => t.name)
            .join(', ')}): point ledger.url at a file of its own`,
        )
      return 0
    }
    const row = db.prepare('SELECT max(version) AS v FROM ledger_schema').get() as { v: number | null }
    return row.v ?? 0
  }

  private migrate(): void {
    const db = this.database()
    // IMMEDIATE: the write lock first, so two processes starting together migrate one at a time;
    // the second then finds the schema current.
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(
        'CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL)',
      )
      const current =
        (db.prepare('SELECT max(version) AS v FROM ledger_schema').get() as { v: number | null }).v ?? 0
      if (current > LATEST_VERSION)
        throw new LedgerStoreError('schema', new SchemaTooNewError(current).message)
      for (const migration of MIGRATIONS) {
        if (migration.version <= current) continue
        for (const sql of migration.sqlite) db.exec(sql)
        db.prepare('INSERT INTO ledger_schema (version, applied_at, description) VALUES (?, ?, ?)').run(
          migration.version,
          Date.now(),
          migration.description,
        )
      }
      db.exec('COMMIT')
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK')
      throw error
    }
  }

  private database(): DatabaseSync {
    if (!this.db) throw new LedgerStoreError('unavailable', 'the ledger database is not open')
    return this.db
  }

  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql)
    if (!statement) {
      statement = this.database().prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }

  schemaVersion(): number {
    return this.readVersion()
  }

  insert(records: readonly LedgerRecord[]): void {
    try {
      this.insertBatch(records)
    } catch (error) {
      throw this.explain(error)
    }
  }

  private insertBatch(records: readonly LedgerRecord[]): void {
    const db = this.database()
    const message = this.statement(
      `INSERT OR IGNORE INTO ledger_messages (${MESSAGE_COLUMNS.join(', ')}) VALUES (${MESSAGE_COLUMNS.map(() => '?').join(', ')})`,
    )
    const cutoff = this.statement(
      `INSERT INTO ledger_cutoffs (cutoff_id, request_id, arrived_at, product_id, cutoff_date, first_txn_id, last_txn_id, ${CUTOFF_COUNTERS.join(', ')})
       VALUES (${Array(7 + CUTOFF_COUNTERS.length)
         .fill('?')
         .join(', ')}) ON CONFLICT (cutoff_id) DO NOTHING`,
    )
    const answer = this.statement(
      'INSERT OR IGNORE INTO ledger_answers (request_id, arrived_at, status, content_type, soapaction, body) VALUES (?, ?, ?, ?, ?, ?)',
    )
    db.exec('BEGIN IMMEDIATE')
    try {
      for (const r of records) {
        message.run(...MESSAGE_COLUMNS.map((c) => bind(c, r[c])))
        if (r.cutoff) {
          const c = r.cutoff
          cutoff.run(
            BigInt(c.cutoff_id),
            r.request_id,
            r.arrived_at,
            c.product_id,
            c.cutoff_date,
            c.first_txn_id === null ? null : BigInt(c.first_txn_id),
            c.last_txn_id === null ? null : BigInt(c.last_txn_id),
            ...CUTOFF_COUNTERS.map((k) => c.counters[k]),
          )
        }
        if (r.stored_answer) {
          const a = r.stored_answer
          answer.run(r.request_id, r.arrived_at, a.status, a.content_type, a.soapaction, a.body)
        }
      }
      db.exec('COMMIT')
    } catch (error) {
      // SQLite has already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR).
      if (db.isTransaction) db.exec('ROLLBACK')
      throw error
    }
  }

  lookup(key: DedupKey, limit: number): LookupRow[] {
    const rows = this.statement(
      `SELECT m.request_id, m.arrived_at, m.format, m.root, m.class, m.outcome, m.status, m.synthesized,
              m.acknowledgement, m.response_status, m.cut_off_result,
              a.status AS a_status, a.content_type AS a_content_type, a.soapaction AS a_soapaction, a.body AS a_body
         FROM ledger_messages m LEFT JOIN ledger_answers a ON a.request_id = m.request_id
        WHERE m.txn_id = ? AND m.mtid IS ? AND m.authorised_by_gps IS ? AND m.txn_stat_code IS ?
        ORDER BY m.seq LIMIT ?`,
    ).all(BigInt(key.txn_id), key.mtid, key.authorised_by_gps, key.txn_stat_code, limit) as Record<
      string,
      unknown
    >[]
    return rows.map(lookupRowOf)
  }

  byTxnId(txnId: string): MessageRow[] {
    return this.messages(`WHERE txn_id = ? ORDER BY seq`, BigInt(txnId))
  }

  after(afterSeq: number, limit: number): MessageRow[] {
    return this.messages('WHERE seq > ? ORDER BY seq LIMIT ?', afterSeq, limit)
  }

  latest(limit: number): MessageRow[] {
    return this.messages('ORDER BY seq DESC LIMIT ?', limit).reverse()
  }

  page(fromMs: number, untilMs: number, afterSeq: number, limit: number): MessageRow[] {
    return this.messages(
      'WHERE arrived_at >= ? AND arrived_at < ? AND seq > ? ORDER BY seq LIMIT ?',
      fromMs,
      untilMs,
      afterSeq,
      limit,
    )
  }

  private messages(where: string, ...params: (number | bigint | string)[]): MessageRow[] {
    return this.statement(`SELECT ${MESSAGE_SELECT} FROM ledger_messages ${where}`).all(
      ...params,
    ) as unknown as MessageRow[]
  }

  stats(fromMs: number, untilMs: number): StatRow[] {
    return this.statement(
      `SELECT class, outcome, acknowledgement, resend, count(*) AS count FROM ledger_messages
        WHERE arrived_at >= ? AND arrived_at < ? GROUP BY class, outcome, acknowledgement, resend
        ORDER BY class, outcome, acknowledgement, resend`,
    ).all(fromMs, untilMs) as unknown as StatRow[]
  }

  cutoff(cutoffId: string): CutoffRow | undefined {
    const row = this.statement(
      `SELECT CAST(cutoff_id AS TEXT) AS cutoff_id, request_id, arrived_at, product_id, cutoff_date,
              CAST(first_txn_id AS TEXT) AS first_txn_id, CAST(last_txn_id AS TEXT) AS last_txn_id,
              ${CUTOFF_COUNTERS.join(', ')}, reconciled_at, verdict, detail
         FROM ledger_cutoffs WHERE cutoff_id = ?`,
    ).get(BigInt(cutoffId)) as Record<string, unknown> | undefined
    return row ? cutoffRow(row) : undefined
  }

  rangeRows(first: string, last: string, productId: string | null): RangeRow[] {
    const sql = `SELECT CAST(txn_id AS TEXT) AS txn_id, mtid, txn_type, authorised_by_gps, txn_stat_code, class,
                        outcome, acknowledgement, synthesized
                   FROM ledger_messages WHERE txn_id BETWEEN ? AND ?${productId === null ? '' : ' AND product_id = ?'}
                  ORDER BY seq`
    const params: (bigint | string)[] = [BigInt(first), BigInt(last)]
    if (productId !== null) params.push(productId)
    return this.statement(sql).all(...params) as unknown as RangeRow[]
  }

  saveReconciliation(result: Reconciliation, at: number): void {
    this.statement(
      'UPDATE ledger_cutoffs SET reconciled_at = ?, verdict = ?, detail = ? WHERE cutoff_id = ?',
    ).run(at, result.verdict, JSON.stringify(result), BigInt(result.cutoffId))
  }

  prune(beforeMs: number, chunk: number): number {
    const deleted = this.statement(
      'DELETE FROM ledger_messages WHERE seq IN (SELECT seq FROM ledger_messages WHERE arrived_at < ? ORDER BY arrived_at LIMIT ?)',
    ).run(beforeMs, chunk)
    this.statement(
      'DELETE FROM ledger_answers WHERE request_id IN (SELECT request_id FROM ledger_answers WHERE arrived_at < ? LIMIT ?)',
    ).run(beforeMs, chunk)
    this.statement(
      'DELETE FROM ledger_cutoffs WHERE cutoff_id IN (SELECT cutoff_id FROM ledger_cutoffs WHERE arrived_at < ? LIMIT ?)',
    ).run(beforeMs, chunk)
    return Number(deleted.changes)
  }

  close(): void {
    this.statements.clear()
    const db = this.db
    this.db = undefined
    if (db?.isOpen) {
      // Folds the WAL back into the file, so a copied .db is complete on its own.
      if (this.options.role === 'writer') {
        try {
          db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
        } catch {
          // Another process may hold the database; its own close checkpoints.
        }
      }
      db.close()
    }
  }
}

function bind(column: string, value: unknown): string | number | bigint | null {
  if (value === null || value === undefined) return null
  if ((column === 'txn_id' || column === 'cutoff_id') && typeof value === 'string') return BigInt(value)
  return value as string | number
}

export function cutoffRow(row: Record<string, unknown>): CutoffRow {
  const counters = {} as CutoffRow['counters']
  for (const c of CUTOFF_COUNTERS)
    counters[c] = row[c] === null || row[c] === undefined ? null : Number(row[c])
  const detail = row.detail
  return {
    cutoff_id: String(row.cutoff_id),
    request_id: String(row.request_id),
    arrived_at: Number(row.arrived_at),
    product_id: (row.product_id as string | null) ?? null,
    cutoff_date: (row.cutoff_date as string | null) ?? null,
    first_txn_id: row.first_txn_id === null ? null : String(row.first_txn_id),
    last_txn_id: row.last_txn_id === null ? null : String(row.last_txn_id),
    counters,
    reconciled_at: row.reconciled_at === null ? null : Number(row.reconciled_at),
    verdict: (row.verdict as string | null) ?? null,
    detail:
      detail === null || detail === undefined
        ? null
        : typeof detail === 'string'
          ? JSON.parse(detail)
          : (detail as CutoffRow['detail']),
  }
}
