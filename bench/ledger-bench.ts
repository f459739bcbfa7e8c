/**
 * The ledger's write path alone, per engine: how many records a second one gateway process
 * writes (SQLite on its writer thread, PostgreSQL over loopback), what record() costs the event
 * loop per message, the process CPU per record (all threads), and the disk footprint scaled to a
 * million messages. Not part of `npm run bench` (which measures the gateway end to end).
 *
 *   node bench/ledger-bench.ts [--records N] [--engines sqlite,postgres]
 *
 * PostgreSQL is a throwaway cluster from Debian's package (test/support/postgres.ts), run as root.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { message, openTestLedger } from '../test/support/ledger.ts'
import { startPostgres, type PgCluster } from '../test/support/postgres.ts'
import { defineCommand, scriptArguments, usageError } from '../src/cli/command-line.ts'

const LEDGER_BENCH = defineCommand({
  name: 'ledger-bench',
  program: 'node bench/ledger-bench.ts',
  synopsis: '[options]',
  summary: "The ledger's write path alone, per engine",
  description: `Writes records through the message ledger per engine and prints records/s, what record() costs the event loop per call, the process CPU per record and the disk footprint per million messages (docs/ledger.md). PostgreSQL is a throwaway cluster from Debian's package, run as root.`,
  options: {
    records: { type: 'string', value: 'N', default: '1000000', help: 'Records to write per engine.' },
    engines: {
      type: 'string',
      value: 'LIST',
      default: 'sqlite,postgres',
      help: 'Engines: sqlite, postgres.',
    },
  },
})

function ledgerBenchOptions(args: readonly string[]): { records: number; engines: string[] } {
  return scriptArguments(LEDGER_BENCH, args, ({ values }) => {
    const records = Number(values.records)
    if (!Number.isInteger(records) || records < 1)
      throw usageError(LEDGER_BENCH, `--records: a whole number from 1, not ${values.records}`)
    const engines = values.engines.split(',')
    const unknown = engines.find((e) => e !== 'sqlite' && e !== 'postgres')
    if (unknown !== undefined)
      throw usageError(LEDGER_BENCH, `--engines: unknown engine ${unknown} (sqlite, postgres)`)
    return { records, engines }
  })
}

const { records: RECORDS, engines } = ledgerBenchOptions(process.argv.slice(2))

/** A realistic mix: mostly authorisations with their advices and presentments, some resends. */
function spec(i: number) {
  const txnId = String(4_000_000_000 + i)
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
      return { txnId, mtid: '0100', type: 'A', cls: 'decision', responseStatus: '00' }
    case 4:
    case 5:
      return { txnId, mtid: '0120', type: 'J', cls: 'advice' }
    case 6:
    case 7:
      return { txnId, mtid: '1240', type: 'P', cls: 'financial' }
    case 8:
      return { txnId, mtid: '0400', type: 'D', cls: 'reversal', responseStatus: '00' }
    default:
      return { txnId: String(4_000_000_000 + i - 1), mtid: '0400', type: 'D', cls: 'reversal', attempt: 1 }
  }
}

function sizeOf(path: string): number {
  const st = statSync(path)
  if (!st.isDirectory()) return st.size
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0)
}

interface Result {
  engine: string
  records: number
  seconds: number
  perSecond: number
  recordCallUs: number
  cpuUsPerRecord: number
  bytes: number
  bytesPerMillion: number
}

async function run(engine: string, pg: PgCluster | undefined): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ledger-bench-'))
  const url =
    engine === 'sqlite' ? `sqlite:${join(dir, 'ledger.db')}` : await pg!.createDatabase(`bench_${Date.now()}`)
  // The defaults (batch 200, interval 200 ms, queue 20 000): the gateway's own settings.
  const t = await openTestLedger(url, { retentionDays: 0, cacheEntries: 20_000 })
  const events = Array.from({ length: 1000 }, (_, i) => message(spec(i)))
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let callNs = 0n
  for (let i = 0; i < RECORDS; i++) {
    const e = events[i % 1000]!
    const s = spec(i)
    e.requestId = crypto.randomUUID()
    ;(e.fields as Record<string, string>).TXn_ID = s.txnId
    const c0 = process.hrtime.bigint()
    t.ledger.record(e)
    callNs += process.hrtime.bigint() - c0
    // Keep the queue below its bound: the question is what the store absorbs, not what is dropped.
    if (t.ledger.status().queued > 15_000)
      while (t.ledger.status().queued > 5_000) await new Promise((r) => setTimeout(r, 5))
  }
  await t.ledger.flush(600_000)
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const status = t.ledger.status()
  await t.ledger.close()
  if (status.dropped > 0 || status.written !== RECORDS)
    throw new Error(`${engine}: ${JSON.stringify(status)}`)
  let bytes: number
  if (engine === 'sqlite') bytes = sizeOf(dir)
  else {
    const db = new URL(url).pathname.slice(1)
    await pg!.query('VACUUM ANALYZE ledger_messages', db)
    const rows = await pg!.query(
      "SELECT sum(pg_total_relation_size(c.oid))::bigint AS b FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'ledger%'",
      db,
    )
    bytes = Number(rows[0]!.b)
  }
  rmSync(dir, { recursive: true, force: true })
  return {
    engine,
    records: RECORDS,
    seconds,
    perSecond: RECORDS / seconds,
    recordCallUs: Number(callNs / BigInt(RECORDS)) / 1000,
    cpuUsPerRecord: (cpu.user + cpu.system) / RECORDS,
    bytes,
    bytesPerMillion: (bytes / RECORDS) * 1_000_000,
  }
}

const results: Result[] = []
let pg: PgCluster | undefined
try {
  if (engines.includes('postgres')) pg = await startPostgres()
  for (const engine of engines) {
    process.stderr.write(`ledger bench: ${engine}, ${RECORDS} records...\n`)
    results.push(await run(engine, pg))
  }
} finally {
  pg?.destroy()
}
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`
process.stdout.write(
  [
    '| engine | records | records/s | record() per call | process CPU per record | disk | per million |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.engine} | ${r.records} | ${Math.round(r.perSecond)} | ${r.recordCallUs.toFixed(2)} µs | ${r.cpuUsPerRecord.toFixed(1)} µs | ${mb(r.bytes)} | ${mb(r.bytesPerMillion)} |`,
    ),
    '',
  ].join('\n'),
)
