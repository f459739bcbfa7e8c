/**
 * The bench report: figures derived from the generator's counts, each ehi-gateway figure as a
 * ratio to nginx and to the floor, the share of Thredd's 200 ms budget at p99, the issue's three
 * targets marked met or missed (reported, never asserted), and the markdown rendering. Pure.
 */
import { median } from './stats.ts'
import {
  KEY_TYPE_LABEL,
  TARGET_IDS,
  TARGET_LABEL,
  type BenchResult,
  type GeneratorResult,
  type KeyType,
  type RunRecord,
  type ScenarioSpec,
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

/**
 * One (key type, target, scenario) over the rounds: the median of each figure over the rounds
 * that have a result, and the spread (min–max) of the CPU per message and the p99.
 */
export interface Aggregate {
  keyType: KeyType
  target: TargetId
  scenario: ScenarioSpec
  runs: RunRecord[]
  /** Rounds with a result. */
  rounds: number
  /** Medians over those rounds (null: no round has a result). */
  figures: Figures | null
  cpuSpread: [number, number] | null
  p99Spread: [number, number] | null
  /** Errors summed over the rounds. */
  errorsTotal: number
  /** The largest process's RSS (median over rounds, MiB) and the most processes seen. */
  rss: { maxMiB: number; processes: number } | null
  /** Why no round has a result. */
  skipped?: string
}

const spreadOf = (values: number[]): [number, number] | null =>
  values.length === 0 ? null : [Math.min(...values), Math.max(...values)]

function medianFigures(list: Figures[]): Figures {
  const pick = (key: keyof Figures, digits: number): number | null => {
    const values = list.map((f) => f[key]).filter((v): v is number => v != null)
    if (values.length === 0) return null
    const factor = 10 ** digits
    return Math.round(median(values) * factor) / factor
  }
  return {
    throughput: pick('throughput', 0) ?? 0,
    p50: pick('p50', 3) ?? 0,
    p90: pick('p90', 3) ?? 0,
    p99: pick('p99', 3) ?? 0,
    p999: pick('p999', 3) ?? 0,
    errors: pick('errors', 0) ?? 0,
    cpuPerMsgUs: pick('cpuPerMsgUs', 0),
    perCoreMsgS: pick('perCoreMsgS', 0),
    targetCpuPct: pick('targetCpuPct', 1) ?? 0,
    hostCpuPerMsgUs: pick('hostCpuPerMsgUs', 0),
    generatorCpuPct: pick('generatorCpuPct', 1) ?? 0,
    resumedPct: pick('resumedPct', 1),
  }
}

/** The runs grouped per key type, target and scenario, in scenario order then target order. */
export function aggregate(runs: readonly RunRecord[]): Aggregate[] {
  const groups = new Map<string, RunRecord[]>()
  const scenarioRank = new Map<string, number>()
  for (const run of runs) {
    const key = `${run.keyType}|${run.target}|${run.scenario.id}`
    let list = groups.get(key)
    if (!list) groups.set(key, (list = []))
    list.push(run)
    const sKey = `${run.keyType}|${run.scenario.id}`
    // Scenario order: as first measured (round 1), else as first listed.
    const rank = (run.round ?? 1) * 1e6 + runs.indexOf(run)
    if (!scenarioRank.has(sKey) || rank < scenarioRank.get(sKey)!) scenarioRank.set(sKey, rank)
  }
  const out: Aggregate[] = []
  for (const list of groups.values()) {
    const first = list[0]!
    const measured = list.filter((r) => r.result)
    const all = measured.map((r) => figures(r.result!))
    const rssList = measured.map((r) => r.result!.rss).filter((r) => r != null)
    out.push({
      keyType: first.keyType,
      target: first.target,
      scenario: first.scenario,
      runs: list,
      rounds: measured.length,
      figures: all.length > 0 ? medianFigures(all) : null,
      cpuSpread: spreadOf(all.map((f) => f.cpuPerMsgUs).filter((v): v is number => v != null)),
      p99Spread: spreadOf(all.map((f) => f.p99)),
      errorsTotal: all.reduce((sum, f) => sum + f.errors, 0),
      rss:
        rssList.length > 0
          ? {
              maxMiB: Math.round(median(rssList.map((r) => r.maxMiB)) * 10) / 10,
              processes: Math.max(...rssList.map((r) => r.processes)),
            }
          : null,
      ...(measured.length === 0 ? { skipped: list.find((r) => r.skipped)?.skipped ?? 'no result' } : {}),
    })
  }
  const keyRank = (k: KeyType) => (k === 'rsa' ? 0 : 1)
  return out.sort(
    (a, b) =>
      keyRank(a.keyType) - keyRank(b.keyType) ||
      scenarioRank.get(`${a.keyType}|${a.scenario.id}`)! -
        scenarioRank.get(`${b.keyType}|${b.scenario.id}`)! ||
      TARGET_IDS.indexOf(a.target) - TARGET_IDS.indexOf(b.target),
  )
}

export function findAggregate(
  aggs: readonly Aggregate[],
  keyType: KeyType,
  target: TargetId,
  scenarioId: string,
): Aggregate | undefined {
  return aggs.find((a) => a.keyType === keyType && a.target === target && a.scenario.id === scenarioId)
}

/** The round whose p99 is the median of the rounds (round 1 when there is one): for the CDF plot. */
export function medianRun(agg: Aggregate): RunRecord | undefined {
  const measured = agg.runs.filter((r) => r.result)
  if (measured.length === 0) return undefined
  const sorted = [...measured].sort((a, b) => a.result!.latencyMs.p99 - b.result!.latencyMs.p99)
  return sorted[(sorted.length - 1) >> 1]
}

/** a / b, or null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || b === 0) return null
  return Math.round((a / b) * 100) / 100
}

export interface GatewayRatios {
  cpuVsNginx: number | null
  cpuVsNode: number | null
  cpuVsFloor: number | null
  p99VsNginx: number | null
  p99VsFloor: number | null
  /** p99 as a percentage of Thredd's 200 ms. */
  budgetPctAtP99: number | null
}

/** The gateway's medians against the medians of the other targets (gwN against nginxN). */
export function gatewayRatios(aggs: readonly Aggregate[], agg: Aggregate): GatewayRatios {
  const own = agg.figures
  const other = (target: TargetId) => findAggregate(aggs, agg.keyType, target, agg.scenario.id)?.figures
  const nginx = agg.target === 'gwN' ? (other('nginxN') ?? other('nginx')) : other('nginx')
  const floor = other('floor')
  const node = other('node')
  return {
    cpuVsNginx: ratio(own?.cpuPerMsgUs, nginx?.cpuPerMsgUs),
    cpuVsNode: ratio(own?.cpuPerMsgUs, node?.cpuPerMsgUs),
    cpuVsFloor: ratio(own?.cpuPerMsgUs, floor?.cpuPerMsgUs),
    p99VsNginx: ratio(own?.p99, nginx?.p99),
    p99VsFloor: ratio(own?.p99, floor?.p99),
    budgetPctAtP99: own ? Math.round((own.p99 / THREDD_BUDGET_MS) * 1000) / 10 : null,
  }
}

export type TargetMetric = 'cpuPerMsgUs' | 'p99' | 'p999' | 'throughput' | 'rssMiB'

export interface TargetSpec {
  name: string
  keyType: KeyType
  scenarioId: string
  metric: TargetMetric
  /** The target measured (ehi-gateway 1 worker unless said). */
  subject: TargetId
  /** What it is compared with; absent: `limit` is an absolute figure. */
  reference?: TargetId
  /**
   * max: subject ≤ limit × reference (or ≤ limit); min: subject ≥ limit × reference; noise:
   * subject ≤ the reference's worst round (within the reference's own spread).
   */
  kind: 'max' | 'min' | 'noise'
  limit: number
}

export interface TargetCheck extends TargetSpec {
  value: number | null
  referenceValue: number | null
  /** The reference's min–max over rounds (the noise a `noise` check is judged against). */
  referenceSpread: [number, number] | null
  ratio: number | null
  /** null when a figure is missing (a target skipped, a run failed). */
  met: boolean | null
}

const rsaEc = (spec: Omit<TargetSpec, 'keyType'>): TargetSpec[] => [
  { ...spec, keyType: 'rsa' },
  { ...spec, keyType: 'ec' },
]

/** The targets of issue 17, judged on medians over the rounds. */
export const TARGETS: readonly TargetSpec[] = [
  ...rsaEc({
    name: 'Thredd pattern: CPU per message ≤ 1.0 × nginx',
    scenarioId: 'connect-closed-auth',
    metric: 'cpuPerMsgUs',
    subject: 'gw1',
    reference: 'nginx',
    kind: 'max',
    limit: 1,
  }),
  ...rsaEc({
    name: 'Thredd pattern: CPU per message ≤ 0.8 × nginx (moonshot)',
    scenarioId: 'connect-closed-auth',
    metric: 'cpuPerMsgUs',
    subject: 'gw1',
    reference: 'nginx',
    kind: 'max',
    limit: 0.8,
  }),
  ...rsaEc({
    name: 'Thredd pattern: CPU per message ≤ 1.05 × plain Node proxy',
    scenarioId: 'connect-closed-auth',
    metric: 'cpuPerMsgUs',
    subject: 'gw1',
    reference: 'node',
    kind: 'max',
    limit: 1.05,
  }),
  {
    name: 'Thredd pattern at 100/s: p99 ≤ 1.2 × nginx',
    keyType: 'rsa',
    scenarioId: 'connect-open-100-auth',
    metric: 'p99',
    subject: 'gw1',
    reference: 'nginx',
    kind: 'max',
    limit: 1.2,
  },
  {
    name: 'Thredd pattern at 100/s: p99.9 ≤ 1.5 × nginx',
    keyType: 'rsa',
    scenarioId: 'connect-open-100-auth',
    metric: 'p999',
    subject: 'gw1',
    reference: 'nginx',
    kind: 'max',
    limit: 1.5,
  },
  ...rsaEc({
    name: 'Resumed sessions: CPU per message ≤ 1.1 × nginx',
    scenarioId: 'resume-closed-auth',
    metric: 'cpuPerMsgUs',
    subject: 'gw1',
    reference: 'nginx',
    kind: 'max',
    limit: 1.1,
  }),
  {
    name: 'Keep-alive: CPU per request ≤ 1.2 × plain Node proxy',
    keyType: 'rsa',
    scenarioId: 'keepalive-closed-auth',
    metric: 'cpuPerMsgUs',
    subject: 'gw1',
    reference: 'node',
    kind: 'max',
    limit: 1.2,
  },
  ...rsaEc({
    name: 'Both cores: capacity (msg/s) 1 worker/core ≥ 0.9 × nginx auto (at p99 ≤ 50 ms: see the p99 column)',
    scenarioId: 'connect-closed-auth',
    metric: 'throughput',
    subject: 'gwN',
    reference: 'nginxN',
    kind: 'min',
    limit: 0.9,
  }),
  ...rsaEc({
    name: 'Memory: largest gateway process RSS at 100/s ≤ 120 MiB',
    scenarioId: 'connect-open-100-auth',
    metric: 'rssMiB',
    subject: 'gw1',
    kind: 'max',
    limit: 120,
  }),
  {
    name: 'Memory: largest gateway process RSS at 100/s ≤ 120 MiB',
    keyType: 'rsa',
    scenarioId: 'connect-open-100-auth',
    metric: 'rssMiB',
    subject: 'gwN',
    kind: 'max',
    limit: 120,
  },
  ...(['gw1-sqlite', 'gw1-pg'] as const).flatMap((subject): TargetSpec[] => [
    {
      name: `Ledger (${subject === 'gw1-pg' ? 'PostgreSQL' : 'SQLite'}): CPU per message ≤ 1.05 × without`,
      keyType: 'rsa',
      scenarioId: 'connect-closed-auth',
      metric: 'cpuPerMsgUs',
      subject,
      reference: 'gw1',
      kind: 'max',
      limit: 1.05,
    },
    {
      name: `Ledger (${subject === 'gw1-pg' ? 'PostgreSQL' : 'SQLite'}): p99 at 100/s within the noise of without`,
      keyType: 'rsa',
      scenarioId: 'connect-open-100-auth',
      metric: 'p99',
      subject,
      reference: 'gw1',
      kind: 'noise',
      limit: 1,
    },
  ]),
]

function metricOf(agg: Aggregate | undefined, metric: TargetMetric): number | null {
  if (!agg) return null
  if (metric === 'rssMiB') return agg.rss?.maxMiB ?? null
  return agg.figures?.[metric] ?? null
}

/** Every target, judged on the medians of the rounds. */
export function evaluateTargets(runs: readonly RunRecord[], aggs = aggregate(runs)): TargetCheck[] {
  return TARGETS.map((t) => {
    const subject = findAggregate(aggs, t.keyType, t.subject, t.scenarioId)
    const reference = t.reference ? findAggregate(aggs, t.keyType, t.reference, t.scenarioId) : undefined
    const value = metricOf(subject, t.metric)
    const referenceValue = t.reference ? metricOf(reference, t.metric) : null
    const referenceSpread =
      t.metric === 'p99'
        ? (reference?.p99Spread ?? null)
        : t.metric === 'cpuPerMsgUs'
          ? (reference?.cpuSpread ?? null)
          : null
    let met: boolean | null
    if (value == null) met = null
    else if (!t.reference) met = t.kind === 'min' ? value >= t.limit : value <= t.limit
    else if (referenceValue == null || referenceValue === 0) met = null
    else if (t.kind === 'noise') met = referenceSpread ? value <= referenceSpread[1] : null
    else met = t.kind === 'min' ? value >= t.limit * referenceValue : value <= t.limit * referenceValue
    return { ...t, value, referenceValue, referenceSpread, ratio: ratio(value, referenceValue), met }
  })
}

export function scenarioLabel(run: { scenario: ScenarioSpec }): string {
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
/** `1,606 (1,580–1,650)`: the median and, over more than one round, the min–max. */
const withSpread = (
  value: number | null | undefined,
  spread: [number, number] | null,
  show: (n: number) => string,
  rounds: number,
): string =>
  value == null
    ? '–'
    : rounds > 1 && spread
      ? `${show(value)} (${show(spread[0])}–${show(spread[1])})`
      : show(value)

function checkValue(
  metric: TargetMetric,
  value: number | null,
  spread: [number, number] | null,
  rounds: number,
): string {
  if (value == null) return '–'
  switch (metric) {
    case 'cpuPerMsgUs':
      return `${withSpread(value, spread, (n) => fmt(n), rounds)} µs`
    case 'p99':
      return `${withSpread(value, spread, ms, rounds)} ms`
    case 'p999':
      return `${ms(value)} ms`
    case 'throughput':
      return `${fmt(value)} msg/s`
    case 'rssMiB':
      return `${fmt(value, 1)} MiB`
  }
}

function limitText(t: TargetCheck): string {
  if (t.kind === 'noise') return `≤ ${TARGET_LABEL[t.reference!]}'s worst round`
  const op = t.kind === 'min' ? '≥' : '≤'
  if (!t.reference) return `${op} ${fmt(t.limit)}${t.metric === 'rssMiB' ? ' MiB' : ''}`
  return `${op} ${fmt(t.limit, 2)}×`
}

export function renderMarkdown(result: BenchResult): string {
  const m = result.machine
  const aggs = aggregate(result.runs)
  const rounds = result.rounds ?? 1
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
    'Target on CPU 0, generator on CPU 1 (`taskset`), the internal host unpinned (shared, the same for every target); ehi-gateway 1 worker/core and nginx auto run on every CPU and share CPU 1 with the generator. CPU µs/msg = utime+stime of the target process tree over the measured window / answers in it.',
  )
  out.push(
    rounds > 1
      ? `${rounds} rounds: the whole scenario × target sequence ran ${rounds} times, interleaved. Every figure is the median over the rounds; \`a (b–c)\` is the median and the min–max of the rounds. Every ratio and verdict uses medians.`
      : 'One round: each figure is a single measurement.',
  )
  for (const note of result.notes) out.push(`- ${note}`)
  out.push('')

  out.push('## Targets (issue 17; judged on medians, reported, never asserted)')
  out.push('')
  out.push('| Target | Keys | measured | figure | against | figure | ratio | limit | |')
  out.push('| --- | --- | --- | ---: | --- | ---: | ---: | ---: | --- |')
  for (const t of evaluateTargets(result.runs, aggs)) {
    const subject = findAggregate(aggs, t.keyType, t.subject, t.scenarioId)
    const reference = t.reference ? findAggregate(aggs, t.keyType, t.reference, t.scenarioId) : undefined
    const spreadOfAgg = (a: Aggregate | undefined) =>
      t.metric === 'p99' ? (a?.p99Spread ?? null) : t.metric === 'cpuPerMsgUs' ? (a?.cpuSpread ?? null) : null
    const verdict = t.met == null ? 'not measured' : t.met ? 'met' : 'MISSED'
    out.push(
      `| ${t.name} | ${KEY_TYPE_LABEL[t.keyType]} | ${TARGET_LABEL[t.subject]} | ${checkValue(t.metric, t.value, spreadOfAgg(subject), subject?.rounds ?? 0)} | ${t.reference ? TARGET_LABEL[t.reference] : '–'} | ${t.reference ? checkValue(t.metric, t.referenceValue, spreadOfAgg(reference), reference?.rounds ?? 0) : '–'} | ${x(t.ratio)} | ${limitText(t)} | ${verdict} |`,
    )
  }
  out.push('')

  for (const keyType of ['rsa', 'ec'] as const) {
    const rows = aggs.filter((a) => a.keyType === keyType)
    if (rows.length === 0) continue
    out.push(`## ${KEY_TYPE_LABEL[keyType]} certificates (server and client)`)
    out.push('')
    out.push(
      '| Scenario | Target | rounds | msg/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors (all rounds) | CPU µs/msg | msg/s per core | target CPU % | host µs/msg | generator CPU % | resumed | largest RSS MiB (processes) |',
    )
    out.push(
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    )
    for (const agg of rows) {
      const f = agg.figures
      if (!f) {
        const empty = Array.from({ length: 12 }, () => ' |').join('')
        out.push(
          `| ${scenarioLabel(agg)} | ${TARGET_LABEL[agg.target]} | 0 | skipped: ${agg.skipped} |${empty}`,
        )
        continue
      }
      const showRss = agg.scenario.loop === 'open' && agg.scenario.rate === 100 && agg.rss
      out.push(
        `| ${scenarioLabel(agg)} | ${TARGET_LABEL[agg.target]} | ${agg.rounds} | ${fmt(f.throughput)} | ${ms(f.p50)} | ${ms(f.p90)} | ${withSpread(f.p99, agg.p99Spread, ms, agg.rounds)} | ${ms(f.p999)} | ${fmt(agg.errorsTotal)} | ${withSpread(f.cpuPerMsgUs, agg.cpuSpread, (n) => fmt(n), agg.rounds)} | ${fmt(f.perCoreMsgS)} | ${fmt(f.targetCpuPct, 1)} | ${fmt(f.hostCpuPerMsgUs)} | ${fmt(f.generatorCpuPct, 1)} | ${agg.scenario.mode === 'resume' ? `${fmt(f.resumedPct, 1)}%` : '–'} | ${showRss ? `${fmt(agg.rss!.maxMiB, 1)} (${agg.rss!.processes})` : '–'} |`,
      )
    }
    out.push('')
    out.push(`### ehi-gateway ratios (${KEY_TYPE_LABEL[keyType]}, medians)`)
    out.push('')
    out.push(
      '| Scenario | Target | CPU/msg × nginx | CPU/msg × plain Node | CPU/msg × floor | p99 × nginx | p99 × floor | p99 share of 200 ms |',
    )
    out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |')
    for (const agg of rows) {
      if (!agg.target.startsWith('gw') || !agg.figures) continue
      const r = gatewayRatios(aggs, agg)
      out.push(
        `| ${scenarioLabel(agg)} | ${TARGET_LABEL[agg.target]} | ${x(r.cpuVsNginx)} | ${x(r.cpuVsNode)} | ${x(r.cpuVsFloor)} | ${x(r.p99VsNginx)} | ${x(r.p99VsFloor)} | ${r.budgetPctAtP99 == null ? '–' : `${fmt(r.budgetPctAtP99, 1)}%`} |`,
      )
    }
    out.push('')
    out.push(
      'ehi-gateway 1 worker/core is compared with nginx `worker_processes auto` (nginx with one worker when that did not run).',
    )
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

  if (result.jvm && result.jvm.length > 0) {
    out.push('## JVM client (HttpsURLConnection, http.keepAlive=false, one SSLContext)')
    out.push('')
    out.push(
      "A Java sender's defaults on Thredd's pattern: a new connection per message, JSSE's own session cache deciding about resumption. Resumed sessions are counted by the target (ehi-gateway: its `ehi_gateway_tls_sessions_resumed_total` and `ehi_gateway_connections_accepted_total` metrics before and after; nginx: `$ssl_session_reused` in its access log); the plain Node proxy counts none (latency only). Latency runs from each message's due time, so a client that falls behind shows it.",
    )
    out.push('')
    out.push(
      '| Target | Keys | rate | messages | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | client connections | server: resumed / connections (warm-up included) | Java |',
    )
    out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
    for (const j of result.jvm)
      out.push(
        `| ${TARGET_LABEL[j.target]} | ${KEY_TYPE_LABEL[j.keyType]} | ${j.rate}/s | ${fmt(j.messages)} | ${ms(j.latencyMs.p50)} | ${ms(j.latencyMs.p90)} | ${ms(j.latencyMs.p99)} | ${ms(j.latencyMs.p999)} | ${fmt(j.errors)} | ${fmt(j.clientConnections)} | ${j.server ? `${fmt(j.server.resumed)} / ${fmt(j.server.connections)}` : 'not counted'} | ${j.java} |`,
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
      // A missing nginx or PostgreSQL is the machine, not the suite.
      if (run.skipped !== 'nginx not installed' && !/PostgreSQL/.test(run.skipped ?? ''))
        problems.push(`${where}: no result (${run.skipped})`)
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
