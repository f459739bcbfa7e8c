/**
 * What a bench run measures: the scenarios per key type and target, for the full run and for the
 * smoke run (CI: every code path once, briefly, no thresholds). Pure.
 */
import {
  TARGET_IDS,
  type ConnectionMode,
  type KeyType,
  type LoopKind,
  type MessagePlan,
  type ScenarioSpec,
  type TargetId,
} from './types.ts'

export interface PlanBlock {
  keyType: KeyType
  targets: TargetId[]
  scenarios: ScenarioSpec[]
  /** Measured in round 1 only: no target of the report judges these (keeps the run short). */
  firstRoundOnly?: boolean
}

export interface CrossCheckPlan {
  keyType: KeyType
  targets: TargetId[]
  /** Generator and autocannon runs alternate this many times each; the best of each counts. */
  rounds: number
  connections: number
  warmupMs: number
  durationMs: number
}

export interface BenchPlan {
  mode: 'full' | 'smoke'
  /** The whole scenario × target sequence is repeated this many times, interleaved; the report
   * gives medians over the rounds. */
  rounds: number
  blocks: PlanBlock[]
  crossCheck: CrossCheckPlan
  cryptoIterations: number
  /** Per-message timeout in the generator. */
  timeoutMs: number
  /** The whole run is stopped (and fails) past this. */
  budgetMs: number
}

/** Clients (closed loop) or pooled connections (open keep-alive loop). */
export const CLIENTS = 16
/** Closed-loop clients for the new-connection scenarios: enough to keep one core busy without
 * queueing a decision past the gateway's 150 ms deadline on a busy machine. */
export const HANDSHAKE_CLIENTS = 8

export function scenario(
  mode: ConnectionMode,
  loop: LoopKind,
  plan: MessagePlan,
  timing: { warmupMs: number; durationMs: number },
  rate?: number,
): ScenarioSpec {
  const id = loop === 'open' ? `${mode}-open-${rate}-${plan}` : `${mode}-closed-${plan}`
  const concurrency = loop === 'closed' && mode !== 'keepalive' ? HANDSHAKE_CLIENTS : CLIENTS
  return { id, mode, loop, plan, concurrency, ...(rate ? { rate } : {}), ...timing }
}

export function fullPlan(): BenchPlan {
  const closed = { warmupMs: 1000, durationMs: 3000 }
  const paced = { warmupMs: 1000, durationMs: 5000 }
  const key = { warmupMs: 1000, durationMs: 8000 }
  const connectClosed = scenario('connect', 'closed', 'auth', closed)
  const connectOpen100 = scenario('connect', 'open', 'auth', key, 100)
  const resumeClosed = scenario('resume', 'closed', 'auth', closed)
  const keepAliveClosed = scenario('keepalive', 'closed', 'auth', closed)
  const main: TargetId[] = ['floor', 'node', 'gw1', 'nginx']
  const perCore: TargetId[] = ['gwN', 'nginxN']
  // Every round: the scenarios the report's targets judge. Round 1 only: the rest.
  return {
    mode: 'full',
    rounds: 3,
    blocks: [
      {
        keyType: 'rsa',
        targets: main,
        scenarios: [connectClosed, connectOpen100, resumeClosed, keepAliveClosed],
      },
      { keyType: 'rsa', targets: ['gw1-sqlite', 'gw1-pg'], scenarios: [connectClosed, connectOpen100] },
      { keyType: 'rsa', targets: perCore, scenarios: [connectClosed] },
      {
        keyType: 'rsa',
        targets: main,
        firstRoundOnly: true,
        scenarios: [
          scenario('connect', 'closed', 'mixed', closed),
          scenario('connect', 'closed', 'presentment', closed),
          scenario('connect', 'open', 'auth', paced, 50),
          scenario('connect', 'open', 'auth', paced, 200),
          scenario('resume', 'open', 'auth', paced, 100),
          scenario('keepalive', 'closed', 'mixed', closed),
          scenario('keepalive', 'closed', 'presentment', closed),
          scenario('keepalive', 'open', 'auth', paced, 200),
        ],
      },
      {
        keyType: 'rsa',
        targets: perCore,
        firstRoundOnly: true,
        scenarios: [connectOpen100, resumeClosed, keepAliveClosed],
      },
      { keyType: 'ec', targets: main, scenarios: [connectClosed, connectOpen100, resumeClosed] },
      { keyType: 'ec', targets: perCore, scenarios: [connectClosed] },
    ],
    crossCheck: {
      keyType: 'rsa',
      targets: ['floor', 'gw1', 'nginx'],
      rounds: 2,
      connections: CLIENTS,
      warmupMs: 1000,
      durationMs: 3000,
    },
    cryptoIterations: 400,
    timeoutMs: 5000,
    budgetMs: 30 * 60_000,
  }
}

export function smokePlan(): BenchPlan {
  const brief = { warmupMs: 200, durationMs: 800 }
  const connectClosed = scenario('connect', 'closed', 'auth', brief)
  const keepAlive = scenario('keepalive', 'closed', 'presentment', brief)
  return {
    mode: 'smoke',
    rounds: 1,
    blocks: [
      {
        keyType: 'rsa',
        targets: ['floor', 'node', 'gw1', 'nginx'],
        scenarios: [
          connectClosed,
          scenario('connect', 'open', 'mixed', brief, 100),
          scenario('resume', 'closed', 'auth', brief),
          keepAlive,
        ],
      },
      { keyType: 'rsa', targets: ['gwN'], scenarios: [connectClosed, keepAlive] },
      { keyType: 'rsa', targets: ['nginxN'], scenarios: [connectClosed] },
      { keyType: 'ec', targets: ['gw1'], scenarios: [connectClosed] },
    ],
    crossCheck: {
      keyType: 'rsa',
      targets: ['gw1'],
      rounds: 1,
      connections: CLIENTS,
      warmupMs: 200,
      durationMs: 800,
    },
    cryptoIterations: 30,
    timeoutMs: 5000,
    budgetMs: 180_000,
  }
}

/** The key types in plan order, each with its targets in plan order and their scenarios. */
export function planOrder(
  plan: BenchPlan,
): { keyType: KeyType; targets: { target: TargetId; scenarios: ScenarioSpec[] }[] }[] {
  const out: { keyType: KeyType; targets: { target: TargetId; scenarios: ScenarioSpec[] }[] }[] = []
  for (const block of plan.blocks) {
    let entry = out.find((e) => e.keyType === block.keyType)
    if (!entry) out.push((entry = { keyType: block.keyType, targets: [] }))
    for (const target of block.targets) {
      let t = entry.targets.find((e) => e.target === target)
      if (!t) entry.targets.push((t = { target, scenarios: [] }))
      t.scenarios.push(...block.scenarios)
    }
  }
  return out
}

export interface PlanFilter {
  keys?: KeyType[]
  targets?: TargetId[]
  /** Scenario ids, or prefixes of them (`connect-` keeps every new-connection scenario). */
  scenarios?: string[]
  /** `--rounds=N`: another number of rounds than the plan's. */
  rounds?: number
}

/** The plan restricted to some key types, targets or scenarios (for iterating on one figure). */
export function filterPlan(plan: BenchPlan, filter: PlanFilter): BenchPlan {
  const keepScenario = (id: string) => !filter.scenarios || filter.scenarios.some((s) => id.startsWith(s))
  const blocks = plan.blocks
    .filter((b) => !filter.keys || filter.keys.includes(b.keyType))
    .map((b) => ({
      ...b,
      targets: b.targets.filter((t) => !filter.targets || filter.targets.includes(t)),
      scenarios: b.scenarios.filter((s) => keepScenario(s.id)),
    }))
    .filter((b) => b.targets.length > 0 && b.scenarios.length > 0)
  const cc = plan.crossCheck
  const crossCheck = {
    ...cc,
    targets:
      (filter.keys && !filter.keys.includes(cc.keyType)) ||
      (filter.scenarios && !keepScenario('keepalive-closed-auth'))
        ? []
        : cc.targets.filter((t) => !filter.targets || filter.targets.includes(t)),
  }
  return { ...plan, ...(filter.rounds ? { rounds: filter.rounds } : {}), blocks, crossCheck }
}

/** Parses `--keys=rsa,ec --targets=gw1,nginx --scenarios=connect-,keepalive-closed-auth`. */
/** The filter options as given on the command line (`--keys=rsa,ec` is `{ keys: 'rsa,ec' }`). */
export interface FilterOptions {
  keys?: string | undefined
  targets?: string | undefined
  scenarios?: string | undefined
  rounds?: string | undefined
}

/** Throws an Error naming the option for a value it does not know. */
export function parseFilter(options: FilterOptions): PlanFilter {
  const filter: PlanFilter = {}
  const list = (name: keyof FilterOptions) => options[name]?.split(',').filter(Boolean)
  const keys = list('keys')
  const targets = list('targets')
  const scenarios = list('scenarios')
  for (const k of keys ?? [])
    if (k !== 'rsa' && k !== 'ec') throw new Error(`--keys: unknown key type ${k} (rsa, ec)`)
  for (const t of targets ?? [])
    if (!(TARGET_IDS as readonly string[]).includes(t))
      throw new Error(`--targets: unknown target ${t} (${TARGET_IDS.join(', ')})`)
  if (keys) filter.keys = keys as KeyType[]
  if (targets) filter.targets = targets as TargetId[]
  if (scenarios) filter.scenarios = scenarios
  if (options.rounds !== undefined) {
    const n = Number(options.rounds)
    if (!Number.isInteger(n) || n < 1 || n > 9) throw new Error(`--rounds: 1 to 9, not ${options.rounds}`)
    filter.rounds = n
  }
  return filter
}

/**
 * The measurements of one key type in the order they run: round after round, each scenario
 * visiting its targets in plan order, so the targets compared in a row are measured seconds
 * apart and every round spreads the machine's neighbours over all of them.
 */
export function schedule(
  plan: BenchPlan,
  keyType: KeyType,
): { round: number; scenario: ScenarioSpec; targets: TargetId[] }[] {
  const out: { round: number; scenario: ScenarioSpec; targets: TargetId[] }[] = []
  const blocks = plan.blocks.filter((b) => b.keyType === keyType)
  for (let round = 1; round <= plan.rounds; round++) {
    const entries = blocks
      .filter((b) => round === 1 || !b.firstRoundOnly)
      .map((b) => ({ targets: b.targets, scenarios: b.scenarios }))
    const targetOrder = planOrder({ ...plan, blocks: blocks }).find((o) => o.keyType === keyType)
    const rank = (t: TargetId) => targetOrder?.targets.findIndex((x) => x.target === t) ?? 0
    for (const { scenario: s, targets } of scenarioRounds(
      entries.flatMap((e) => e.targets.map((target) => ({ target, scenarios: e.scenarios }))),
    ))
      out.push({ round, scenario: s, targets: [...targets].sort((a, b) => rank(a) - rank(b)) })
  }
  return out
}

/** The scenarios of one key type in plan order, each with the targets that run it (plan order). */
export function scenarioRounds(
  targets: readonly { target: TargetId; scenarios: readonly ScenarioSpec[] }[],
): { scenario: ScenarioSpec; targets: TargetId[] }[] {
  const rounds: { scenario: ScenarioSpec; targets: TargetId[] }[] = []
  for (const { target, scenarios } of targets)
    for (const s of scenarios) {
      let round = rounds.find((r) => r.scenario.id === s.id)
      if (!round) rounds.push((round = { scenario: s, targets: [] }))
      if (!round.targets.includes(target)) round.targets.push(target)
    }
  return rounds
}
