/**
 * The bench: `npm run bench` (full, a few minutes) and `npm run bench:smoke` (CI: every path once,
 * under a minute, no thresholds). See bench/README.md.
 *
 * Per key type (RSA-2048, ECDSA P-256): a fresh PKI, the bench host and every target (the floor,
 * a plain Node https proxy, ehi-gateway with one worker, with the ledger, with one worker per
 * core, nginx with one worker and with one per core); then, `rounds` times, each scenario is run
 * against each target in turn by the generator process pinned to CPU 1, the target on CPU 0.
 * Writes bench/results/*.json, *.md and *.html and prints the markdown. Every process it starts
 * is ended on exit, failure or Ctrl-C.
 *
 * Options: --smoke, --keep-work (keep bench/.work/<run> with configs and logs), and filters to
 * iterate on one figure: --keys=rsa,ec --targets=floor,node,gw1,nginx,... --scenarios=ID|PREFIX,...
 * --rounds=N. --gateway=DIR runs the gateway of another checkout (a baseline for before/after).
 * --jvm (full run only) adds the JVM client scenario (bench/lib/jvm.ts) on RSA.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { AutocannonOutcome, AutocannonSpec } from './lib/autocannon-run.ts'
import type { CryptoFloorInput } from './lib/crypto-floor.ts'
import type { GeneratorSpec } from './lib/generator.ts'
import { loadNow, machineFacts } from './lib/machine.ts'
import { ensureJava, jvmRun, prepareJvmClient, runJvmClient, type JvmClient } from './lib/jvm.ts'
import { ensureNginx, nginxVersion } from './lib/nginx.ts'
import { buildBenchPki, type BenchPki } from './lib/pki.ts'
import {
  filterPlan,
  fullPlan,
  parseFilter,
  planOrder,
  scenario,
  schedule,
  smokePlan,
  type BenchPlan,
} from './lib/plan.ts'
import { installCleanup, killAll, runToEnd } from './lib/processes.ts'
import { figures, renderMarkdown, smokeProblems } from './lib/report.ts'
import { renderHtml } from './lib/report-html.ts'
import { postgresBin, startPostgres, type PgCluster } from '../test/support/postgres.ts'
import {
  GENERATOR_CPU,
  TARGET_CPU,
  startBenchHost,
  startTarget,
  type Context,
  type RunningHost,
  type RunningTarget,
} from './lib/targets.ts'
import { buildGateway, type GatewayLaunch } from './lib/gateway.ts'
import { TARGET_IDS } from './lib/types.ts'
import { defineCommand, scriptArguments, usageError, UsageError } from '../src/cli/command-line.ts'
import {
  KEY_TYPE_LABEL,
  TARGET_LABEL,
  type BenchResult,
  type CrossCheck,
  type GeneratorResult,
  type JvmRun,
  type KeyType,
  type RunRecord,
  type ScenarioSpec,
  type TargetId,
} from './lib/types.ts'

const repoRoot = join(import.meta.dirname, '..')
const node = process.execPath

const t0 = Date.now()
function log(line: string): void {
  console.log(`bench [${((Date.now() - t0) / 1000).toFixed(1)}s]: ${line}`)
}

async function clockTicks(): Promise<number> {
  const { stdout } = await runToEnd('getconf', ['CLK_TCK'], 5000).catch(() => ({ stdout: '' }))
  const n = Number(stdout.trim())
  return Number.isInteger(n) && n > 0 ? n : 100
}

async function runGenerator(
  ctx: Context,
  target: RunningTarget,
  spec: ScenarioSpec,
  plan: BenchPlan,
  ticks: number,
): Promise<GeneratorResult> {
  const input: GeneratorSpec = {
    host: '127.0.0.1',
    port: target.port,
    servername: 'localhost',
    path: '/ehi',
    certFile: ctx.pki.clientCert,
    keyFile: ctx.pki.clientKey,
    scenario: spec,
    timeoutMs: plan.timeoutMs,
    targetPids: target.pids,
    hostPids: target.hostPids,
    clockTicks: ticks,
    runId: Math.floor(Date.now() / 1000) % 100_000,
  }
  const limit = spec.warmupMs + spec.durationMs + plan.timeoutMs + 20_000
  const { code, stdout, stderr } = await runToEnd(
    'taskset',
    ['-c', GENERATOR_CPU, node, join(repoRoot, 'bench/lib/generator.ts'), JSON.stringify(input)],
    limit,
  )
  const line = stdout.trim().split('\n').pop() ?? ''
  if (code !== 0 || !line.startsWith('{'))
    throw new Error(`generator exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)
  return JSON.parse(line) as GeneratorResult
}

async function runAutocannon(
  ctx: Context,
  target: RunningTarget,
  plan: BenchPlan,
  ticks: number,
): Promise<AutocannonOutcome> {
  const spec: AutocannonSpec = {
    url: `https://127.0.0.1:${target.port}/ehi`,
    certFile: ctx.pki.clientCert,
    keyFile: ctx.pki.clientKey,
    caFile: ctx.pki.serverRootCa,
    connections: plan.crossCheck.connections,
    warmupMs: plan.crossCheck.warmupMs,
    durationMs: plan.crossCheck.durationMs,
    targetPids: target.pids,
    clockTicks: ticks,
  }
  const limit = spec.warmupMs + spec.durationMs + 20_000
  const { code, stdout, stderr } = await runToEnd(
    'taskset',
    ['-c', GENERATOR_CPU, node, join(repoRoot, 'bench/lib/autocannon-run.ts'), JSON.stringify(spec)],
    limit,
  )
  const line = stdout.trim().split('\n').pop() ?? ''
  if (code !== 0 || !line.startsWith('{'))
    throw new Error(`autocannon exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)
  return JSON.parse(line) as AutocannonOutcome
}

/**
 * The generator and autocannon on the same keep-alive target, alternately, `rounds` times each;
 * the best of each is compared (a neighbour can only slow a run down).
 */
async function crossCheck(
  ctx: Context,
  target: RunningTarget,
  plan: BenchPlan,
  ticks: number,
): Promise<CrossCheck> {
  const cc = plan.crossCheck
  const spec = {
    ...scenario('keepalive', 'closed', 'auth', { warmupMs: cc.warmupMs, durationMs: cc.durationMs }),
    concurrency: cc.connections,
  }
  const generatorRuns: number[] = []
  const autocannonRuns: number[] = []
  let ours: GeneratorResult | undefined
  let theirs: AutocannonOutcome | undefined
  let autocannonErrors = 0
  let autocannonNon2xx = 0
  for (let round = 0; round < cc.rounds; round++) {
    const g = await runGenerator(ctx, target, spec, plan, ticks)
    generatorRuns.push(Math.round(g.throughput))
    if (!ours || g.throughput > ours.throughput) ours = g
    const a = await runAutocannon(ctx, target, plan, ticks)
    autocannonRuns.push(Math.round(a.rps))
    if (!theirs || a.rps > theirs.rps) theirs = a
    autocannonErrors += a.errors
    autocannonNon2xx += a.non2xx
  }
  const generatorRps = Math.round(ours!.throughput)
  const autocannonRps = Math.round(theirs!.rps)
  const durationMs = cc.durationMs
  return {
    target: target.id,
    keyType: ctx.pki.keyType,
    connections: cc.connections,
    durationMs,
    generatorRps,
    autocannonRps,
    generatorRuns,
    autocannonRuns,
    generatorTargetUsPerReq:
      ours!.completedInWindow > 0 ? Math.round((ours!.targetCpuMs * 1000) / ours!.completedInWindow) : null,
    autocannonTargetUsPerReq: theirs!.ok > 0 ? Math.round((theirs!.targetCpuMs * 1000) / theirs!.ok) : null,
    generatorClientCpuPct: Math.round((ours!.generatorCpuMs / ours!.windowMs) * 100),
    autocannonClientCpuPct: Math.round((theirs!.clientCpuMs / durationMs) * 100),
    autocannonErrors,
    autocannonNon2xx,
    ratio: autocannonRps > 0 ? Math.round((generatorRps / autocannonRps) * 100) / 100 : 0,
  }
}

function progress(keyType: KeyType, record: RunRecord): void {
  const round = record.round ? ` round ${record.round}` : ''
  const where = `[${keyType}${round}] ${TARGET_LABEL[record.target]} ${record.scenario.id}`
  if (!record.result) return log(`${where}: skipped (${record.skipped})`)
  const f = figures(record.result)
  const resumed = record.scenario.mode === 'resume' ? `, resumed ${f.resumedPct}%` : ''
  log(
    `${where}: ${f.throughput} msg/s, p99 ${f.p99} ms, CPU ${f.cpuPerMsgUs} µs/msg (${f.targetCpuPct}% of a core), errors ${f.errors}${resumed}`,
  )
}

async function cryptoFloor(pkis: BenchPki[], iterations: number) {
  const inputs: CryptoFloorInput[] = pkis.map((pki) => ({
    keyType: pki.keyType,
    serverKey: pki.serverKey,
    clientCert: pki.clientCert,
    clientKey: pki.clientKey,
    issuingCa: pki.threddIssuingCa,
    rootCa: pki.threddRootCa,
  }))
  const { code, stdout, stderr } = await runToEnd(
    'taskset',
    [
      '-c',
      TARGET_CPU,
      node,
      join(repoRoot, 'bench/lib/crypto-floor.ts'),
      JSON.stringify({ inputs, iterations }),
    ],
    120_000,
  )
  if (code !== 0) throw new Error(`crypto floor exited ${code}: ${stderr.trim()}`)
  return JSON.parse(stdout.trim()) as BenchResult['cryptoFloor']
}

const BENCH_COMMAND = defineCommand({
  name: 'bench',
  program: 'node bench/run-bench.ts',
  synopsis: '[options]',
  summary: 'The bench: ehi-gateway side by side with nginx and a plain Node proxy',
  description: `The full run (npm run bench) measures every target of docs/bench.md in interleaved rounds with RSA-2048 and ECDSA P-256 and prints the targets as met or MISSED, about 15-20 minutes on 2 cores; --smoke (npm run bench:smoke, in CI) runs every path once, briefly. Results go to bench/results/. The filters narrow a run to one figure.`,
  options: {
    smoke: { type: 'boolean', help: 'Every path once, 1-second windows, no thresholds.' },
    keys: { type: 'string', value: 'rsa,ec', help: 'Key types to run.' },
    targets: { type: 'string', value: 'ID,...', help: `Targets to run: ${TARGET_IDS.join(', ')}.` },
    scenarios: { type: 'string', value: 'ID|PREFIX,...', help: 'Scenarios to run, by id or id prefix.' },
    rounds: { type: 'string', value: 'N', help: 'Interleaved rounds of the judged scenarios, 1 to 9.' },
    gateway: {
      type: 'string',
      value: 'DIR',
      help: 'Run the gateway of another checkout (the "before" of a before/after).',
    },
    jvm: { type: 'boolean', help: 'Full run only: add the JVM client scenario on RSA (installs a JDK).' },
    'keep-work': { type: 'boolean', help: 'Keep bench/.work/<run>: configs, logs, PKI.' },
  },
})

/** The options; --help and usage errors end the process here (scriptArguments). */
function benchOptions(args: readonly string[]) {
  return scriptArguments(BENCH_COMMAND, args, ({ values }) => {
    try {
      return { values, filter: parseFilter(values) }
    } catch (error) {
      throw usageError(BENCH_COMMAND, (error as Error).message)
    }
  })
}

async function main(): Promise<number> {
  const { values, filter } = benchOptions(process.argv.slice(2))
  const plan = filterPlan(values.smoke ? smokePlan() : fullPlan(), filter)
  if (plan.blocks.length === 0) throw usageError(BENCH_COMMAND, 'the filters leave nothing to run')
  const keepWork = values['keep-work']
  const gatewayRoot = values.gateway ? resolve(values.gateway) : repoRoot
  const startedAt = Date.now()
  installCleanup()
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${plan.budgetMs / 1000} s: stopping every process it started`)
    killAll()
    process.exit(1)
  }, plan.budgetMs)
  watchdog.unref()

  const taskset = await runToEnd('taskset', ['-V'], 5000).catch(() => ({ code: 'missing' }))
  if (taskset.code !== 0)
    throw new Error('taskset (util-linux) is required to pin the target and the generator')

  const notes: string[] = []
  const nginx = await ensureNginx(plan.mode === 'full')
  if (!nginx.bin) {
    notes.push(`nginx skipped: ${nginx.note}`)
    log(`nginx skipped: ${nginx.note}`)
  }
  const machine = machineFacts(nginx.bin ? await nginxVersion(nginx.bin) : 'not installed')
  if (gatewayRoot !== repoRoot) notes.push(`ehi-gateway from ${gatewayRoot}`)
  if (Object.keys(filter).length > 0)
    notes.push(
      `filtered run: ${(['keys', 'targets', 'scenarios', 'rounds'] as const)
        .filter((name) => values[name] !== undefined)
        .map((name) => `--${name}=${values[name]}`)
        .join(' ')}`,
    )
  if (machine.cpus < 2) notes.push('fewer than 2 CPUs: the target and the generator share a core')

  const stamp = machine.date.replace(/[:.]/g, '-').slice(0, 19)
  const workDir = join(repoRoot, 'bench/.work', `${plan.mode}-${stamp}-${process.pid}`)
  mkdirSync(workDir, { recursive: true })
  log(`${plan.mode} run, work folder ${workDir}`)

  const order = planOrder(plan)
  const pkis = new Map<KeyType, BenchPki>()
  for (const { keyType } of order) pkis.set(keyType, buildBenchPki(workDir, keyType))
  log(`PKI ready (${[...pkis.keys()].map((k) => KEY_TYPE_LABEL[k]).join(' and ')}, CRLs for both Thredd CAs)`)

  const cryptoFloorResults = await cryptoFloor([...pkis.values()], plan.cryptoIterations)
  for (const c of cryptoFloorResults)
    log(`crypto floor ${KEY_TYPE_LABEL[c.keyType]}: ${c.totalUs} µs per handshake`)
  const ticks = await clockTicks()

  // The ledger on PostgreSQL: a throwaway cluster from Debian's package, as bench/ledger-bench.ts.
  let pg: PgCluster | undefined
  let pgSkipped: string | undefined
  if (order.some((o) => o.targets.some((t) => t.target === 'gw1-pg'))) {
    if (!postgresBin()) pgSkipped = 'PostgreSQL is not installed (apt-get install postgresql)'
    else
      try {
        pg = await startPostgres()
        log(`PostgreSQL ready on port ${pg.port} (throwaway cluster for gw1-pg)`)
      } catch (error) {
        pgSkipped = `PostgreSQL did not start: ${error instanceof Error ? error.message : String(error)}`
      }
    if (pgSkipped) {
      notes.push(`ledger on PostgreSQL skipped: ${pgSkipped}`)
      log(pgSkipped)
    }
  }

  const failures: string[] = []
  // The JVM client: Thredd's pattern from a Java sender's defaults (never in the smoke run).
  let jvmClient: JvmClient | null = null
  const jvmRuns: JvmRun[] = []
  // 25/s: a JVM's client handshakes and JIT warm-up on the generator's one (shared) core keep
  // up with it; at 100/s the client itself queued for seconds on this machine. 10 s of warm-up:
  // a fresh JVM needs seconds before its handshakes stop lagging.
  const jvmLoad = { rate: 25, warmup: 250, messages: 500 }
  if (values.jvm && plan.mode === 'full' && pkis.has('rsa')) {
    const java = await ensureJava()
    if (!java.tools) {
      notes.push(`JVM client skipped: ${java.note}`)
      log(`JVM client skipped: ${java.note}`)
    } else
      try {
        jvmClient = await prepareJvmClient(java.tools, repoRoot, join(workDir, 'jvm'), pkis.get('rsa')!)
        log('JVM client compiled')
      } catch (error) {
        failures.push(`JVM client: ${error instanceof Error ? error.message : String(error)}`)
      }
  }

  // Only when a gateway target runs: a filtered run of nginx alone needs no build.
  let gateway: GatewayLaunch = { entry: '', nodeOptions: [], env: {} }
  if (order.some((o) => o.targets.some((t) => t.target.startsWith('gw')))) {
    log('building the gateway (npm run build: scripts/build.ts)')
    gateway = await buildGateway(gatewayRoot, repoRoot)
    const command = [
      ...Object.entries(gateway.env).map(([key, value]) => `${key}=${value}`),
      'node',
      ...gateway.nodeOptions,
      'dist/src/cli/main.js serve',
    ]
    notes.push(`ehi-gateway built and started as the container image does: ${command.join(' ')}`)
  }

  const runs: RunRecord[] = []
  const crossChecks: CrossCheck[] = []
  for (const { keyType, targets } of order) {
    const ctx: Context = {
      repoRoot,
      gatewayRoot,
      gateway,
      workDir,
      node,
      nginxBin: nginx.bin,
      pki: pkis.get(keyType)!,
      ...(pg ? { pg } : {}),
    }
    const skip = (id: TargetId, scenarios: ScenarioSpec[], why: string) => {
      for (const s of scenarios) {
        const record: RunRecord = { keyType, target: id, scenario: s, skipped: why }
        runs.push(record)
        progress(keyType, record)
      }
    }
    let host: RunningHost | null = null
    const running = new Map<TargetId, RunningTarget>()
    try {
      host = await startBenchHost(ctx)
      // Every target of this key type runs at once (idle ones cost nothing) and each scenario
      // visits them in turn, so the figures compared in a row are measured seconds apart and
      // share the machine's neighbours.
      for (const { target: id, scenarios } of targets) {
        if ((id === 'nginx' || id === 'nginxN') && !nginx.bin) {
          skip(id, scenarios, 'nginx not installed')
          continue
        }
        if (id === 'gw1-pg' && !pg) {
          skip(id, scenarios, pgSkipped ?? 'PostgreSQL not available')
          continue
        }
        try {
          running.set(id, await startTarget(id, ctx, host))
          log(`[${keyType}] ${TARGET_LABEL[id]} ready`)
        } catch (error) {
          const why = `did not start: ${error instanceof Error ? error.message : String(error)}`
          failures.push(`${keyType} ${id} ${why}`)
          skip(id, scenarios, why)
        }
      }
      for (const { round, scenario: s, targets: ids } of schedule(plan, keyType)) {
        for (const id of ids) {
          const target = running.get(id)
          if (!target) continue
          const record: RunRecord = { keyType, target: id, round, scenario: s }
          try {
            await target.before?.()
            record.result = await runGenerator(ctx, target, s, plan, ticks)
          } catch (error) {
            record.skipped = error instanceof Error ? error.message : String(error)
            failures.push(`${keyType} ${id} ${s.id}: ${record.skipped}`)
          } finally {
            await target.after?.()
          }
          runs.push(record)
          progress(keyType, record)
        }
      }
      for (const id of jvmClient && keyType === 'rsa' ? (['node', 'gw1', 'nginx'] as const) : []) {
        const target = running.get(id)
        if (!target) continue
        try {
          const before = (await target.sessions?.()) ?? null
          const out = await runJvmClient(jvmClient!, ctx.pki, target.port, GENERATOR_CPU, jvmLoad)
          const after = (await target.sessions?.()) ?? null
          const r = jvmRun(keyType, id, jvmLoad, out, before, after)
          jvmRuns.push(r)
          log(
            `JVM client ${TARGET_LABEL[id]}: p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, errors ${r.errors}, connections ${r.clientConnections}${r.server ? `, server: ${r.server.resumed} of ${r.server.connections} resumed` : ''}`,
          )
        } catch (error) {
          failures.push(`JVM client ${id}: ${error instanceof Error ? error.message : String(error)}`)
        }
      }
      const cc = plan.crossCheck
      for (const id of cc.keyType === keyType ? cc.targets : []) {
        const target = running.get(id)
        if (!target) continue
        try {
          await target.before?.()
          const check = await crossCheck(ctx, target, plan, ticks)
          crossChecks.push(check)
          log(
            `cross-check ${TARGET_LABEL[id]}: generator ${check.generatorRuns.join(', ')} req/s, autocannon ${check.autocannonRuns.join(', ')} req/s (best ${check.generatorRps} / ${check.autocannonRps} = ${check.ratio}); target µs/req ${check.generatorTargetUsPerReq} / ${check.autocannonTargetUsPerReq}`,
          )
        } catch (error) {
          failures.push(`cross-check ${id}: ${error instanceof Error ? error.message : String(error)}`)
        } finally {
          await target.after?.()
        }
      }
    } finally {
      for (const target of running.values()) await target.stop()
      await host?.stop()
    }
  }
  pg?.destroy()

  machine.loadAfter = loadNow()
  if (plan.mode === 'smoke')
    notes.push('smoke run: 1-second windows, figures prove the suite works and mean little')
  if (machine.cpus <= 2)
    notes.push(
      `${machine.cpus} CPUs: the internal host shares the CPUs with the target and the generator; ehi-gateway 1 worker/core shares CPU 1 with the generator`,
    )
  if (plan.rounds > 1 && plan.blocks.some((b) => b.firstRoundOnly))
    notes.push(
      `${plan.rounds} rounds, interleaved; scenarios no target judges ran in round 1 only (1 in the rounds column)`,
    )
  const result: BenchResult = {
    mode: plan.mode,
    rounds: plan.rounds,
    machine,
    durationS: (Date.now() - startedAt) / 1000,
    notes,
    cryptoFloor: cryptoFloorResults,
    runs,
    crossChecks,
    ...(jvmRuns.length > 0 ? { jvm: jvmRuns } : {}),
  }
  const markdown = renderMarkdown(result)
  const html = renderHtml(result)
  const resultsDir = join(repoRoot, 'bench/results')
  mkdirSync(resultsDir, { recursive: true })
  const base = join(resultsDir, `bench-${plan.mode}-${stamp}`)
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`)
  writeFileSync(`${base}.md`, `${markdown}\n`)
  writeFileSync(`${base}.html`, html)
  writeFileSync(join(resultsDir, `latest-${plan.mode}.html`), html)
  writeFileSync(join(resultsDir, `latest-${plan.mode}.json`), `${JSON.stringify(result, null, 2)}\n`)
  writeFileSync(join(resultsDir, `latest-${plan.mode}.md`), `${markdown}\n`)
  console.log(`\n${markdown}`)
  log(`results: ${base}.json, .md and .html (${Math.round(result.durationS)} s)`)

  const problems = [...failures, ...(plan.mode === 'smoke' ? smokeProblems(result) : [])]
  if (keepWork || problems.length > 0) log(`work folder kept: ${workDir}`)
  else rmSync(workDir, { recursive: true, force: true })
  if (problems.length > 0) {
    console.error(`bench: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    return 1
  }
  return 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(error.message)
      killAll()
      process.exit(2)
    }
    console.error(`bench failed: ${error instanceof Error ? error.stack : String(error)}`)
    killAll()
    process.exit(1)
  },
)
