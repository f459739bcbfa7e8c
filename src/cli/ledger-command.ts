/**
 * `ehi-gateway ledger <migrate|show|tail|export|stats|reconcile>`: the operator's view of the
 * message ledger, from the same configuration as `serve` (--config FILE or EHI_GATEWAY_CONFIG,
 * EHI_GATEWAY_LEDGER__URL...). Read commands never create, migrate or change the ledger.
 *
 * Exit codes: 0 ok; 1 at run time (store unreachable, nothing found, a Cut_Off that does not
 * match); 2 usage or configuration, with one line saying what is wrong.
 */
import { once } from 'node:events'
import { createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs'
import { hasIssueUnder, loadConfig, resolveSqliteUrl } from '../config/load-config.ts'
import { reconcileCutoff } from '../ledger/rules/cutoff-reconcile.ts'
import { createStore, ledgerSettings } from '../ledger/ledger-settings.ts'
import {
  CSV_COLUMNS,
  csvLine,
  csvRow,
  exportRow,
  parseTime,
  renderAttempts,
  renderReconciliation,
  renderStats,
  statsJson,
  tailLine,
} from '../ledger/rules/render.ts'
import type { LedgerStore } from '../ledger/store.ts'
import {
  defineCommand,
  parseCommand,
  usageError,
  type CommandSpec,
  type OptionTable,
} from './command-line.ts'

const COMMON = {
  config: {
    type: 'string',
    short: 'c',
    value: 'FILE',
    help: "The gateway's configuration, whose ledger section says where the ledger is. Default: the file EHI_GATEWAY_CONFIG names.",
  },
  url: {
    type: 'string',
    value: 'URL',
    help: 'The ledger to read instead (sqlite:/path/ledger.db or postgres://...).',
  },
} as const satisfies OptionTable

const TIME = 'TIME: an ISO 8601 time (2026-11-27T10:00:00Z) or a time ago (30m, 2h, 7d).'

/** `ehi-gateway ledger <command>`, each with its options (tested: every option is in its help). */
export const LEDGER = {
  migrate: defineCommand({
    name: 'ledger migrate',
    synopsis: '[options]',
    summary: 'Create the ledger or bring its schema to this version.',
    description: `Creates the ledger (SQLite: the file and its folder) or brings its schema to this version.
The gateway does the same at start; run it ahead of a rollout to see the result. A schema newer
than this ehi-gateway is refused and left untouched.`,
    options: { ...COMMON },
  }),
  show: defineCommand({
    name: 'ledger show',
    synopsis: '<TXn_ID> [options]',
    summary: 'Every message the ledger holds with one TXn_ID.',
    description: `Every message the ledger holds with this TXn_ID (each attempt, follow-up advices,
resends): its arrival, answer (host or gateway-made), reason, timings, request id, trace id,
client certificate and gateway. Exit 1 when there is none.`,
    options: { json: { type: 'boolean', help: 'One JSON object per message, one per line.' }, ...COMMON },
    maxPositionals: 1,
  }),
  tail: defineCommand({
    name: 'ledger tail',
    synopsis: '[options]',
    summary: 'The latest messages, then new ones as they arrive.',
    description: 'Prints the latest messages, one line each, then follows new ones until Ctrl-C.',
    options: {
      lines: {
        type: 'string',
        short: 'n',
        value: 'N',
        default: '10',
        help: 'How many of the latest to print first.',
      },
      follow: {
        type: 'boolean',
        default: true,
        negatable: true,
        help: 'Keep following new messages (the default); --no-follow prints the latest and stops.',
      },
      interval: {
        type: 'string',
        value: 'MS',
        default: '1000',
        help: 'How often to look for new messages when following.',
      },
      json: { type: 'boolean', help: 'JSON lines instead of text.' },
      ...COMMON,
    },
  }),
  export: defineCommand({
    name: 'ledger export',
    synopsis: '--since TIME [options]',
    summary: 'Every message from a time on, as JSON lines or CSV.',
    description: `Writes every message that arrived from TIME on, oldest first.\n\n${TIME}`,
    options: {
      since: { type: 'string', value: 'TIME', help: 'From this time (required).' },
      until: { type: 'string', value: 'TIME', help: 'Up to (not including) this time. Default: now.' },
      format: {
        type: 'string',
        value: 'jsonl|csv',
        default: 'jsonl',
        help: 'JSON lines, or CSV with a header line.',
      },
      output: {
        type: 'string',
        short: 'o',
        value: 'FILE',
        help: 'Write to FILE instead of standard output.',
      },
      ...COMMON,
    },
  }),
  stats: defineCommand({
    name: 'ledger stats',
    synopsis: '[options]',
    summary: 'Messages by class and outcome, with acknowledgements and resends.',
    description: `Messages by class and outcome, with acknowledgements and resends.\n\n${TIME}`,
    options: {
      since: { type: 'string', value: 'TIME', default: '24h', help: 'From this time.' },
      until: { type: 'string', value: 'TIME', help: 'Up to this time. Default: now.' },
      json: { type: 'boolean', help: 'JSON instead of a table.' },
      ...COMMON,
    },
  }),
  reconcile: defineCommand({
    name: 'ledger reconcile',
    synopsis: '--cutoff <CutoffID> [options]',
    summary: "Compare a Cut_Off's counters with the messages in the ledger.",
    description: `Compares a Cut_Off's counters (acknowledged / not acknowledged per category, for its
TXn_ID range) with the messages in the ledger now, and lists the TXn_IDs that may explain a
difference. Read-only: the gateway records its own comparison when the Cut_Off arrives. Exit 0
when they match, 1 otherwise.`,
    options: {
      cutoff: { type: 'string', value: 'ID', help: 'The CutoffID (required).' },
      limit: { type: 'string', value: 'N', default: '100', help: 'List at most N TXn_IDs per category.' },
      json: { type: 'boolean', help: 'JSON instead of text.' },
      ...COMMON,
    },
  }),
}

export type LedgerCommand = keyof typeof LEDGER

type Out = (text: string) => void

class Usage extends Error {}

/** Runs `ehi-gateway ledger <sub> ...`; returns the exit code, throws a UsageError on bad usage. */
export async function ledgerCommand(sub: LedgerCommand, args: string[], out: Out, err: Out): Promise<number> {
  const spec: CommandSpec = LEDGER[sub]
  const parsed = parseCommand(spec, args)
  const values = parsed.values as Record<string, string | boolean | undefined>
  const usage = (problem: string) => usageError(spec, problem)

  // Arguments first: a usage error is named before any configuration or store is read.
  const plan = checkArguments(sub, values, parsed.positionals, Date.now())
  if (typeof plan === 'string') throw usage(plan)

  let store: LedgerStore
  try {
    store = openStoreFor(sub, values)
  } catch (error) {
    if (error instanceof Usage) {
      err(`${error.message}\n`)
      return 2
    }
    throw error
  }

  try {
    if (plan.command === 'migrate') return await migrate(store, out)
    await store.open({ migrate: false })
    switch (plan.command) {
      case 'show':
        return await show(store, plan.txnId, plan.json, out, err)
      case 'tail':
        return await tail(store, plan, out)
      case 'export':
        return await exportRows(store, plan.since, plan.until, plan.format, plan.output, out)
      case 'stats': {
        const rows = await store.stats(plan.since, plan.until)
        const range = { since: new Date(plan.since).toISOString(), until: new Date(plan.until).toISOString() }
        out(
          plan.json
            ? `${JSON.stringify({ ...range, rows: statsJson(rows) }, null, 2)}\n`
            : renderStats(rows, plan.since, plan.until),
        )
        return 0
      }
      case 'reconcile':
        return await reconcile(store, plan.cutoffId, plan.limit, plan.json, out, err)
    }
  } catch (error) {
    err(`ehi-gateway ledger ${sub}: ${store.location}: ${(error as Error).message}\n`)
    return 1
  } finally {
    await store.close().catch(() => {})
  }
}

type Plan =
  | { command: 'migrate' }
  | { command: 'show'; txnId: string; json: boolean }
  | { command: 'tail'; lines: number; follow: boolean; interval: number; json: boolean }
  | { command: 'export'; since: number; until: number; format: 'jsonl' | 'csv'; output: string | undefined }
  | { command: 'stats'; since: number; until: number; json: boolean }
  | { command: 'reconcile'; cutoffId: string; limit: number; json: boolean }

/** The subcommand's arguments checked; a string is the usage error. */
function checkArguments(
  sub: string,
  values: Record<string, string | boolean | undefined>,
  positionals: string[],
  now: number,
): Plan | string {
  const json = values.json === true
  if (sub === 'show') {
    if (positionals.length !== 1 || !/^\d{1,19}$/.test(positionals[0]!))
      return 'give one TXn_ID (digits), for example ehi-gateway ledger show 9000000001'
    return { command: 'show', txnId: positionals[0]!, json }
  }
  if (positionals.length) return `unexpected argument ${JSON.stringify(positionals[0])}`
  const time = (name: string, fallback: number | undefined): number | string => {
    const text = values[name]
    if (text === undefined) return fallback ?? `--${name} TIME is required (for example --${name} 24h)`
    const parsed = parseTime(String(text), now)
    return parsed ?? `--${name} ${JSON.stringify(text)} is not a time (2026-11-27T10:00:00Z, 30m, 2h, 7d)`
  }
  switch (sub) {
    case 'migrate':
      return { command: 'migrate' }
    case 'tail': {
      const lines = Number(values.lines)
      const interval = Number(values.interval)
      if (!Number.isInteger(lines) || lines < 0 || lines > 100_000)
        return '--lines must be a number from 0 to 100000'
      if (!Number.isInteger(interval) || interval < 100)
        return '--interval must be at least 100 (milliseconds)'
      return { command: 'tail', lines, interval, follow: values.follow !== false, json }
    }
    case 'export': {
      const since = time('since', undefined)
      const until = time('until', now)
      if (typeof since === 'string') return since
      if (typeof until === 'string') return until
      if (values.format !== 'jsonl' && values.format !== 'csv') return '--format must be jsonl or csv'
      return {
        command: 'export',
        since,
        until,
        format: values.format,
        output: values.output as string | undefined,
      }
    }
    case 'stats': {
      const since = time('since', undefined)
      const until = time('until', now)
      if (typeof since === 'string') return since
      if (typeof until === 'string') return until
      return { command: 'stats', since, until, json }
    }
    case 'reconcile': {
      const id = values.cutoff
      if (typeof id !== 'string' || !/^\d{1,19}$/.test(id)) return '--cutoff needs a CutoffID (digits)'
      const limit = Number(values.limit)
      if (!Number.isInteger(limit) || limit < 1) return '--limit must be a positive number'
      return { command: 'reconcile', cutoffId: id, limit, json }
    }
  }
  return `unknown command ${sub}`
}

/** The store the configuration (or --url) names; a Usage error names what is missing or wrong. */
function openStoreFor(sub: string, values: Record<string, string | boolean | undefined>): LedgerStore {
  const file = values.config as string | undefined
  const loaded = loadConfig({ file })
  const fileIssue = loaded.issues.find((i) => i.path === '(file)')
  if (fileIssue) throw new Usage(`ehi-gateway ledger ${sub}: the configuration ${fileIssue.message}`)
  // Only the ledger section matters here: the tools run where the TLS keys may not be readable.
  if (hasIssueUnder(loaded.issues, 'ledger'))
    throw new Usage(
      `ehi-gateway ledger ${sub}: invalid configuration${loaded.file ? ` (${loaded.file})` : ''}: ${loaded.issues
        .filter((i) => i.path.startsWith('ledger'))
        .map((i) => `${i.path} ${i.message}${i.source ? ` [from ${i.source}]` : ''}`)
        .join('; ')}`,
    )
  let section = loaded.config.ledger
  if (typeof values.url === 'string')
    section = { ...section, url: resolveSqliteUrl(values.url, process.cwd()) }
  const where = loaded.file ? ` in ${loaded.file}` : ''
  if (section.url === undefined)
    throw new Usage(
      `ehi-gateway ledger ${sub}: ledger.url is not set${where}; give --config FILE or --url URL`,
    )
  const { settings, issues } = ledgerSettings(section, (f) => readFileSync(f))
  if (!settings)
    throw new Usage(`ehi-gateway ledger ${sub}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`)
  if (settings.target.engine === 'sqlite' && sub !== 'migrate' && !existsSync(settings.target.path))
    throw new Usage(
      `ehi-gateway ledger ${sub}: there is no ledger at ${settings.target.path} (the gateway makes it at its first start with ledger.url set, or run ehi-gateway ledger migrate)`,
    )
  return createStore(settings, { threaded: false, create: sub === 'migrate' })
}

async function migrate(store: LedgerStore, out: Out): Promise<number> {
  const { from, to } = await store.open({ migrate: true })
  out(
    from === to
      ? `ledger ${store.location}: schema version ${to}, current; nothing to do\n`
      : `ledger ${store.location}: schema version ${from} -> ${to}\n`,
  )
  return 0
}

async function show(store: LedgerStore, txnId: string, json: boolean, out: Out, err: Out): Promise<number> {
  const rows = await store.byTxnId(BigInt(txnId).toString())
  if (rows.length === 0) {
    err(`ehi-gateway ledger show: no message with TXn_ID ${txnId} in ${store.location}\n`)
    return 1
  }
  out(json ? rows.map((r) => `${JSON.stringify(exportRow(r))}\n`).join('') : renderAttempts(txnId, rows))
  return 0
}

async function tail(
  store: LedgerStore,
  options: { lines: number; follow: boolean; interval: number; json: boolean },
  out: Out,
): Promise<number> {
  const print = (row: Parameters<typeof tailLine>[0]) =>
    out(options.json ? `${JSON.stringify(exportRow(row))}\n` : `${tailLine(row)}\n`)
  const latest = options.lines > 0 ? await store.latest(options.lines) : []
  for (const row of latest) print(row)
  if (!options.follow) return 0
  // PostgreSQL hands out sequence numbers before commit: a batch committed late can have lower
  // numbers than one already printed. Each poll looks back a little and skips what it printed.
  const printed = new Set<number>(latest.map((r) => r.seq))
  let last = latest.at(-1)?.seq ?? (await store.latest(1))[0]?.seq ?? 0
  // What is already there counts as printed: following shows only what arrives from now on.
  for (const row of await store.after(Math.max(0, last - 1000), 5000)) printed.add(row.seq)
  process.stderr.write(`following ${store.location} (Ctrl-C to stop)\n`)
  let stop = false
  const stopped = new Promise<void>((resolve) => {
    const onSignal = () => {
      stop = true
      resolve()
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
  })
  while (!stop) {
    const rows = await store.after(Math.max(0, last - 1000), 5000)
    for (const row of rows) {
      if (printed.has(row.seq)) continue
      print(row)
      printed.add(row.seq)
      last = Math.max(last, row.seq)
    }
    if (printed.size > 20_000) for (const seq of [...printed].slice(0, 10_000)) printed.delete(seq)
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, options.interval))])
  }
  return 0
}

async function exportRows(
  store: LedgerStore,
  since: number,
  until: number,
  format: 'jsonl' | 'csv',
  output: string | undefined,
  out: Out,
): Promise<number> {
  let stream: WriteStream | undefined
  if (output !== undefined) {
    stream = createWriteStream(output, { mode: 0o600 })
    await once(stream, 'open')
  }
  const write = async (text: string) => {
    if (!stream) return out(text)
    if (!stream.write(text)) await once(stream, 'drain')
  }
  try {
    if (format === 'csv') await write(`${csvLine(CSV_COLUMNS)}\n`)
    let after = 0
    let count = 0
    for (;;) {
      const rows = await store.page(since, until, after, 1000)
      if (rows.length === 0) break
      await write(
        rows.map((r) => `${format === 'csv' ? csvRow(r) : JSON.stringify(exportRow(r))}\n`).join(''),
      )
      count += rows.length
      after = rows.at(-1)!.seq
    }
    if (stream) process.stderr.write(`ehi-gateway ledger export: ${count} message(s) written to ${output}\n`)
    return 0
  } finally {
    if (stream) await new Promise<void>((resolve) => stream!.end(resolve))
  }
}

async function reconcile(
  store: LedgerStore,
  cutoffId: string,
  limit: number,
  json: boolean,
  out: Out,
  err: Out,
): Promise<number> {
  const cutoff = await store.cutoff(BigInt(cutoffId).toString())
  if (!cutoff) {
    err(`ehi-gateway ledger reconcile: no Cut_Off ${cutoffId} in ${store.location}\n`)
    return 1
  }
  const rows =
    cutoff.first_txn_id !== null && cutoff.last_txn_id !== null
      ? await store.rangeRows(cutoff.first_txn_id, cutoff.last_txn_id, cutoff.product_id)
      : []
  const result = reconcileCutoff(cutoff, rows)
  out(json ? `${JSON.stringify(result, null, 2)}\n` : renderReconciliation(cutoff, result, limit))
  return result.verdict === 'match' ? 0 : 1
}
