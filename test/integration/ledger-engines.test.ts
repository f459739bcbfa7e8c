/**
 * The ledger against both real engines: a SQLite file in a temporary folder and a throwaway
 * PostgreSQL cluster (test/support/postgres.ts). Every behaviour runs on each; nothing is mocked.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { DatabaseSync } from 'node:sqlite'
import { createStore } from '../../src/ledger/ledger-settings.ts'
import type { LedgerStore } from '../../src/ledger/store.ts'
import { getTransactionAnswer } from '../../src/plane/ehi/ehi-answers.ts'
import { startPostgres, type PgCluster } from '../support/postgres.ts'
import {
  counterValue,
  cutoff,
  message,
  openTestLedger,
  query,
  settingsFor,
  type TestLedger,
} from '../support/ledger.ts'
import { eventually } from '../support/wait.ts'

const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ledger-'))
let pg: PgCluster
const open: TestLedger[] = []
const stores: LedgerStore[] = []

beforeAll(async () => {
  pg = await startPostgres(inject('pgRegistry'))
})
afterAll(async () => {
  try {
    await Promise.all(open.map((t) => t.ledger.close(1000)))
    await Promise.all(stores.map((s) => s.close()))
  } finally {
    pg?.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
})

let n = 0
/** A fresh, empty ledger location of the engine. */
async function freshUrl(engine: 'sqlite' | 'postgres'): Promise<string> {
  n++
  if (engine === 'sqlite') return `sqlite:${join(dir, `ledger-${n}`, 'ledger.db')}`
  return pg.createDatabase(`ledger_${n}`)
}

async function ledgerAt(url: string, overrides: Parameters<typeof openTestLedger>[1] = {}) {
  // Store reads get 1 s, not the 10 ms request-path default (the bench measures that): on a
  // loaded machine a read can outlast 10 ms and the lookup answers unknown.
  const t = await openTestLedger(url, { batchIntervalMs: 10, lookupTimeoutMs: 1000, ...overrides })
  open.push(t)
  return t
}

/** The store as the operator tools read it (no threads, no migration). */
async function reader(url: string): Promise<LedgerStore> {
  const store = createStore(settingsFor(url), { threaded: false, create: false })
  await store.open({ migrate: false })
  stores.push(store)
  return store
}

const ACK = getTransactionAnswer({ Acknowledgement: '1', CurBalance: 10, AvlBalance: 10 }, 'xml')

describe.each(['sqlite', 'postgres'] as const)('ledger on %s', (engine) => {
  it('records every attempt with its answer, timings and resend link, readable by TXn_ID', async () => {
    const url = await freshUrl(engine)
    const { ledger } = await ledgerAt(url)
    expect(ledger.status()).toMatchObject({ state: 'ok', schemaVersion: 1 })
    const first = message({ txnId: '9000000001', ack: '0', synthesized: true })
    ledger.record(first)
    const second = message({ txnId: '9000000001', attempt: 1 })
    ledger.record(second)
    expect(await ledger.flush()).toBe(true)

    const rows = await (await reader(url)).byTxnId('9000000001')
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatchObject({
      request_id: first.requestId,
      txn_id: '9000000001',
      mtid: '0120',
      txn_type: 'J',
      class: 'advice',
      outcome: 'synthesized',
      synthesized: 1,
      acknowledgement: '0',
      product_id: '9001',
      sending_attempt: 0,
      instance: 'test-gw',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      client_serial: '1A2B3C',
      token_hash: 'AbCdEfGhIjKlMnOpQrStUv',
      resend: 0,
      resend_of: null,
    })
    expect(rows[0]!.arrived_at).toBe(first.arrivedAt)
    expect(rows[0]!.host_ms).toBeCloseTo(1.5)
    expect(rows[1]).toMatchObject({
      request_id: second.requestId,
      outcome: 'host_answer',
      acknowledgement: '1',
      sending_attempt: 1,
      resend: 1,
      resend_of: first.requestId,
    })
  })

  it('recognises a resend: from the cache, and from the store in another gateway', async () => {
    const url = await freshUrl(engine)
    const a = await ledgerAt(url)
    expect(await a.ledger.lookup(query({ txnId: '42' }))).toMatchObject({ found: 'new', resend: false })
    const first = message({ txnId: '42', responseStatus: '00' })
    a.ledger.record(first)
    const fromCache = await a.ledger.lookup(query({ txnId: '42', attempt: 1 }))
    expect(fromCache).toMatchObject({
      found: 'seen',
      resend: true,
      source: 'cache',
      attempts: 1,
      first: { requestId: first.requestId, answer: { outcome: 'host_answer', acknowledgement: '1' } },
    })
    await a.ledger.flush()

    // A second gateway (its own process in production) has never seen the message itself.
    const b = await ledgerAt(url)
    const fromStore = await b.ledger.lookup(query({ txnId: '42', attempt: 1 }))
    expect(fromStore).toMatchObject({
      found: 'seen',
      source: 'store',
      first: { requestId: first.requestId, answer: { status: 200, responseStatus: '00' } },
    })
    // A follow-up advice after Thredd's own decision is another message.
    expect(await b.ledger.lookup(query({ txnId: '42', abg: 'Y', stat: 'I' }))).toMatchObject({ found: 'new' })
    expect(await counterValue(b.registry, 'ehi_gateway_ledger_lookups_total', { found: 'seen' })).toBe(1)
  })

  it('forgets the oldest keys past ledger.cacheEntries and finds them in the store instead', async () => {
    const { ledger } = await ledgerAt(await freshUrl(engine), { cacheEntries: 2 })
    for (const txnId of ['1', '2', '3']) ledger.record(message({ txnId }))
    await ledger.flush()
    expect(await ledger.lookup(query({ txnId: '3' }))).toMatchObject({ found: 'seen', source: 'cache' })
    expect(await ledger.lookup(query({ txnId: '1' }))).toMatchObject({ found: 'seen', source: 'store' })
  })

  it('says unknown (never waits, never fails) without a usable key, and marks SendingAttemptCount >= 1', async () => {
    const { ledger } = await ledgerAt(await freshUrl(engine))
    expect(await ledger.lookup({ fields: { MTID: '0100', SendingAttemptCount: '2' } })).toEqual({
      found: 'unknown',
      resend: true,
      unknownReason: 'no_key',
    })
  })

  it("replays only the host's own acknowledgement of an acknowledgement-type message", async () => {
    const url = await freshUrl(engine)
    const a = await ledgerAt(url, { replayAcknowledged: true })
    expect(a.ledger.storesAnswers).toBe(true)
    a.ledger.record(message({ txnId: '1', hostAnswerBody: ACK }))
    a.ledger.record(message({ txnId: '2', cls: 'decision', mtid: '0100', type: 'A', hostAnswerBody: ACK }))
    a.ledger.record(message({ txnId: '3', ack: '0', hostAnswerBody: ACK }))
    a.ledger.record(message({ txnId: '4', synthesized: true, hostAnswerBody: ACK }))
    await a.ledger.flush()

    const b = await ledgerAt(url, { replayAcknowledged: true })
    const replay = await b.ledger.lookup(query({ txnId: '1', attempt: 1 }))
    expect(replay.replay).toMatchObject({ status: 200, contentType: 'text/xml; charset=utf-8' })
    expect(replay.replay!.body.toString()).toBe(ACK)
    const decision = await b.ledger.lookup(
      query({ txnId: '2', cls: 'decision', mtid: '0100', type: 'A', attempt: 1 }),
    )
    expect(decision.found).toBe('seen')
    expect(decision.replay).toBeUndefined()
    expect((await b.ledger.lookup(query({ txnId: '3', attempt: 1 }))).replay).toBeUndefined()
    expect((await b.ledger.lookup(query({ txnId: '4', attempt: 1 }))).replay).toBeUndefined()
    // The stored answer is XML: a JSON resend of the key is not answered with it.
    expect((await b.ledger.lookup(query({ txnId: '1', format: 'json' }))).replay).toBeUndefined()

    // Off: the same traffic keeps no answer at all.
    const off = await ledgerAt(await freshUrl(engine))
    expect(off.ledger.storesAnswers).toBe(false)
    off.ledger.record(message({ txnId: '1', hostAnswerBody: ACK }))
    expect((await off.ledger.lookup(query({ txnId: '1', attempt: 1 }))).replay).toBeUndefined()
  })

  it('reconciles a Cut_Off: a match, and a planted mismatch with the TXn_IDs that differ', async () => {
    const url = await freshUrl(engine)
    const t = await ledgerAt(url, { reconcileDelayMs: 0 })
    t.ledger.record(message({ txnId: '101', mtid: '0100', type: 'A', cls: 'decision', responseStatus: '00' }))
    t.ledger.record(message({ txnId: '102', ack: '0', synthesized: true }))
    t.ledger.record(message({ txnId: '102', attempt: 1 }))
    t.ledger.record(message({ txnId: '103', mtid: '1240', type: 'P', cls: 'financial' }))
    t.ledger.record(message({ txnId: '104', mtid: '', type: 'L', cls: 'other', ack: '0', synthesized: true }))
    t.ledger.record(message({ txnId: '999', mtid: '', type: 'L', cls: 'other' })) // outside the range
    t.ledger.record(cutoff('7000000001', '100', '200', [2, 0, 1, 0, 0, 1, 0, 0]))
    // Thredd counts the load as acknowledged: the planted mismatch.
    t.ledger.record(cutoff('7000000002', '100', '200', [2, 0, 1, 0, 1, 0, 0, 0]))
    await t.ledger.flush()
    await eventually(
      async () => (await counterValue(t.registry, 'ehi_gateway_ledger_cutoff_reconciliations_total')) === 2,
    )
    expect(
      await counterValue(t.registry, 'ehi_gateway_ledger_cutoff_reconciliations_total', { verdict: 'match' }),
    ).toBe(1)

    const store = await reader(url)
    expect((await store.cutoff('7000000001'))?.verdict).toBe('match')
    const planted = await store.cutoff('7000000002')
    expect(planted).toMatchObject({ verdict: 'mismatch', first_txn_id: '100', last_txn_id: '200' })
    expect(planted!.detail!.differing).toEqual([{ category: 'loadsUnloads', txnIds: ['104'] }])
    expect(planted!.detail!.categories.find((c) => c.category === 'loadsUnloads')).toMatchObject({
      thredd: { acknowledged: 1, notAcknowledged: 0 },
      ledger: { acknowledged: 0, notAcknowledged: 1 },
    })
    expect(t.lines.some((l) => l.event === 'ledger_cutoff_reconciled' && l.verdict === 'mismatch')).toBe(true)
  })

  it('deletes records older than the retention, keeps the rest', async () => {
    const url = await freshUrl(engine)
    const t = await ledgerAt(url, { retentionDays: 30, replayAcknowledged: true })
    const old = Date.now() - 31 * 86_400_000
    for (let i = 0; i < 5; i++)
      t.ledger.record(message({ txnId: `${500 + i}`, arrivedAt: old, hostAnswerBody: ACK }))
    t.ledger.record(message({ txnId: '600' }))
    await t.ledger.flush()
    expect(await t.ledger.prune()).toBe(5)
    const store = await reader(url)
    expect(await store.byTxnId('500')).toEqual([])
    expect(await store.byTxnId('600')).toHaveLength(1)
    expect(await counterValue(t.registry, 'ehi_gateway_ledger_pruned_records_total')).toBe(5)
  })

  it('migrates once: a second gateway finds the schema current', async () => {
    const url = await freshUrl(engine)
    const a = await ledgerAt(url)
    const b = await ledgerAt(url)
    expect([a.ledger.status().state, b.ledger.status().state]).toEqual(['ok', 'ok'])
    expect(a.lines.some((l) => l.event === 'ledger_migrated')).toBe(true)
    expect(b.lines.some((l) => l.event === 'ledger_migrated')).toBe(false)
    expect(await (await reader(url)).schemaVersion()).toBe(1)
  })

  it('refuses a schema from a newer gateway and never writes to it', async () => {
    const url = await freshUrl(engine)
    const first = await ledgerAt(url)
    await first.ledger.close()
    const fingerprint = await plantNewerSchema(engine, url)

    const t = await ledgerAt(url, { retryMaxMs: 200 })
    expect(t.ledger.status()).toMatchObject({ state: 'failed', error: { kind: 'schema' } })
    expect(t.ledger.status().error!.message).toMatch(/version 99, newer than this ehi-gateway knows \(1\)/)
    const line = t.lines.find((l) => l.event === 'ledger_state' && l.state === 'failed')
    expect(line?.level).toBe('error')
    t.ledger.record(message({ txnId: '77' }))
    expect(await t.ledger.lookup(query({ txnId: '77' }))).toMatchObject({ found: 'seen', source: 'cache' })
    await new Promise((resolve) => setTimeout(resolve, 600)) // several retries
    expect(t.ledger.status().state).toBe('failed')
    expect(await fingerprint()).toBe(true)
  })
})

/** Records schema version 99 as a newer gateway would; returns a check that nothing changed since. */
async function plantNewerSchema(engine: 'sqlite' | 'postgres', url: string): Promise<() => Promise<boolean>> {
  if (engine === 'sqlite') {
    const file = url.slice('sqlite:'.length)
    const db = new DatabaseSync(file)
    db.exec("INSERT INTO ledger_schema (version, applied_at, description) VALUES (99, 0, 'from the future')")
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    db.close()
    const hash = () => createHash('sha256').update(readFileSync(file)).digest('hex')
    const before = hash()
    return async () => hash() === before
  }
  const database = new URL(url).pathname.slice(1)
  await pg.query("INSERT INTO ledger_schema (version, description) VALUES (99, 'from the future')", database)
  const snapshot = async () =>
    JSON.stringify(
      await pg.query(
        "SELECT (SELECT count(*) FROM ledger_messages) AS m, (SELECT count(*) FROM ledger_schema) AS s, (SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public') AS t",
        database,
      ),
    )
  const before = await snapshot()
  return async () => (await snapshot()) === before
}
