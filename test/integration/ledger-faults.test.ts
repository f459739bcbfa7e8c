/**
 * The ledger under faults, with real engines and real file systems: each gives a clear error (a
 * log line and the status naming the cause) and a ledger that keeps serving its caller, never a
 * blocked one. record() stays synchronous and fast, lookup() answers within its budget, records
 * wait (deferred) and are written once the store is back, or are dropped and counted when the
 * queue is full.
 *
 * Read-only and full file systems are real: the test process (root) runs a child in a private
 * mount namespace (unshare -m) with a read-only bind mount or a small tmpfs, which only that
 * child sees and which vanishes with it. A full database also comes from SQLite's own
 * max_page_count, which needs no privilege.
 */
import { writeFileSync, mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createStore } from '../../src/ledger/ledger-settings.ts'
import { startPostgres, type PgCluster } from '../support/postgres.ts'
import {
  canMountPrivately,
  counterValue,
  message,
  openTestLedger,
  query,
  runLedgerChild,
  settingsFor,
  type ChildLine,
  type TestLedger,
} from '../support/ledger.ts'
import { eventually } from '../support/wait.ts'

const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ledger-faults-'))
const open: TestLedger[] = []
const mounts = canMountPrivately()
const mountNote = mounts ? '' : ' [skipped: no private mount namespace here (needs root with CAP_SYS_ADMIN)]'

afterAll(async () => {
  await Promise.all(open.map((t) => t.ledger.close(500)))
  rmSync(dir, { recursive: true, force: true })
})

async function ledgerAt(url: string, overrides: Parameters<typeof openTestLedger>[1] = {}, extra = {}) {
  const t = await openTestLedger(url, { batchIntervalMs: 10, retryMaxMs: 200, ...overrides }, extra)
  open.push(t)
  return t
}

/** Records `count` messages and returns the slowest record() call in ms. */
function recordMany(t: TestLedger, from: number, count: number): number {
  let slowest = 0
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    t.ledger.record(message({ txnId: String(from + i) }))
    slowest = Math.max(slowest, performance.now() - t0)
  }
  return slowest
}

/**
 * "Not blocked": far below what a blocked caller would wait here (the stores' timeouts are 3 s and
 * more, a hung store forever), far above the scheduling noise of a loaded 2-core CI machine. Not a
 * timing goal: those live in the bench.
 */
const NOT_BLOCKED_MS = 1000

const stateLines = (t: TestLedger) => t.lines.filter((l) => l.event === 'ledger_state')
const step = (lines: ChildLine[], name: string, index = 0) => lines.filter((l) => l.step === name)[index]!

describe('a corrupt SQLite file', () => {
  it('is named as corrupt at start; the caller is served; a fresh file is used once it is moved aside', async () => {
    const folder = join(dir, 'corrupt')
    mkdirSync(folder)
    const file = join(folder, 'ledger.db')
    writeFileSync(file, Buffer.alloc(16384, 0x5a))
    const t = await ledgerAt(`sqlite:${file}`, { queueSize: 100 })

    expect(t.ledger.status()).toMatchObject({ state: 'failed', error: { kind: 'corrupt' } })
    expect(t.ledger.status().error!.message).toContain(`${file} is not a SQLite database or is damaged`)
    expect(t.ledger.status().error!.message).toContain('move the file aside')
    expect(stateLines(t)).toEqual([expect.objectContaining({ level: 'error', state: 'failed' })])

    expect(recordMany(t, 1, 150)).toBeLessThan(NOT_BLOCKED_MS)
    expect(t.ledger.status()).toMatchObject({ queued: 100, dropped: 50, deferred: 100, dropping: true })
    expect(
      await counterValue(t.registry, 'ehi_gateway_ledger_records_dropped_total', { cause: 'queue_full' }),
    ).toBe(50)
    expect(await t.ledger.lookup(query({ txnId: '99999' }))).toMatchObject({
      found: 'unknown',
      unknownReason: 'unavailable',
    })
    expect(await counterValue(t.registry, 'ehi_gateway_ledger_store_up')).toBe(0)

    rmSync(file)
    await eventually(() => t.ledger.status().state === 'ok' && t.ledger.status().queued === 0)
    expect(t.ledger.status()).toMatchObject({ written: 100, dropping: false })
    expect(t.lines.filter((l) => l.event === 'ledger_dropping')).toHaveLength(1)
    expect(t.lines.filter((l) => l.event === 'ledger_dropping_ended')).toHaveLength(1)
  })
})

describe('a full SQLite database (max_page_count)', () => {
  it('defers records while full, drops past the queue, and writes the deferred ones once retention frees pages', async () => {
    const folder = join(dir, 'full')
    const file = join(folder, 'ledger.db')
    const url = `sqlite:${file}`
    // 60 pages of 4 KiB: the schema and a few hundred records.
    const store = createStore(settingsFor(url), { threaded: true, create: true, maxPageCount: 60 })
    const t = await ledgerAt(url, { queueSize: 300, retentionDays: 30 }, { store })
    const old = Date.now() - 40 * 86_400_000
    let n = 0
    while (t.ledger.status().state === 'ok' && n < 5000) {
      t.ledger.record(message({ txnId: String(1000 + n), arrivedAt: old }))
      n++
      if (n % 50 === 0) await t.ledger.flush(2000)
    }
    expect(t.ledger.status()).toMatchObject({ state: 'degraded', error: { kind: 'full' } })
    expect(t.ledger.status().error!.message).toMatch(
      /database or disk is full.*free disk space or lower ledger.retentionDays/,
    )
    const writtenWhenFull = t.ledger.status().written
    const queuedWhenFull = t.ledger.status().queued
    expect(recordMany(t, 100_000, 400)).toBeLessThan(NOT_BLOCKED_MS)
    expect(t.ledger.status()).toMatchObject({
      queued: 300,
      dropped: queuedWhenFull + 400 - 300,
      deferred: 300,
    })
    expect(
      await counterValue(t.registry, 'ehi_gateway_ledger_write_errors_total', { error: 'full' }),
    ).toBeGreaterThan(0)
    // Exactly one "degraded" line however many writes failed.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(stateLines(t).filter((l) => l.state === 'degraded')).toHaveLength(1)

    // Retention deletes the old records; the queued ones are written into the freed pages.
    expect(await t.ledger.prune()).toBe(writtenWhenFull)
    await eventually(() => t.ledger.status().state === 'ok' && t.ledger.status().queued === 0)
    expect(t.ledger.status().written).toBe(writtenWhenFull + 300)
    expect(stateLines(t).at(-1)).toMatchObject({ state: 'ok', msg: 'ledger recovered: writing again' })
  })
})

describe('a SQLite writer waiting for another process', () => {
  it('holds up the writer thread only: the event loop keeps turning and lookups keep answering', async () => {
    const file = join(dir, 'locked', 'ledger.db')
    // A busy timeout of 3 s: had the wait been on the event loop, the lag would show it.
    const t = await ledgerAt(`sqlite:${file}`, { writeTimeoutMs: 3000 })
    t.ledger.record(message({ txnId: '1' }))
    await t.ledger.flush()

    // Another process's write transaction, as a second gateway worker would hold it.
    const other = new DatabaseSync(file)
    other.exec('PRAGMA busy_timeout = 0; BEGIN EXCLUSIVE')
    let lag = 0
    let last = performance.now()
    const ticker = setInterval(() => {
      lag = Math.max(lag, performance.now() - last - 5)
      last = performance.now()
    }, 5)
    try {
      recordMany(t, 10, 20)
      await eventually(() => t.ledger.status().state === 'degraded', 10_000)
      expect(t.ledger.status().error).toMatchObject({ kind: 'timeout' })
      // The reader thread is not the writer: a fresh gateway's lookup reads the earlier record.
      const b = await ledgerAt(`sqlite:${file}`)
      expect(await b.ledger.lookup(query({ txnId: '1', attempt: 1 }))).toMatchObject({
        found: 'seen',
        source: 'store',
      })
    } finally {
      clearInterval(ticker)
      other.exec('ROLLBACK')
      other.close()
    }
    expect(lag).toBeLessThan(NOT_BLOCKED_MS)
    await eventually(() => t.ledger.status().state === 'ok' && t.ledger.status().queued === 0)
    expect(t.ledger.status().written).toBe(21)
  })
})

describe('a read-only data directory (a read-only bind mount)', () => {
  it.skipIf(!mounts)(
    `an existing ledger in a folder that became read-only: named readonly, records deferred, written once writable${mountNote}`,
    async () => {
      const folder = join(dir, 'readonly')
      mkdirSync(folder)
      const url = `sqlite:${join(folder, 'ledger.db')}`
      const config = { batchIntervalMs: 10, retryMaxMs: 200 }
      // A gateway ran here before (and made the ledger).
      const before = await runLedgerChild({
        url,
        config,
        steps: [
          { do: 'record', count: 10, txnFrom: 1 },
          { do: 'close', timeoutMs: 5000 },
        ],
      })
      expect(step(before.lines, 'close').status).toMatchObject({ written: 10 })

      // Then the folder is read-only when it starts (a read-only remount while the gateway writes
      // is refused by the kernel as busy, so the gateway only meets one at start or reopen).
      const { code, lines, stderr } = await runLedgerChild(
        {
          url,
          config,
          steps: [
            { do: 'record', count: 50, txnFrom: 100 },
            { do: 'lookup', txnFrom: 5000, count: 3 },
            { do: 'status' },
            { do: 'shell', command: ['mount', '-o', 'remount,bind,rw', folder] },
            { do: 'flush', timeoutMs: 10_000 },
            { do: 'close', timeoutMs: 2000 },
          ],
        },
        { setup: `mount --bind ${folder} ${folder}; mount -o remount,bind,ro ${folder}` },
      )
      expect(code, stderr).toBe(0)
      const opened = step(lines, 'open').status as { state: string; error: { kind: string; message: string } }
      expect(opened).toMatchObject({ state: 'degraded', error: { kind: 'readonly' } })
      expect(opened.error.message).toMatch(new RegExp(`cannot write ${folder}.*EROFS`))
      expect(step(lines, 'record').maxCallMs).toBeLessThan(NOT_BLOCKED_MS)
      expect(step(lines, 'lookup').maxMs).toBeLessThan(NOT_BLOCKED_MS)
      expect(step(lines, 'status').status).toMatchObject({ queued: 50, deferred: 50, written: 0 })
      expect(step(lines, 'shell').status).toBe(0)
      expect(step(lines, 'flush')).toMatchObject({
        empty: true,
        status: { state: 'ok', written: 50, dropped: 0 },
      })
      const logs = step(lines, 'end').logs as { event?: string; state?: string }[]
      expect(logs.filter((l) => l.event === 'ledger_state').map((l) => l.state)).toEqual([
        'degraded',
        'ok',
        'closed',
      ])
    },
    60_000,
  )

  it.skipIf(!mounts)(
    `a data directory read-only from the start: the ledger never opens, the caller is served${mountNote}`,
    async () => {
      const folder = join(dir, 'readonly-start')
      mkdirSync(folder)
      const { code, lines, stderr } = await runLedgerChild(
        {
          url: `sqlite:${join(folder, 'ledger.db')}`,
          config: { batchIntervalMs: 10, retryMaxMs: 200, queueSize: 100 },
          steps: [
            { do: 'record', count: 120, txnFrom: 1 },
            { do: 'status' },
            { do: 'close', timeoutMs: 200 },
          ],
        },
        { setup: `mount --bind ${folder} ${folder}; mount -o remount,bind,ro ${folder}` },
      )
      expect(code, stderr).toBe(0)
      expect(step(lines, 'open').status).toMatchObject({ state: 'degraded', error: { kind: 'readonly' } })
      expect(step(lines, 'record').maxCallMs).toBeLessThan(NOT_BLOCKED_MS)
      expect(step(lines, 'status').status).toMatchObject({ queued: 100, dropped: 20 })
      expect(step(lines, 'close').status).toMatchObject({ state: 'closed', dropped: 120 })
      expect(existsSync(join(folder, 'ledger.db'))).toBe(false)
    },
  )
})

describe('a full disk (an 8 MiB tmpfs)', () => {
  it.skipIf(!mounts)(
    `named full; records deferred; written once space is freed${mountNote}`,
    async () => {
      const folder = join(dir, 'tmpfs')
      mkdirSync(folder)
      const { code, lines, stderr } = await runLedgerChild(
        {
          url: `sqlite:${join(folder, 'ledger.db')}`,
          config: { batchIntervalMs: 10, retryMaxMs: 200, queueSize: 50_000 },
          steps: [
            { do: 'record', count: 10, txnFrom: 1 },
            { do: 'flush', timeoutMs: 5000 },
            // Leave about 200 KiB: the 3000 records below need several times that.
            { do: 'fill', path: join(folder, 'filler'), bytes: 8 * 1024 * 1024 - 400 * 1024 },
            { do: 'record', count: 3000, txnFrom: 1000 },
            { do: 'waitState', state: 'degraded', timeoutMs: 10_000 },
            { do: 'rm', path: join(folder, 'filler') },
            { do: 'flush', timeoutMs: 20_000 },
            { do: 'close', timeoutMs: 2000 },
          ],
        },
        { setup: `mount -t tmpfs -o size=8m tmpfs ${folder}` },
      )
      expect(code, stderr).toBe(0)
      expect(step(lines, 'fill').ok).toBe(true)
      expect(step(lines, 'record', 1).maxCallMs).toBeLessThan(NOT_BLOCKED_MS)
      expect(step(lines, 'waitState').status).toMatchObject({ state: 'degraded', error: { kind: 'full' } })
      const done = step(lines, 'flush', 1)
      expect(done).toMatchObject({ empty: true, status: { state: 'ok', written: 3010, dropped: 0 } })
      expect((done.status as { deferred: number }).deferred).toBeGreaterThan(0)
      // The loop stayed free while the writer thread hit ENOSPC.
      expect(step(lines, 'flush', 1).maxLagMs).toBeLessThan(NOT_BLOCKED_MS)
    },
    60_000,
  )
})

describe('PostgreSQL', () => {
  let pg: PgCluster
  beforeAll(async () => {
    pg = await startPostgres(inject('pgRegistry'))
  })
  afterAll(() => pg?.destroy())

  it('restarted mid-run: records wait, lookups answer "unknown" within their budget, nothing is lost or doubled', async () => {
    const url = await pg.createDatabase('restart')
    const t = await ledgerAt(url, { lookupTimeoutMs: 20 })
    recordMany(t, 1, 100)
    await t.ledger.flush()
    pg.stopServer()
    try {
      expect(recordMany(t, 1000, 200)).toBeLessThan(NOT_BLOCKED_MS)
      await eventually(() => t.ledger.status().state === 'degraded')
      expect(t.ledger.status().error!.kind).toBe('unavailable')
      const t0 = performance.now()
      const lookups = await Promise.all(
        Array.from({ length: 20 }, (_, i) => t.ledger.lookup(query({ txnId: String(50_000 + i) }))),
      )
      expect(performance.now() - t0).toBeLessThan(NOT_BLOCKED_MS)
      expect(new Set(lookups.map((l) => l.found))).toEqual(new Set(['unknown']))
      recordMany(t, 2000, 100)
      await new Promise((resolve) => setTimeout(resolve, 500))
    } finally {
      pg.startServer()
    }
    await eventually(() => t.ledger.status().state === 'ok' && t.ledger.status().queued === 0, 20_000)
    const rows = await pg.query(
      'SELECT count(*)::int AS n, count(DISTINCT request_id)::int AS d FROM ledger_messages',
      'restart',
    )
    expect(rows[0]).toEqual({ n: 400, d: 400 })
    expect(t.ledger.status()).toMatchObject({ written: 400, dropped: 0 })
    expect(t.ledger.status().deferred).toBeGreaterThanOrEqual(300)
    expect(
      stateLines(t).map((l) => l.state),
      JSON.stringify(stateLines(t)),
    ).toEqual(['ok', 'degraded', 'ok'])
    expect(stateLines(t)[1]!.error).toMatchObject({ kind: 'unavailable' })
  })

  it('down at start: the ledger opens degraded without delaying the start, and catches up', async () => {
    const url = await pg.createDatabase('late')
    pg.stopServer()
    let t: TestLedger
    try {
      const t0 = performance.now()
      t = await ledgerAt(url)
      expect(performance.now() - t0).toBeLessThan(5000)
      expect(t.ledger.status()).toMatchObject({ state: 'degraded', error: { kind: 'unavailable' } })
      recordMany(t, 1, 30)
    } finally {
      pg.startServer()
    }
    await eventually(() => t.ledger.status().state === 'ok' && t.ledger.status().queued === 0, 20_000)
    expect((await pg.query('SELECT count(*)::int AS n FROM ledger_messages', 'late'))[0]).toEqual({ n: 30 })
  })

  it('slow (a table lock): writes count as failing past the write timeout, lookups time out, all is written once', async () => {
    const url = await pg.createDatabase('slow')
    const t = await ledgerAt(url, { writeTimeoutMs: 300, lookupTimeoutMs: 15 })
    recordMany(t, 1, 10)
    await t.ledger.flush()
    const client = new (await import('pg')).default.Client({ connectionString: pg.url('slow') })
    await client.connect()
    await client.query('BEGIN')
    await client.query('LOCK TABLE ledger_messages IN ACCESS EXCLUSIVE MODE')
    try {
      recordMany(t, 100, 20)
      await eventually(() => t.ledger.status().state === 'degraded', 5000)
      expect(t.ledger.status().error!.kind).toBe('timeout')
      const t0 = performance.now()
      expect(await t.ledger.lookup(query({ txnId: '55555' }))).toMatchObject({
        found: 'unknown',
        unknownReason: 'timeout',
      })
      expect(performance.now() - t0).toBeLessThan(NOT_BLOCKED_MS)
    } finally {
      await client.query('ROLLBACK')
      await client.end()
    }
    await eventually(() => t.ledger.status().state === 'ok' && t.ledger.status().queued === 0, 20_000)
    expect((await pg.query('SELECT count(*)::int AS n FROM ledger_messages', 'slow'))[0]).toEqual({ n: 30 })
  })

  it('closed while down: what is left is dropped, counted and logged once, without waiting past the deadline', async () => {
    const url = await pg.createDatabase('closing')
    const t = await ledgerAt(url)
    pg.stopServer()
    try {
      recordMany(t, 1, 25)
      const t0 = performance.now()
      await t.ledger.close(300)
      expect(performance.now() - t0).toBeLessThan(2000)
    } finally {
      pg.startServer()
    }
    expect(t.ledger.status()).toMatchObject({ state: 'closed', dropped: 25 })
    expect(
      await counterValue(t.registry, 'ehi_gateway_ledger_records_dropped_total', { cause: 'shutdown' }),
    ).toBe(25)
    expect(t.lines.filter((l) => l.event === 'ledger_unwritten_at_shutdown')).toHaveLength(1)
  })
})
