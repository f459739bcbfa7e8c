/**
 * The hardening suite's results table.
 *
 *   npm run hardening:report        turns the latest run's results (test/hardening/recorder.ts;
 *                                   .test-hardening/results.jsonl or EHI_HARDENING_RESULTS) into
 *                                   docs/hardening-results.md
 *   npm run hardening:long          runs the suite's long profile first (10-minute soak, long fuzz
 *                                   runs; files one after another so the soak has the machine),
 *                                   then writes the table; exits with the suite's status
 *
 * Options: --run ci|long (run the suite with that profile first, into its own results file,
 * .test-hardening/results-<profile>.jsonl, so a concurrent `npm test` cannot mix in), --in FILE
 * (results to read), --out FILE (default docs/hardening-results.md). EHI_HARDENING_RESULTS names
 * the results file for both.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const root = join(import.meta.dirname, '..')
const { values } = parseArgs({
  options: { run: { type: 'string' }, in: { type: 'string' }, out: { type: 'string' } },
})
const resultsFile =
  values.in ??
  (process.env.EHI_HARDENING_RESULTS ||
    join(
      root,
      '.test-hardening',
      values.run ? `results-${values.run === 'long' ? 'long' : 'ci'}.jsonl` : 'results.jsonl',
    ))
const outFile = values.out ?? join(root, 'docs', 'hardening-results.md')

interface Recorded {
  case: string
  category: string
  expected: string
  observed: string
  pass: boolean
  knownFailure?: boolean
  figures?: Record<string, unknown>
  run: string
  profile: string
  at: string
}

let suiteStatus: number | null = null
let suiteSeconds: number | undefined
if (values.run) {
  const profile = values.run === 'long' ? 'long' : 'ci'
  rmSync(resultsFile, { force: true })
  const started = Date.now()
  const args = ['run', 'test/hardening']
  // The long profile runs the files one after another: the soak's figures are the gateway's, not
  // the fuzzer's or another test's.
  if (profile === 'long') args.push('--no-file-parallelism', '--maxWorkers=1')
  const vitest = spawnSync(join(root, 'node_modules', '.bin', 'vitest'), args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, EHI_HARDENING_PROFILE: profile, EHI_HARDENING_RESULTS: resultsFile },
  })
  suiteStatus = vitest.status
  suiteSeconds = Math.round((Date.now() - started) / 1000)
}

if (!existsSync(resultsFile)) {
  console.error(`No results in ${resultsFile}: run the suite first (npm test, or npm run hardening:long).`)
  process.exit(suiteStatus ?? 2)
}

const all = readFileSync(resultsFile, 'utf8')
  .split('\n')
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line) as Recorded)
if (all.length === 0) {
  console.error(`${resultsFile} is empty.`)
  process.exit(suiteStatus ?? 2)
}
// The latest run only; within it, the last record of each case.
const latestRun = all.reduce((latest, r) => (r.at > latest.at ? r : latest)).run
const byCase = new Map<string, Recorded>()
for (const r of all.filter((r) => r.run === latestRun)) byCase.set(`${r.category}\u0000${r.case}`, r)
const results = [...byCase.values()]
const profile = results[0]!.profile

const CATEGORIES: [string, string][] = [
  ['tls', '1. Certificate and TLS attacks'],
  ['http', '2a. HTTP attacks'],
  ['message', '2b. Message attacks'],
  ['fuzz', '2c. Property-based fuzzing of the parser (fast-check)'],
  ['fault', '3. Faults'],
  ['soak', '4. Load and soak'],
]

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim()
const verdict = (r: Recorded) =>
  r.pass ? 'pass' : r.knownFailure ? '**FAIL** (known, reported)' : '**FAIL**'

function machine(): string[] {
  const info = readFileSync('/proc/cpuinfo', 'utf8')
  const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown'
  const memory = `${Math.round(totalmem() / 2 ** 30)} GiB`
  return [
    `- CPU: ${cpus().length} × ${model}`,
    `- Memory: ${memory}`,
    `- Node.js ${process.versions.node}, OpenSSL ${process.versions.openssl}, ${process.platform} ${process.arch}`,
  ]
}

function soakSection(): string[] {
  const soak = results.find((r) => r.category === 'soak' && r.figures)
  if (!soak?.figures) return []
  const f = soak.figures as {
    durationS: number
    messages: number
    throughputPerS: number
    newConnection: { p50: number; p99: number; max: number; overBudget: number; failed: number }
    keepAlive: { p50: number; p99: number; max: number; overBudget: number; failed: number }
    reloads: { sent: number; succeeded: number; failed: number }
    crl?: { published: number; fetchedAndApplied: number; fetchFailures: number }
    workerKill?: { restarts: number; workersAfter: number; resetExchanges: number }
    fd: { before: number; after: number; max: number; bound: number }
    rssMiB: {
      before: number
      after: number
      min: number
      max: number
      peakGrowth: number
      troughGrowth: number
      bound: number
      everySeconds: number
      series: number[]
    }
    loopDelayMaxMs: { gateway: number; host: number; newConnectionClient: number; keepAliveClient: number }
    stealSeconds: number
  }
  const ms = (n: number) => `${n.toFixed(1)} ms`
  const signed = (n: number) => (n < 0 ? `${n}` : `+${n}`)
  return [
    '## Soak figures',
    '',
    '| Figure | New connection per message (XML) | Kept-alive connections (JSON) |',
    '| --- | --- | --- |',
    `| p50 / p99 / max latency | ${ms(f.newConnection.p50)} / ${ms(f.newConnection.p99)} / ${ms(f.newConnection.max)} | ${ms(f.keepAlive.p50)} / ${ms(f.keepAlive.p99)} / ${ms(f.keepAlive.max)} |`,
    `| Over the 200 ms budget | ${f.newConnection.overBudget} | ${f.keepAlive.overBudget} |`,
    `| Failed | ${f.newConnection.failed} | ${f.keepAlive.failed} |`,
    '',
    '| Figure | Value |',
    '| --- | --- |',
    `| Duration, messages, throughput | ${f.durationS} s, ${f.messages} messages, ${f.throughputPerS}/s |`,
    // Every applied CRL is a reload too: the successes count both kinds.
    `| Reloads | ${f.reloads.sent} SIGHUPs (alternating two configurations)${f.crl ? ` and ${f.crl.fetchedAndApplied} CRL updates` : ''}: ${f.reloads.succeeded} applied, ${f.reloads.failed} failed |`,
    ...(f.crl
      ? [
          `| CRLs over HTTP | ${f.crl.published} published, ${f.crl.fetchedAndApplied} fetched and applied, ${f.crl.fetchFailures} failed fetches |`,
        ]
      : []),
    ...(f.workerKill
      ? [
          `| Worker killed (SIGKILL) halfway | restarts ${f.workerKill.restarts}, ${f.workerKill.workersAfter} workers after, ${f.workerKill.resetExchanges} exchanges reset or unanswered |`,
        ]
      : []),
    `| Open file descriptors (gateway process tree) | ${f.fd.before} before, ${f.fd.after} after, ${f.fd.max} at most (bound: growth ≤ ${f.fd.bound}) |`,
    `| RSS (gateway process tree: primary and 2 workers) | ${f.rssMiB.min}-${f.rssMiB.max} MiB; second half against first: peaks ${signed(f.rssMiB.peakGrowth)} MiB (bound: ${f.rssMiB.bound} MiB), troughs ${signed(f.rssMiB.troughGrowth)} MiB; idle: ${f.rssMiB.before} MiB before, ${f.rssMiB.after} MiB after |`,
    `| RSS every ${f.rssMiB.everySeconds} s (MiB) | ${f.rssMiB.series.join(' ')} |`,
    `| Worst event-loop delay | gateway ${ms(f.loopDelayMaxMs.gateway)}, host ${ms(f.loopDelayMaxMs.host)}, new-connection client ${ms(f.loopDelayMaxMs.newConnectionClient)}, keep-alive client ${ms(f.loopDelayMaxMs.keepAliveClient)} |`,
    `| CPU stolen by the hypervisor during the run (both cores) | ${f.stealSeconds} s |`,
    '',
    'Latency is measured by the client from each message’s scheduled send time (open loop), TLS handshake included for new connections. The gateway, the host and each client run in their own process, so one\'s pause does not stall another. RSS: V8 grows the heap and returns it in a sawtooth, so the bound is on the peaks (set by the live heap; a leak raises them); "before" is after the warm-up, "after" with the traffic stopped and idle connections closed.',
    '',
  ]
}

const passed = results.filter((r) => r.pass).length
const known = results.filter((r) => !r.pass && r.knownFailure).length
const failed = results.length - passed - known
const date = new Date(results.reduce((last, r) => (r.at > last ? r.at : last), results[0]!.at))
const lines: string[] = [
  '# Hardening results',
  '',
  'Generated by `npm run hardening:long` (or `npm run hardening:report` after any run of the suite) from',
  "the hardening suite's own output (`test/hardening/`). Each case states what the gateway must do and what",
  'it did. A case marked **FAIL** (known, reported) is a gateway bug the suite found: its test asserts the',
  'correct behaviour and is marked `it.fails` until the fix lands. What the suite attacks and how to run it:',
  '[hardening.md](hardening.md).',
  '',
  `- Date: ${date.toISOString().replace('T', ' ').slice(0, 16)} UTC`,
  `- Profile: ${profile}${profile === 'long' ? ' (10-minute soak, 20,000 inputs per fuzz property)' : ' (CI: 30-second soak, 600 inputs per fuzz property)'}${suiteSeconds ? `, suite wall time ${suiteSeconds} s` : ''}`,
  ...machine(),
  `- Cases: ${results.length}; ${passed} pass, ${known} fail (known, reported), ${failed} fail`,
  '',
  ...soakSection(),
]
for (const [category, title] of CATEGORIES) {
  const rows = results.filter((r) => r.category === category)
  if (rows.length === 0) continue
  lines.push(`## ${title}`, '', '| Case | Expected | Observed | Result |', '| --- | --- | --- | --- |')
  for (const r of rows)
    lines.push(`| ${cell(r.case)} | ${cell(r.expected)} | ${cell(r.observed)} | ${verdict(r)} |`)
  lines.push('')
}
writeFileSync(outFile, `${lines.join('\n').trimEnd()}\n`)
console.log(
  `Wrote ${outFile}: ${results.length} cases, ${passed} pass, ${known} known failures, ${failed} other failures (profile ${profile}).`,
)
process.exitCode = suiteStatus ?? 0
