/**
 * The message ledger of one gateway process. Never on the critical path:
 *
 * - record() is synchronous and O(1): it checks the event's shapes, notes the key in a bounded
 *   in-process cache and appends to a bounded queue. A writer drains the queue in batches (one
 *   transaction each). When the store is slow, full or down, records wait and the write is retried
 *   with doubling waits; when the queue is full, new records are dropped and counted. The caller
 *   never waits and never sees an error.
 * - lookup() answers from the cache, else reads the store within ledger.lookupTimeoutMs, else
 *   says "unknown". It never rejects.
 * - One log line per state change (ok, degraded, failed, dropping, recovered), never per message.
 *
 * Each process (each cluster worker) has its own ledger: its own queue and its own connections.
 * SQLite's WAL mode and busy timeout let them share one file; PostgreSQL shares across hosts.
 */
import { hostname } from 'node:os'
import type { LedgerMetrics } from '../observability/metrics.ts'
import { reconcileCutoff, type Reconciliation } from './rules/cutoff-reconcile.ts'
import {
  answerSummaryOf,
  dedupKeyFromFields,
  dedupKeyOf,
  dedupKeyString,
  toLedgerRecord,
  type AnswerSummary,
  type DedupKey,
  type LedgerEvent,
  type LedgerRecord,
  type StoredAnswer,
} from './rules/ledger-record.ts'
import { createStore, type LedgerSettings } from './ledger-settings.ts'
import type { LedgerErrorKind, LedgerState, LedgerStatus } from './rules/ledger-status.ts'
import { redactSecrets } from './rules/ledger-url.ts'
import { REPLAYABLE_CLASSES, storableAnswer } from './rules/stored-answer.ts'
import { errorKind, type LedgerStore, type LookupRow } from './store.ts'

/** What the ledger logs with: the gateway's pino logger fits. */
export interface LedgerLogger {
  info(object: object, message: string): void
  warn(object: object, message: string): void
  error(object: object, message: string): void
}

export interface LookupQuery {
  /** The extracted fields of the message (EhiMessage.fields). */
  fields: Readonly<Record<string, string | undefined>>
  format?: 'xml' | 'json' | undefined
  root?: 'GetTransaction' | 'Cut_Off' | undefined
  messageClass?: string | undefined
}

export type LookupFound = 'seen' | 'new' | 'unknown'

export interface LookupResult {
  /** seen: an earlier message has the same key; new: the store holds none; unknown: no answer in time. */
  found: LookupFound
  /** SendingAttemptCount >= 1, or seen: send the host x-ehi-resend-of when `first` is known. */
  resend: boolean
  /** The first message with this key: its request id and the answer Thredd got for it. */
  first?: { requestId: string; arrivedAt: number; answer: AnswerSummary }
  /** Attempts the ledger knows of before this one. */
  attempts?: number
  /**
   * With ledger.replayAcknowledged: the host's own stored acknowledgement of an earlier attempt,
   * to answer this exact resend with instead of forwarding it. Absent otherwise.
   */
  replay?: {
    requestId: string
    status: number
    contentType: string | null
    soapaction: string | null
    body: Buffer
  }
  source?: 'cache' | 'store'
  /** Why found is unknown. */
  unknownReason?: 'off' | 'no_key' | 'unavailable' | 'timeout' | 'busy'
}

export interface Ledger {
  /** False when ledger.url is unset: record() does nothing, lookup() says unknown. */
  readonly enabled: boolean
  /** True with ledger.replayAcknowledged: hand record() the host's answer bytes (hostAnswer). */
  readonly storesAnswers: boolean
  record(event: LedgerEvent): void
  lookup(query: LookupQuery): Promise<LookupResult>
  status(): LedgerStatus
  /** Resolves when the first attempt to open the store has finished (either way). */
  ready(): Promise<void>
  /** Waits until the queue is empty or `timeoutMs` passed; true when empty. */
  flush(timeoutMs?: number): Promise<boolean>
  /** Compares a stored Cut_Off with the ledger now, records and returns the result. */
  reconcile(cutoffId: string): Promise<Reconciliation | undefined>
  /** The retention pass (also run hourly): deletes records older than ledger.retentionDays. */
  prune(): Promise<number>
  /** Writes what is queued within `timeoutMs` (what is left is dropped and counted), then closes. */
  close(timeoutMs?: number): Promise<void>
}

export interface LedgerDeps {
  /** undefined: the ledger is off. */
  settings: LedgerSettings | undefined
  logger: LedgerLogger
  metrics: LedgerMetrics
  /** Default: ledger.instanceId, else host name and process id. */
  instance?: string
  now?: () => number
  /** Tests: a store of a real engine made by the test (for example with a page cap). */
  store?: LedgerStore
}

/** First wait after a failed write; doubles up to ledger.retryMaxMs. */
const FIRST_RETRY_MS = 100
/** Earlier attempts a lookup reads at most. */
const LOOKUP_ROWS = 50
/** Store lookups in flight at most; past it a lookup answers unknown at once. */
const MAX_LOOKUPS_IN_FLIGHT = 64
const PRUNE_EVERY_MS = 3_600_000
const PRUNE_CHUNK = 5000
const DAY_MS = 86_400_000

/** What an operator can do, appended to each error in the log and in /readyz. */
const HINTS: Readonly<Record<LedgerErrorKind, string>> = {
  unavailable: 'the store is unreachable; records wait in the queue and writes are retried',
  timeout: 'the store is slow to answer; records wait in the queue and writes are retried',
  full: 'free disk space or lower ledger.retentionDays; records wait in the queue meanwhile',
  readonly:
    'let the gateway write the data folder and the file (owner, mode, read-only mount, database role)',
  corrupt: 'move the file aside (the gateway then starts a new ledger) and keep it for investigation',
  schema: 'the gateway does not write to this store',
  config: 'fix the ledger settings',
  other: 'see the error; records wait in the queue and writes are retried',
}

/** Kinds after which retrying soon is pointless: the store stays unusable until someone acts. */
const FAILED_KINDS: ReadonlySet<LedgerErrorKind> = new Set(['corrupt', 'schema', 'config'])

interface SeenEntry {
  first: { requestId: string; arrivedAt: number; answer: AnswerSummary }
  format: string | null
  attempts: number
  acknowledged: { requestId: string; answer: StoredAnswer | null } | undefined
}

/** Opens the ledger; resolves once the store has opened or its first attempt failed (never rejects). */
export async function openLedger(deps: LedgerDeps): Promise<Ledger> {
  const ledger = deps.settings ? createLedger(deps, deps.settings) : disabledLedger()
  await ledger.ready()
  return ledger
}

export function disabledLedger(): Ledger {
  const now = Date.now()
  return {
    enabled: false,
    storesAnswers: false,
    record: () => {},
    lookup: async (query) => ({
      found: 'unknown',
      resend: attemptOf(query.fields) >= 1,
      unknownReason: 'off',
    }),
    status: () => ({
      state: 'off',
      store: undefined,
      queued: 0,
      queueSize: 0,
      dropping: false,
      written: 0,
      deferred: 0,
      dropped: 0,
      error: undefined,
      since: now,
      schemaVersion: undefined,
    }),
    ready: async () => {},
    flush: async () => true,
    reconcile: async () => undefined,
    prune: async () => 0,
    close: async () => {},
  }
}

function createLedger(deps: LedgerDeps, settings: LedgerSettings): Ledger {
  const { logger, metrics } = deps
  const config = settings.config
  const now = deps.now ?? Date.now
  const instance = deps.instance ?? config.instanceId ?? `${hostname()}:${process.pid}`.slice(0, 64)
  const store = deps.store ?? createStore(settings, { threaded: true, create: true })
  const storeAnswers = config.replayAcknowledged
  const redact = (text: string) =>
    redactSecrets(
      text,
      settings.target.engine === 'postgres' ? settings.target.url : undefined,
      settings.password,
    )

  let state: LedgerState = 'starting'
  let stateError: { kind: LedgerErrorKind; message: string } | undefined
  let since = now()
  let schemaVersion: number | undefined
  let opened = false
  let closing = false
  let closed = false

  const queue: LedgerRecord[] = []
  /** How many records at the head of the queue were already counted as deferred. */
  let deferredHead = 0
  let written = 0
  let deferred = 0
  let dropped = 0
  let dropping = false
  let droppedSinceLogged = 0

  let writing = false
  let flushTimer: NodeJS.Timeout | undefined
  let flushDue = Number.POSITIVE_INFINITY
  let retryMs = 0
  let reopenNeeded = false
  let connecting = false
  let retryTimer: NodeJS.Timeout | undefined
  let lookupsInFlight = 0

  const cache = new RecentKeys<SeenEntry>(config.cacheEntries)
  const timers = new Set<NodeJS.Timeout>()

  function setState(next: LedgerState, error?: { kind: LedgerErrorKind; message: string }) {
    const previous = state
    if (next === previous && error?.kind === stateError?.kind) {
      stateError = error ?? stateError
      return
    }
    state = next
    stateError = next === 'ok' || next === 'closed' ? undefined : (error ?? stateError)
    since = now()
    metrics.ledgerStoreUp.set(next === 'degraded' || next === 'failed' ? 0 : 1)
    const line = { event: 'ledger_state', state: next, previous, store: store.location, queued: queue.length }
    if (next === 'ok' && previous === 'starting')
      logger.info({ ...line, schemaVersion }, 'ledger open: recording every EHI message')
    else if (next === 'ok')
      logger.info({ ...line, written, deferred, dropped }, 'ledger recovered: writing again')
    else if (next === 'degraded')
      logger.warn(
        { ...line, error: stateError },
        'ledger writes failing: records wait in the queue and are retried; answers to Thredd are not affected',
      )
    else if (next === 'failed')
      logger.error(
        { ...line, error: stateError },
        'ledger store unusable: records are not kept until this is fixed; answers to Thredd are not affected',
      )
    else if (next === 'closed') logger.info({ ...line, written, deferred, dropped }, 'ledger closed')
  }

  function failure(error: unknown): { kind: LedgerErrorKind; message: string } {
    const kind = errorKind(error)
    const raw = (error as Error)?.message ?? String(error)
    return { kind, message: `${redact(raw).slice(0, 400)} (${HINTS[kind]})` }
  }

  // ---- opening (and reopening after a failure) ----

  let readyResolve: () => void = () => {}
  const readyPromise = new Promise<void>((resolve) => (readyResolve = resolve))

  async function connect(): Promise<void> {
    if (closed || connecting) return
    if (writing) {
      // Reopening closes the store's connections first: no write may be using them.
      later(() => void connect(), 50)
      return
    }
    connecting = true
    try {
      const result = await store.open({ migrate: true })
      if (closed) {
        await store.close()
        return
      }
      schemaVersion = result.to
      if (result.from !== result.to)
        logger.info(
          { event: 'ledger_migrated', store: store.location, from: result.from, to: result.to },
          'ledger schema migrated',
        )
      opened = true
      reopenNeeded = false
      retryMs = 0
      setState('ok')
      schedule(0)
    } catch (error) {
      opened = false
      const f = failure(error)
      noteFailure(f)
      retryLater(() => void connect(), FAILED_KINDS.has(f.kind))
    } finally {
      connecting = false
      readyResolve()
    }
  }

  /** One retry pending at a time: a newer failure replaces the older plan. */
  function retryLater(fn: () => void, longWait: boolean) {
    retryMs = longWait
      ? config.retryMaxMs
      : retryMs === 0
        ? FIRST_RETRY_MS
        : Math.min(retryMs * 2, config.retryMaxMs)
    if (retryTimer) {
      clearTimeout(retryTimer)
      timers.delete(retryTimer)
    }
    retryTimer = later(() => {
      retryTimer = undefined
      fn()
    }, retryMs)
  }

  function later(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, ms)
    timer.unref()
    timers.add(timer)
    return timer
  }

  // ---- writing ----

  function schedule(delayMs: number) {
    if (!opened || closed || writing || queue.length === 0) return
    const due = now() + delayMs
    if (flushTimer && flushDue <= due) return
    if (flushTimer) {
      clearTimeout(flushTimer)
      timers.delete(flushTimer)
    }
    flushDue = due
    flushTimer = later(() => {
      flushTimer = undefined
      flushDue = Number.POSITIVE_INFINITY
      write()
    }, delayMs)
  }

  function write() {
    if (!opened || writing || queue.length === 0) return
    writing = true
    const batch = queue.slice(0, config.batchSize)
    const started = performance.now()
    let settled = false
    // A store that has not answered by the write timeout is failing for the operator's purposes
    // (logged, counted), but the batch is not sent again until this attempt settles: when it
    // does commit late, its records must not be queued twice.
    const slow = later(() => {
      if (!settled)
        noteFailure({
          kind: 'timeout',
          message: `no answer from the store within ${config.writeTimeoutMs} ms`,
        })
    }, config.writeTimeoutMs)
    store.insert(batch).then(
      () => {
        settled = true
        clearTimeout(slow)
        timers.delete(slow)
        metrics.ledgerWriteDuration.observe((performance.now() - started) / 1000)
        queue.splice(0, batch.length)
        deferredHead = Math.max(0, deferredHead - batch.length)
        written += batch.length
        metrics.ledgerRecordsWritten.inc(batch.length)
        metrics.ledgerQueueDepth.set(queue.length)
        retryMs = 0
        writing = false
        if (state !== 'ok') setState('ok')
        noteDroppingEnd()
        for (const record of batch)
          if (record.cutoff) later(() => void reconcile(record.cutoff!.cutoff_id), config.reconcileDelayMs)
        if (closing) write()
        else schedule(queue.length >= config.batchSize ? 0 : config.batchIntervalMs)
      },
      (error: unknown) => {
        settled = true
        clearTimeout(slow)
        timers.delete(slow)
        writing = false
        const f = failure(error)
        noteFailure(f)
        // Past a broken connection, a dead thread or a file fixed by an operator, a fresh open
        // is what works; a full store just needs the same write to be tried again later.
        reopenNeeded = f.kind !== 'full' && f.kind !== 'timeout'
        retryLater(() => {
          if (reopenNeeded) {
            opened = false
            void connect()
          } else write()
        }, FAILED_KINDS.has(f.kind))
      },
    )
  }

  function noteFailure(f: { kind: LedgerErrorKind; message: string }) {
    metrics.ledgerWriteErrors.inc({ error: f.kind })
    deferAll()
    setState(FAILED_KINDS.has(f.kind) ? 'failed' : 'degraded', f)
  }

  /**
   * Counts every queued record not yet counted as deferred. While the store fails, every queued
   * record is counted (record() counts new ones at once), so the counted ones are the head.
   */
  function deferAll() {
    const fresh = queue.length - deferredHead
    if (fresh > 0) {
      deferred += fresh
      metrics.ledgerRecordsDeferred.inc(fresh)
    }
    deferredHead = queue.length
  }

  function drop(cause: 'queue_full' | 'shutdown', count = 1) {
    dropped += count
    metrics.ledgerRecordsDropped.inc({ cause }, count)
    if (cause === 'queue_full') {
      droppedSinceLogged += count
      if (!dropping) {
        dropping = true
        logger.error(
          { event: 'ledger_dropping', store: store.location, queueSize: config.queueSize, error: stateError },
          'ledger queue full: new records are dropped until the store takes writes again',
        )
      }
    }
  }

  function noteDroppingEnd() {
    if (!dropping || queue.length >= config.queueSize) return
    dropping = false
    logger.warn(
      { event: 'ledger_dropping_ended', store: store.location, droppedRecords: droppedSinceLogged },
      'ledger queue has room again: records are kept again',
    )
    droppedSinceLogged = 0
  }

  // ---- the request path's side ----

  function record(event: LedgerEvent): void {
    if (closing) {
      drop('shutdown')
      return
    }
    let rec: LedgerRecord
    try {
      rec = toLedgerRecord(event, { instance, storeAnswers, storable: storableAnswer })
    } catch {
      // toLedgerRecord does not throw; if it ever did, the message's answer must not suffer.
      return
    }
    const key = dedupKeyOf(rec)
    if (key) remember(key, rec)
    if (queue.length >= config.queueSize) {
      drop('queue_full')
      return
    }
    queue.push(rec)
    if (state === 'degraded' || state === 'failed') deferAll()
    metrics.ledgerQueueDepth.set(queue.length)
    if (rec.outcome === 'replayed') metrics.ledgerReplays.inc()
    schedule(queue.length >= config.batchSize ? 0 : config.batchIntervalMs)
  }

  /** Notes the record under its key; fills resend_of from an earlier attempt this process knows. */
  function remember(key: DedupKey, rec: LedgerRecord) {
    if (config.cacheEntries === 0) return
    const k = dedupKeyString(key)
    const entry = cache.get(k)
    const hostAck = rec.acknowledgement === '1' && rec.synthesized !== 1 && rec.outcome === 'host_answer'
    if (entry) {
      entry.attempts++
      if (rec.resend_of === null && entry.first.requestId !== rec.request_id) {
        rec.resend_of = entry.first.requestId
        rec.resend = 1
      }
      if (hostAck) entry.acknowledged = { requestId: rec.request_id, answer: rec.stored_answer }
      return
    }
    cache.add(k, {
      first: {
        requestId: rec.resend_of ?? rec.request_id,
        arrivedAt: rec.arrived_at,
        answer: answerSummaryOf(rec),
      },
      format: rec.format,
      attempts: 1,
      acknowledged: hostAck ? { requestId: rec.request_id, answer: rec.stored_answer } : undefined,
    })
  }

  async function lookup(query: LookupQuery): Promise<LookupResult> {
    const attemptResend = attemptOf(query.fields) >= 1
    const key = dedupKeyFromFields(query.fields)
    if (!key) return counted({ found: 'unknown', resend: attemptResend, unknownReason: 'no_key' })
    const k = dedupKeyString(key)
    const cached = cache.get(k)
    if (cached) return counted(seenResult(cached, query, 'cache'))
    if (!opened || closed)
      return counted({ found: 'unknown', resend: attemptResend, unknownReason: 'unavailable' })
    if (lookupsInFlight >= MAX_LOOKUPS_IN_FLIGHT)
      return counted({ found: 'unknown', resend: attemptResend, unknownReason: 'busy' })

    lookupsInFlight++
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.lookupTimeoutMs)
    })
    const read = store.lookup(key, LOOKUP_ROWS).then(
      (rows) => rows,
      () => 'error' as const,
    )
    void read.finally(() => lookupsInFlight--)
    const rows = await Promise.race([read, timeout])
    clearTimeout(timer)
    if (rows === 'timeout')
      return counted({ found: 'unknown', resend: attemptResend, unknownReason: 'timeout' })
    if (rows === 'error')
      return counted({ found: 'unknown', resend: attemptResend, unknownReason: 'unavailable' })
    if (rows.length === 0) return counted({ found: 'new', resend: attemptResend, source: 'store' })
    const entry = entryFromRows(rows)
    if (!cache.get(k)) cache.add(k, entry)
    return counted(seenResult(entry, query, 'store'))
  }

  function counted(result: LookupResult): LookupResult {
    metrics.ledgerLookups.inc({ found: result.found })
    return result
  }

  function seenResult(entry: SeenEntry, query: LookupQuery, source: 'cache' | 'store'): LookupResult {
    const result: LookupResult = {
      found: 'seen',
      resend: true,
      first: entry.first,
      attempts: entry.attempts,
      source,
    }
    const ack = entry.acknowledged
    if (
      storeAnswers &&
      ack?.answer &&
      query.messageClass !== undefined &&
      REPLAYABLE_CLASSES.has(query.messageClass) &&
      query.root !== 'Cut_Off' &&
      (query.format === undefined || query.format === entry.format)
    ) {
      result.replay = {
        requestId: ack.requestId,
        status: ack.answer.status,
        contentType: ack.answer.content_type,
        soapaction: ack.answer.soapaction,
        body: Buffer.from(ack.answer.body),
      }
    }
    return result
  }

  // ---- Cut_Off ----

  async function reconcile(cutoffId: string): Promise<Reconciliation | undefined> {
    if (!opened) return undefined
    try {
      const cutoff = await store.cutoff(cutoffId)
      if (!cutoff) return undefined
      const rows =
        cutoff.first_txn_id !== null && cutoff.last_txn_id !== null
          ? await store.rangeRows(cutoff.first_txn_id, cutoff.last_txn_id, cutoff.product_id)
          : []
      const result = reconcileCutoff(cutoff, rows)
      await store.saveReconciliation(result, now())
      metrics.ledgerReconciliations.inc({ verdict: result.verdict })
      const line = {
        event: 'ledger_cutoff_reconciled',
        cutoffId,
        verdict: result.verdict,
        range: [result.firstTxnId, result.lastTxnId],
        productId: result.productId,
        categories: result.categories,
        unmapped: result.unmapped,
        problems: result.problems.length ? result.problems : undefined,
        differingTxnIds: result.differing.map((d) => ({ category: d.category, count: d.txnIds.length })),
      }
      if (result.verdict === 'match') logger.info(line, 'Cut_Off matches the ledger')
      else
        logger.warn(
          line,
          `Cut_Off ${result.verdict === 'mismatch' ? 'does not match' : 'could not be fully compared with'} the ledger: run \`ehi-gateway ledger reconcile --cutoff ${cutoffId}\``,
        )
      return result
    } catch (error) {
      metrics.ledgerReconciliations.inc({ verdict: 'incomplete' })
      logger.warn(
        { event: 'ledger_cutoff_reconciled', cutoffId, verdict: 'incomplete', error: failure(error) },
        'Cut_Off could not be compared with the ledger (store unavailable): run `ehi-gateway ledger reconcile` later',
      )
      return undefined
    }
  }

  // ---- retention ----

  async function prune(): Promise<number> {
    if (!opened || closed || config.retentionDays === 0) return 0
    const before = now() - config.retentionDays * DAY_MS
    let total = 0
    try {
      // Small chunks: each is a short transaction, so batches of new records get their turn.
      for (let i = 0; i < 1000; i++) {
        const n = await store.prune(before, PRUNE_CHUNK)
        total += n
        if (n < PRUNE_CHUNK || closed) break
      }
      if (total > 0) {
        metrics.ledgerPruned.inc(total)
        logger.info(
          { event: 'ledger_pruned', records: total, before: new Date(before).toISOString() },
          'ledger retention: old records deleted',
        )
      }
    } catch (error) {
      logger.warn(
        { event: 'ledger_prune_failed', error: failure(error) },
        'ledger retention: pruning failed, retried later',
      )
    }
    return total
  }
  if (config.retentionDays > 0) {
    // The first run soon after start (spread so several workers do not start together).
    later(() => void prune(), 60_000 + Math.floor(Math.random() * 60_000))
    const every = setInterval(() => void prune(), PRUNE_EVERY_MS)
    every.unref()
    timers.add(every)
  }

  // ---- status and shutdown ----

  function status(): LedgerStatus {
    return {
      state,
      store: store.location,
      queued: queue.length,
      queueSize: config.queueSize,
      dropping,
      written,
      deferred,
      dropped,
      error: stateError,
      since,
      schemaVersion,
    }
  }

  async function flush(timeoutMs = 5000): Promise<boolean> {
    const deadline = now() + timeoutMs
    while (queue.length > 0 || writing) {
      if (now() >= deadline) return false
      // While the store fails, the retry timer writes; hurrying it would only hammer the store.
      if (opened && !writing && state === 'ok') schedule(0)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return true
  }

  async function close(timeoutMs = 5000): Promise<void> {
    if (closed || closing) return
    closing = true
    await flush(timeoutMs)
    closed = true
    if (queue.length > 0) {
      const left = queue.length
      queue.length = 0
      drop('shutdown', left)
      logger.error(
        { event: 'ledger_unwritten_at_shutdown', records: left, store: store.location },
        'ledger: records still queued at shutdown were dropped',
      )
    }
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    metrics.ledgerQueueDepth.set(0)
    await store.close().catch(() => {})
    setState('closed')
  }

  void connect()

  return {
    enabled: true,
    storesAnswers: storeAnswers,
    record,
    lookup,
    status,
    ready: () => readyPromise,
    flush,
    reconcile,
    prune,
    close,
  }
}

/**
 * The recent-key cache: at most `max` entries, the oldest forgotten first. Not a Map evicted
 * through keys().next(): V8 walks every deleted slot from the front on each call, which made
 * record() cost several microseconds once the cache was full.
 */
class RecentKeys<T> {
  private readonly map = new Map<string, T>()
  private readonly ring: (string | undefined)[]
  private readonly max: number
  private next = 0
  constructor(max: number) {
    this.max = max
    this.ring = new Array<string | undefined>(max)
  }
  get(key: string): T | undefined {
    return this.map.get(key)
  }
  add(key: string, value: T): void {
    if (this.max === 0 || this.map.has(key)) return
    const evicted = this.ring[this.next]
    if (evicted !== undefined) this.map.delete(evicted)
    this.ring[this.next] = key
    this.next = (this.next + 1) % this.max
    this.map.set(key, value)
  }
}

function entryFromRows(rows: readonly LookupRow[]): SeenEntry {
  const first = rows[0]!
  let acknowledged: SeenEntry['acknowledged']
  for (const row of rows)
    if (row.outcome === 'host_answer' && row.acknowledgement === '1' && row.synthesized !== 1)
      acknowledged = { requestId: row.request_id, answer: row.answer }
  return {
    first: { requestId: first.request_id, arrivedAt: first.arrived_at, answer: answerSummaryOf(first) },
    format: first.format,
    attempts: rows.length,
    acknowledged,
  }
}

function attemptOf(fields: Readonly<Record<string, string | undefined>>): number {
  const value = fields.SendingAttemptCount?.trim()
  return value && /^\d{1,3}$/.test(value) ? Number(value) : 0
}
