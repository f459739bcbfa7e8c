/**
 * The SQLite store as the gateway uses it: two worker threads, one writing and one reading
 * (lookups), each with its own connection to the WAL-mode file. node:sqlite is synchronous; on
 * the event loop a slow fsync or another process's write lock would hold up every answer to
 * Thredd. On threads they hold up only the ledger, which the caller never waits for.
 *
 * The operator tools use the engine directly (directSqliteStore): one short-lived process, no
 * requests to protect.
 */
import { Worker } from 'node:worker_threads'
import type { DedupKey, LedgerRecord } from './rules/ledger-record.ts'
import type { RangeRow, Reconciliation } from './rules/cutoff-reconcile.ts'
import { SqliteEngine, type SqliteOptions } from './sqlite-engine.ts'
import {
  LedgerStoreError,
  type CutoffRow,
  type LedgerStore,
  type LookupRow,
  type MessageRow,
  type OpenResult,
  type StatRow,
} from './store.ts'
import type { LedgerErrorKind } from './rules/ledger-status.ts'

/** Run from source (.ts, type stripping) or from the build (.js). */
const THREAD_URL = new URL(
  import.meta.url.endsWith('.ts') ? './sqlite-thread.ts' : './sqlite-thread.js',
  import.meta.url,
)

interface Pending {
  resolve: (value: unknown) => void
  reject: (error: Error) => void
}

class SqliteThread {
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private exitError: Error | undefined

  constructor(options: SqliteOptions) {
    this.worker = new Worker(THREAD_URL, { workerData: options, name: `ledger-sqlite-${options.role}` })
    // The ledger must never keep the process alive on its own: drain closes it explicitly.
    this.worker.unref()
    this.worker.on('message', (reply: { id: number; ok: boolean; value?: unknown; error?: ThreadError }) => {
      const pending = this.pending.get(reply.id)
      if (!pending) return
      this.pending.delete(reply.id)
      if (reply.ok) pending.resolve(reply.value)
      else pending.reject(threadError(reply.error!))
    })
    const fail = (error: Error) => {
      this.exitError = error
      for (const p of this.pending.values()) p.reject(error)
      this.pending.clear()
    }
    this.worker.on('error', (error) =>
      fail(new LedgerStoreError('other', `the ledger's SQLite thread failed: ${error.message}`)),
    )
    this.worker.on('exit', (code) =>
      fail(new LedgerStoreError('unavailable', `the ledger's SQLite thread exited (code ${code})`)),
    )
  }

  get alive(): boolean {
    return this.exitError === undefined
  }

  call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError)
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.worker.postMessage({ id, method, args })
    })
  }

  async stop(): Promise<void> {
    if (this.exitError) return
    try {
      await this.call('close')
    } catch {
      // Closing a connection that failed: nothing left to fold back.
    }
    await this.worker.terminate()
  }
}

interface ThreadError {
  message: string
  kind: LedgerErrorKind
  errcode?: number
}

function threadError(e: ThreadError): Error {
  const error = new LedgerStoreError(e.kind, e.message)
  ;(error as { errcode?: number }).errcode = e.errcode
  return error
}

export interface SqliteStoreOptions {
  path: string
  busyTimeoutMs: number
  maxPageCount?: number | undefined
}

/** The gateway's SQLite store: a writer thread and a reader thread. */
export function threadedSqliteStore(options: SqliteStoreOptions): LedgerStore {
  let writer: SqliteThread | undefined
  let reader: SqliteThread | undefined
  const common = { path: options.path, maxPageCount: options.maxPageCount }

  async function stopAll(): Promise<void> {
    const threads = [writer, reader]
    writer = undefined
    reader = undefined
    await Promise.all(threads.map((t) => t?.stop()))
  }

  const write = <T>(method: string, ...args: unknown[]): Promise<T> => {
    if (!writer?.alive)
      return Promise.reject(new LedgerStoreError('unavailable', 'the ledger store is not open'))
    return writer.call<T>(method, ...args)
  }
  const read = <T>(method: string, ...args: unknown[]): Promise<T> => {
    if (!reader?.alive)
      return Promise.reject(new LedgerStoreError('unavailable', 'the ledger store is not open'))
    return reader.call<T>(method, ...args)
  }

  return {
    engine: 'sqlite',
    location: `sqlite:${options.path}`,
    async open({ migrate }) {
      await stopAll()
      writer = new SqliteThread({
        ...common,
        role: 'writer',
        busyTimeoutMs: options.busyTimeoutMs,
        create: true,
      })
      try {
        const result = await writer.call<OpenResult>('open', migrate)
        // The reader opens after the writer made and migrated the file. A lookup has its own short
        // budget; the busy timeout only covers a checkpoint's brief lock.
        reader = new SqliteThread({ ...common, role: 'reader', busyTimeoutMs: 1000, create: false })
        await reader.call('open', false)
        return result
      } catch (error) {
        await stopAll()
        throw error
      }
    },
    insert: (records: readonly LedgerRecord[]) => write<void>('insert', records),
    lookup: (key: DedupKey, limit: number) => read<LookupRow[]>('lookup', key, limit),
    byTxnId: (txnId: string) => read<MessageRow[]>('byTxnId', txnId),
    after: (afterSeq: number, limit: number) => read<MessageRow[]>('after', afterSeq, limit),
    latest: (limit: number) => read<MessageRow[]>('latest', limit),
    page: (fromMs: number, untilMs: number, afterSeq: number, limit: number) =>
      read<MessageRow[]>('page', fromMs, untilMs, afterSeq, limit),
    stats: (fromMs: number, untilMs: number) => read<StatRow[]>('stats', fromMs, untilMs),
    cutoff: (cutoffId: string) => read<CutoffRow | undefined>('cutoff', cutoffId),
    rangeRows: (first: string, last: string, productId: string | null) =>
      read<RangeRow[]>('rangeRows', first, last, productId),
    saveReconciliation: (result: Reconciliation, at: number) => write<void>('saveReconciliation', result, at),
    prune: (beforeMs: number, chunk: number) => write<number>('prune', beforeMs, chunk),
    schemaVersion: () => read<number>('schemaVersion'),
    close: stopAll,
  }
}

/** The SQLite store on the calling thread, for the operator tools. */
export function directSqliteStore(options: SqliteStoreOptions & { create: boolean }): LedgerStore {
  const engine = new SqliteEngine({
    path: options.path,
    role: 'tool',
    busyTimeoutMs: options.busyTimeoutMs,
    create: options.create,
    maxPageCount: options.maxPageCount,
  })
  const run = async <T>(fn: () => T): Promise<T> => fn()
  return {
    engine: 'sqlite',
    location: `sqlite:${options.path}`,
    open: ({ migrate }) => engine.open(migrate),
    insert: (records) => run(() => engine.insert(records)),
    lookup: (key, limit) => run(() => engine.lookup(key, limit)),
    byTxnId: (txnId) => run(() => engine.byTxnId(txnId)),
    after: (afterSeq, limit) => run(() => engine.after(afterSeq, limit)),
    latest: (limit) => run(() => engine.latest(limit)),
    page: (fromMs, untilMs, afterSeq, limit) => run(() => engine.page(fromMs, untilMs, afterSeq, limit)),
    stats: (fromMs, untilMs) => run(() => engine.stats(fromMs, untilMs)),
    cutoff: (cutoffId) => run(() => engine.cutoff(cutoffId)),
    rangeRows: (first, last, productId) => run(() => engine.rangeRows(first, last, productId)),
    saveReconciliation: (result, at) => run(() => engine.saveReconciliation(result, at)),
    prune: (beforeMs, chunk) => run(() => engine.prune(beforeMs, chunk)),
    schemaVersion: () => run(() => engine.schemaVersion()),
    close: () => run(() => engine.close()),
  }
}
