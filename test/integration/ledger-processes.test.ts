/**
 * Several gateway processes on one ledger, as cluster workers or replicas run: each process has
 * its own ledger (queue, threads or pools). On SQLite they share one WAL-mode file, taking turns
 * for the write lock within the busy timeout; on PostgreSQL they share one database. Either way
 * every record of both is kept once, and each recognises the other's messages as resends.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startPostgres, type PgCluster } from '../support/postgres.ts'
import { runLedgerChild, type ChildLine } from '../support/ledger.ts'

const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ledger-procs-'))
let pg: PgCluster
beforeAll(async () => {
  pg = await startPostgres(inject('pgRegistry'))
})
afterAll(() => {
  try {
    pg?.destroy()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

const step = (lines: ChildLine[], name: string) => lines.find((l) => l.step === name)!
// Small batches written often: as many lock hand-overs between the two writers as possible.
const CONFIG = { batchSize: 20, batchIntervalMs: 10 }
const PER_PROCESS = 2000

/** Two writers at once, then a third process that looks up a sample of each one's messages. */
async function twoWritersThenReader(url: string) {
  const writer = (name: string, txnFrom: number) =>
    runLedgerChild({
      url,
      config: CONFIG,
      instance: name,
      steps: [
        { do: 'record', count: PER_PROCESS, txnFrom, everyMs: 1 },
        { do: 'flush', timeoutMs: 30_000 },
        { do: 'close', timeoutMs: 5000 },
      ],
    })
  const [a, b] = await Promise.all([writer('gw-a', 1_000_000), writer('gw-b', 2_000_000)])
  const reader = await runLedgerChild({
    url,
    config: CONFIG,
    steps: [
      { do: 'lookup', txnFrom: 1_000_000, count: 5, spec: { attempt: 1 } },
      { do: 'lookup', txnFrom: 2_000_000 + PER_PROCESS - 5, count: 5, spec: { attempt: 1 } },
      { do: 'close', timeoutMs: 1000 },
    ],
  })
  return { a, b, reader }
}

function expectBothKept(run: Awaited<ReturnType<typeof twoWritersThenReader>>) {
  for (const w of [run.a, run.b]) {
    expect(w.code, w.stderr).toBe(0)
    // Nothing on stderr: no ExperimentalWarning from node:sqlite (loadSqlite filters it on the
    // Node 24 releases that print it), no driver noise.
    expect(w.stderr).toBe('')
    expect(step(w.lines, 'flush')).toMatchObject({
      empty: true,
      status: { state: 'ok', written: PER_PROCESS, deferred: 0, dropped: 0 },
    })
  }
  const lookups = run.reader.lines.filter((l) => l.step === 'lookup') as unknown as {
    results: { found: string; source: string; first: string }[]
  }[]
  const firstOfA = step(run.a.lines, 'record').firstId
  expect(lookups[0]!.results.map((r) => [r.found, r.source])).toEqual(Array(5).fill(['seen', 'store']))
  expect(lookups[0]!.results[0]!.first).toBe(firstOfA)
  expect(lookups[1]!.results.map((r) => r.found)).toEqual(Array(5).fill('seen'))
}

describe('two processes on one ledger', () => {
  it('SQLite (WAL, busy timeout): both write at once, every record kept once, each sees the other', async () => {
    const file = join(dir, 'shared', 'ledger.db')
    const run = await twoWritersThenReader(`sqlite:${file}`)
    expectBothKept(run)
    const db = new DatabaseSync(file, { readOnly: true })
    try {
      expect(
        db.prepare('SELECT instance, count(*) AS n FROM ledger_messages GROUP BY instance ORDER BY 1').all(),
      ).toEqual([
        { instance: 'gw-a', n: PER_PROCESS },
        { instance: 'gw-b', n: PER_PROCESS },
      ])
    } finally {
      db.close()
    }
  }, 120_000)

  it('PostgreSQL: both write at once, every record kept once, each sees the other', async () => {
    const url = await pg.createDatabase('shared')
    const run = await twoWritersThenReader(url)
    expectBothKept(run)
    expect(
      await pg.query(
        'SELECT instance, count(*)::int AS n FROM ledger_messages GROUP BY instance ORDER BY 1',
        'shared',
      ),
    ).toEqual([
      { instance: 'gw-a', n: PER_PROCESS },
      { instance: 'gw-b', n: PER_PROCESS },
    ])
  }, 120_000)

  it("PostgreSQL: a resend reaching the other replica is recognised with the first replica's request id", async () => {
    const url = await pg.createDatabase('replicas')
    const first = await runLedgerChild({
      url,
      instance: 'replica-1',
      steps: [
        { do: 'record', count: 1, txnFrom: 9000000001, spec: { attempt: 0, ack: '0', synthesized: true } },
        { do: 'close', timeoutMs: 5000 },
      ],
    })
    expect(first.code, first.stderr).toBe(0)
    const second = await runLedgerChild({
      url,
      instance: 'replica-2',
      steps: [
        { do: 'lookup', txnFrom: 9000000001, count: 1, spec: { attempt: 1 } },
        { do: 'close', timeoutMs: 1000 },
      ],
    })
    expect(second.code, second.stderr).toBe(0)
    expect(step(second.lines, 'lookup').results).toEqual([
      { found: 'seen', source: 'store', first: step(first.lines, 'record').firstId },
    ])
  })
})
