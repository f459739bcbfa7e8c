/**
 * The bench report: figures derived from the generator's counts, each ehi-gateway figure as a
 * ratio to nginx and to the floor, the share of Thredd's 200 ms budget at p99, the issue's three
 * targets marked met or missed (reported, never asserted), and the markdown rendering. Pure.
 */
import {
  KEY_TYPE_LABEL,
  TARGET_LABEL,
  type BenchResult,
  type GeneratorResult,
  type KeyType,
  type RunRecord,
  type TargetId,
} from './types.ts'

export const THREDD_BUDGET_MS = 200

export interface Figures {
  throughput: number
  p50: number
  p90: number
  p99: number
  p999: number
  errors: number
  /** Target CPU time per answered message, microseconds. */
  cpuPerMsgUs: number | null
  /** Messages one fully busy core absorbs at that cost: 1,000,000 / cpuPerMsgUs. */
  perCoreMsgS: number | null
  /** Target CPU time over wall time in the window (100 = one core busy). */
  targetCpuPct: number
  hostCpuPerMsgUs: number | null
  generatorCpuPct: number
  /** Share of new connections that resumed a TLS session. */
  resumedPct: number | null
}

export function figures(result: GeneratorResult): Figures {
  const per = (ms: number) =>
    result.completedInWindow > 0 ? Math.round((ms * 1000) / result.completedInWindow) : null
  const pct = (ms: number) => (result.windowMs > 0 ? Math.round((ms / result.windowMs) * 1000) / 10 : 0)
  return {
    throughput: Math.round(result.throughput),
    p50: result.latencyMs.p50,
    p90: result.latencyMs.p90,
    p99: result.latencyMs.p99,
    p999: result.latencyMs.p999,
    errors: result.errors,
    cpuPerMsgUs: per(result.targetCpuMs),
    perCoreMsgS:
      result.targetCpuMs > 0 ? Math.round((result.completedInWindow * 1000) / result.targetCpuMs) : null,
    targetCpuPct: pct(result.targetCpuMs),
    hostCpuPerMsgUs: per(result.hostCpuMs),
    generatorCpuPct: pct(result.generatorCpuMs),
    resumedPct: result.connections > 0 ? Math.round((result.resumed / result.connections) * 1000) / 10 : null,
  }
}

export function findRun(
  runs: readonly RunRecord[],
  keyType: KeyType,
  target: TargetId,
  scenarioId: string,
): RunRecord | undefined {
  return runs.find((r) => r.keyType === keyType && r.target === target && r.scenario.id === scenarioId)
}

/** a / b, or null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || b === 0) return null
  return Math.round((a / b) * 100) / 100
}

export interface GatewayRatios {
  cpuVsNginx: number | null
  cpuVsFloor: number | null
  p99VsNginx: number | null
  p99VsFloor: number | null
  /** p99 as a percentage of Thredd's 200 ms. */
  budgetPctAtP99: number | null
}

export function gatewayRatios(runs: readonly RunRecord[], run: RunRecord): GatewayRatios {
  const own = run.result ? figures(run.result) : null
  const other = (target: TargetId) => {
    const found = findRun(runs, run.keyType, target, run.scenario.id)
    return found?.result ? figures(found.result) : null
  }
  const nginx = other('nginx')
  const floor = other('floor')
  return {
    cpuVsNginx: ratio(own?.cpuPerMsgUs, nginx?.cpuPerMsgUs),
    cpuVsFloor: ratio(own?.cpuPerMsgUs, floor?.cpuPerMsgUs),
    p99VsNginx: ratio(own?.p99, nginx?.p99),
    p99VsFloor: ratio(own?.p99, floor?.p99),
    budgetPctAtP99: own ? Math.round((own.p99 / THREDD_BUDGET_MS) * 1000) / 10 : null,
  }
}

export interface TargetCheck {
  name: string
  keyType: KeyType
  scenarioId: string
  metric: 'cpuPerMsgUs' | 'p99'
  /** The gateway's figure must be at most `limit` times nginx's. */
  limit: number
  gateway: number | null
  nginx: number | null
  ratio: number | null
  /** null when a figure is missing (nginx skipped, a run failed). */
  met: boolean | null
}

export const TARGETS: readonly Omit<TargetCheck, 'gateway' | 'nginx' | 'ratio' | 'met'>[] = [
  {
    name: 'Thredd pattern: CPU per message ≤ 0.8 × nginx',
    keyType: 'rsa',
    scenarioId: 'connect-closed-auth',
    metric: 'cpuPerMsgUs',
    limit: 0.8,
  },
  {
    name: 'Thredd pattern: CPU per message ≤ 0.8 × nginx',
    keyType: 'ec',
    scenarioId: 'connect-closed-auth',
    metric: 'cpuPerMsgUs',
    limit: 0.8,
  },
  {
    name: "Thredd pattern: p99 at 100/s ≤ nginx's",
    keyType: 'rsa',
    scenarioId: 'connect-open-100-auth',
    metric: 'p99',
    limit: 1,
  },
  {
    name: "Thredd pattern: p99 at 100/s ≤ nginx's",
    keyType: 'ec',
    scenarioId: 'connect-open-100-auth',
    metric: 'p99',
    limit: 1,
  },
  {
    name: 'Keep-alive: CPU per request ≤ 1.5 × nginx',
    keyType: 'rsa',
    scenarioId: 'keepalive-closed-auth',
    metric: 'cpuPerMsgUs',
    limit: 1.5,
  },
]

/** The issue's targets for ehi-gateway with one worker (like for like with nginx's one worker). */
export function evaluateTargets(runs: readonly RunRecord[]): TargetCheck[] {
  return TARGETS.map((t) => {
    const pick = (target: TargetId) => {
      const run = findRun(runs, t.keyType, target, t.scenarioId)
      return run?.result ? figures(run.result)[t.metric] : null
    }
    const gateway = pick('gw1')
    const nginx = pick('nginx')
    const r = ratio(gateway, nginx)
    const met = gateway == null || nginx == null || nginx === 0 ? null : gateway <= t.limit * nginx
    return { ...t, gateway, nginx, ratio: r, met }
  })
}

export function scenarioLabel(run: RunRecord): string {
  const s = run.scenario
  const mode = { connect: 'new conn', resume: 'resumed', keepalive: 'keep-alive' }[s.mode]
  const load =
    s.loop === 'open'
      ? `${s.rate}/s`
      : `max (${s.concurrency} ${s.mode === 'keepalive' ? 'conns' : 'clients'})`
  return `${mode}, ${load}, ${s.plan}`
}

const fmt = (n: number | null | undefined, digits = 0): string =>
  n == null
    ? '–'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const ms = (n: number) => fmt(n, n < 10 ? 2 : 1)
const x = (n: number | null) => (n == null ? '–' : `${fmt(n, 2)}×`)

export function renderMarkdown(result: BenchResult): string {
  const m = result.machine
  const out: string[] = []
  out.push(`# ehi-gateway bench (${result.mode}) — ${m.date.slice(0, 16).replace('T', ' ')} UTC`)
  out.push('')
  out.push(
    `Machine: ${m.cpus} CPUs (${m.model}), ${m.memoryGiB} GiB, Linux ${m.kernel}. Node ${m.node} (OpenSSL ${m.openssl}), ${m.nginx.startsWith('nginx') ? m.nginx : `nginx ${m.nginx}`}.`,
  )
  out.push(
    `Load average (1/5/15 min) before ${m.loadBefore.join(' / ')}, after ${m.loadAfter.join(' / ')}. Run took ${Math.round(result.durationS)} s.`,
  )
  out.push(
    'Target on CPU 0, generator on CPU 1 (`taskset`), the internal host unpinned (shared, the same for every target); ehi-gateway 1 worker/core runs on every CPU and shares CPU 1 with the generator. CPU µs/msg = utime+stime of the target process tree over the measured window / answers in it.',
  )
  for (const note of result.notes) out.push(`- ${note}`)
  out.push('')

  out.push('## Targets (issue 6; reported, never asserted)')
  out.push('')
  out.push('| Target | Keys | ehi-gateway (1 worker) | nginx | ratio | limit | |')
  out.push('| --- | --- | ---: | ---: | ---: | ---: | --- |')
  for (const t of evaluateTargets(result.runs)) {
    const unit = t.metric === 'p99' ? ' ms' : ' µs'
    const verdict = t.met == null ? 'not measured' : t.met ? 'met' : 'MISSED'
    out.push(
      `| ${t.name} | ${KEY_TYPE_LABEL[t.keyType]} | ${t.gateway == null ? '–' : fmt(t.gateway, t.metric === 'p99' ? 2 : 0) + unit} | ${t.nginx == null ? '–' : fmt(t.nginx, t.metric === 'p99' ? 2 : 0) + unit} | ${x(t.ratio)} | ≤ ${fmt(t.limit, 1)}× | ${verdict} |`,
    )
  }
  out.push('')

  for (const keyType of ['rsa', 'ec'] as const) {
    const runs = result.runs.filter((r) => r.keyType === keyType)
    if (runs.length === 0) continue
    out.push(`## ${KEY_TYPE_LABEL[keyType]} certificates (server and client)`)
    out.push('')
    out.push(
      '| Scenario | Target | msg/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | CPU µs/msg | msg/s per core | target CPU % | host µs/msg | generator CPU % | resumed |',
    )
    out.push(
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    )
    for (const run of runs) {
      if (!run.result) {
        const empty = Array.from({ length: 11 }, () => ' |').join('')
        out.push(
          `| ${scenarioLabel(run)} | ${TARGET_LABEL[run.target]} | skipped: ${run.skipped ?? 'no result'} |${empty}`,
        )
        continue
      }
      const f = figures(run.result)
      out.push(
        `| ${scenarioLabel(run)} | ${TARGET_LABEL[run.target]} | ${fmt(f.throughput)} | ${ms(f.p50)} | ${ms(f.p90)} | ${ms(f.p99)} | ${ms(f.p999)} | ${fmt(f.errors)} | ${fmt(f.cpuPerMsgUs)} | ${fmt(f.perCoreMsgS)} | ${fmt(f.targetCpuPct, 1)} | ${fmt(f.hostCpuPerMsgUs)} | ${fmt(f.generatorCpuPct, 1)} | ${run.scenario.mode === 'resume' ? `${fmt(f.resumedPct, 1)}%` : '–'} |`,
      )
    }
    out.push('')
    out.push(`### ehi-gateway ratios (${KEY_TYPE_LABEL[keyType]})`)
    out.push('')
    out.push(
      '| Scenario | Target | CPU/msg × nginx | CPU/msg × floor | p99 × nginx | p99 × floor | p99 share of 200 ms |',
    )
    out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
    for (const run of runs) {
      if ((run.target !== 'gw1' && run.target !== 'gwN') || !run.result) continue
      const r = gatewayRatios(result.runs, run)
      out.push(
        `| ${scenarioLabel(run)} | ${TARGET_LABEL[run.target]} | ${x(r.cpuVsNginx)} | ${x(r.cpuVsFloor)} | ${x(r.p99VsNginx)} | ${x(r.p99VsFloor)} | ${r.budgetPctAtP99 == null ? '–' : `${fmt(r.budgetPctAtP99, 1)}%`} |`,
      )
    }
    out.push('')
  }

  if (result.cryptoFloor.length > 0) {
    out.push('## Crypto floor per full handshake (server side, node:crypto, medians)')
    out.push('')
    out.push(
      '| Keys | server signature µs | client chain verify µs | CertificateVerify µs | X25519 µs | total µs | iterations |',
    )
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for (const c of result.cryptoFloor)
      out.push(
        `| ${KEY_TYPE_LABEL[c.keyType]} | ${fmt(c.serverSignUs, 1)} | ${fmt(c.clientChainVerifyUs, 1)} | ${fmt(c.certificateVerifyUs, 1)} | ${fmt(c.ecdheX25519Us, 1)} | ${fmt(c.totalUs, 1)} | ${c.iterations} |`,
      )
    out.push('')
  }

  if (result.crossChecks.length > 0) {
    out.push('## Generator cross-check against autocannon (keep-alive, same target and payload)')
    out.push('')
    out.push(
      '| Target | Keys | conns | generator req/s | autocannon req/s | generator / autocannon | target µs/req: generator, autocannon | client CPU %: generator, autocannon | runs: generator; autocannon | autocannon errors |',
    )
    out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |')
    for (const c of result.crossChecks)
      out.push(
        `| ${TARGET_LABEL[c.target]} | ${KEY_TYPE_LABEL[c.keyType]} | ${c.connections} | ${fmt(c.generatorRps)} | ${fmt(c.autocannonRps)} | ${x(c.ratio)} | ${fmt(c.generatorTargetUsPerReq)}, ${fmt(c.autocannonTargetUsPerReq)} | ${fmt(c.generatorClientCpuPct)}, ${fmt(c.autocannonClientCpuPct)} | ${c.generatorRuns.map((n) => fmt(n)).join(', ')}; ${c.autocannonRuns.map((n) => fmt(n)).join(', ')} | ${fmt(c.autocannonErrors + c.autocannonNon2xx)} |`,
      )
    out.push('')
  }
  return out.join('\n')
}

/**
 * What makes a smoke run fail: not speed (no thresholds), only a suite that does not work: a run
 * without answers, errors on more than 1% of messages, a resumption scenario that never resumed,
 * an autocannon cross-check without answers. Skipped nginx (not installed) is not a problem.
 */
export function smokeProblems(result: BenchResult): string[] {
  const problems: string[] = []
  for (const run of result.runs) {
    const where = `${run.keyType} ${run.target} ${run.scenario.id}`
    if (!run.result) {
      if (run.skipped !== 'nginx not installed') problems.push(`${where}: no result (${run.skipped})`)
      continue
    }
    const r = run.result
    if (r.ok === 0) problems.push(`${where}: no successful answer`)
    // 5xx answers are the gateway's own answers under load (a decision past its deadline gets a
    // 504): reported in the table, not a broken suite. Transport errors and 4xx are.
    const broken = Object.entries(r.errorKinds)
      .filter(([kind]) => !/^status_5/.test(kind))
      .reduce((sum, [, n]) => sum + n, 0)
    if (broken > Math.max(1, 0.01 * (r.ok + r.errors)))
      problems.push(`${where}: ${broken} errors (${JSON.stringify(r.errorKinds)})`)
    if (run.scenario.mode === 'resume' && r.resumed === 0)
      problems.push(`${where}: no TLS session was resumed`)
  }
  for (const c of result.crossChecks)
    if (c.autocannonRps === 0) problems.push(`cross-check ${c.target}: autocannon got no answer`)
  return problems
}
