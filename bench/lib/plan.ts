/**
 * What a bench run measures: the scenarios per key type and target, for the full run and for the
 * smoke run (CI: every code path once, briefly, no thresholds). Pure.
 */
import type { ConnectionMode, KeyType, LoopKind, MessagePlan, ScenarioSpec, TargetId } from './types.ts'

export interface PlanBlock {
  keyType: KeyType
  targets: TargetId[]
  scenarios: ScenarioSpec[]
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
  const all: ScenarioSpec[] = [
    scenario('connect', 'closed', 'auth', closed),
    scenario('connect', 'closed', 'mixed', closed),
    scenario('connect', 'closed', 'presentment', closed),
    scenario('connect', 'open', 'auth', paced, 50),
    scenario('connect', 'open', 'auth', key, 100),
    scenario('connect', 'open', 'auth', paced, 200),
    scenario('resume', 'closed', 'auth', closed),
    scenario('resume', 'open', 'auth', paced, 100),
    scenario('keepalive', 'closed', 'auth', closed),
    scenario('keepalive', 'closed', 'mixed', closed),
    scenario('keepalive', 'closed', 'presentment', closed),
    scenario('keepalive', 'open', 'auth', paced, 200),
  ]
  const perCore: ScenarioSpec[] = [
    scenario('connect', 'closed', 'auth', closed),
    scenario('connect', 'open', 'auth', key, 100),
    scenario('resume', 'closed', 'auth', closed),
    scenario('keepalive', 'closed', 'auth', closed),
  ]
  const ecdsa: ScenarioSpec[] = [
    scenario('connect', 'closed', 'auth', closed),
    scenario('connect', 'open', 'auth', key, 100),
    scenario('resume', 'closed', 'auth', closed),
  ]
  return {
    mode: 'full',
    blocks: [
      { keyType: 'rsa', targets: ['floor', 'gw1', 'nginx'], scenarios: all },
      { keyType: 'rsa', targets: ['gwN'], scenarios: perCore },
      { keyType: 'ec', targets: ['floor', 'gw1', 'nginx'], scenarios: ecdsa },
      { keyType: 'ec', targets: ['gwN'], scenarios: ecdsa.slice(0, 1) },
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
    budgetMs: 9 * 60_000,
  }
}

export function smokePlan(): BenchPlan {
  const brief = { warmupMs: 200, durationMs: 800 }
  const connectClosed = scenario('connect', 'closed', 'auth', brief)
  const keepAlive = scenario('keepalive', 'closed', 'presentment', brief)
  return {
    mode: 'smoke',
    blocks: [
      {
        keyType: 'rsa',
        targets: ['floor', 'gw1', 'nginx'],
        scenarios: [
          connectClosed,
          scenario('connect', 'open', 'mixed', brief, 100),
          scenario('resume', 'closed', 'auth', brief),
          keepAlive,
        ],
      },
      { keyType: 'rsa', targets: ['gwN'], scenarios: [connectClosed, keepAlive] },
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
    budgetMs: 150_000,
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
  return { ...plan, blocks, crossCheck }
}

/** Parses `--keys=rsa,ec --targets=gw1,nginx --scenarios=connect-,keepalive-closed-auth`. */
export function parseFilter(args: readonly string[]): PlanFilter {
  const filter: PlanFilter = {}
  const list = (name: string) => {
    const arg = args.find((a) => a.startsWith(`--${name}=`))
    return arg
      ? arg
          .slice(name.length + 3)
          .split(',')
          .filter(Boolean)
      : undefined
  }
  const keys = list('keys')
  const targets = list('targets')
  const scenarios = list('scenarios')
  for (const k of keys ?? [])
    if (k !== 'rsa' && k !== 'ec') throw new Error(`--keys: unknown key type ${k} (rsa, ec)`)
  for (const t of targets ?? [])
    if (!['floor', 'gw1', 'gwN', 'nginx'].includes(t))
      throw new Error(`--targets: unknown target ${t} (floor, gw1, gwN, nginx)`)
  if (keys) filter.keys = keys as KeyType[]
  if (targets) filter.targets = targets as TargetId[]
  if (scenarios) filter.scenarios = scenarios
  return filter
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
