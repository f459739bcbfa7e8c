/**
 * The shapes shared by the bench's processes and its report: what a measurement asks for
 * (ScenarioSpec), what the generator answers (GeneratorResult) and the whole run (BenchResult).
 */

export type KeyType = 'rsa' | 'ec'
export const KEY_TYPE_LABEL: Record<KeyType, string> = { rsa: 'RSA-2048', ec: 'ECDSA P-256' }

/**
 * floor: the internal host over mTLS; node: a plain Node https proxy (the fair Node peer); gw1:
 * ehi-gateway, one worker; gw1-sqlite / gw1-pg: the same with the message ledger on SQLite or
 * PostgreSQL; gwN: one worker per core; nginx: one worker; nginxN: `worker_processes auto`.
 */
export type TargetId = 'floor' | 'node' | 'gw1' | 'gw1-sqlite' | 'gw1-pg' | 'gwN' | 'nginx' | 'nginxN'
/** Every target, in the report's order. */
export const TARGET_IDS: readonly TargetId[] = [
  'floor',
  'node',
  'gw1',
  'gw1-sqlite',
  'gw1-pg',
  'nginx',
  'gwN',
  'nginxN',
]
export const TARGET_LABEL: Record<TargetId, string> = {
  floor: 'floor (host direct, mTLS)',
  node: 'plain Node https proxy',
  gw1: 'ehi-gateway 1 worker',
  'gw1-sqlite': 'ehi-gateway 1 worker, ledger SQLite',
  'gw1-pg': 'ehi-gateway 1 worker, ledger PostgreSQL',
  gwN: 'ehi-gateway 1 worker/core',
  nginx: 'nginx',
  nginxN: 'nginx worker_processes auto',
}

/** connect: a new connection and full handshake per message (Thredd); resume: the same with the
 * previous connection's TLS session; keepalive: persistent connections. */
export type ConnectionMode = 'connect' | 'resume' | 'keepalive'
export type LoopKind = 'closed' | 'open'
/** auth: 0100/A decisions; mixed: the simulator's mixed cycle; presentment: ~7 KB clearing record. */
export type MessagePlan = 'auth' | 'mixed' | 'presentment'

export interface ScenarioSpec {
  /** Stable id, e.g. `connect-open-100-auth`. */
  id: string
  mode: ConnectionMode
  loop: LoopKind
  plan: MessagePlan
  /** Closed loop: concurrent clients (or persistent connections). Open loop: keep-alive pool size. */
  concurrency: number
  /** Open loop: messages per second. */
  rate?: number
  warmupMs: number
  durationMs: number
}

/** The quantiles of the latency CDF each run reports (0 = fastest, 1 = slowest). */
export const CDF_QUANTILES: readonly number[] = [
  0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 1,
]

export interface LatencySummary {
  count: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

export interface GeneratorResult {
  /** 2xx answers in the measured window (closed loop) or to messages scheduled in it (open loop). */
  ok: number
  /** Non-2xx answers, connection errors and timeouts, by kind. */
  errors: number
  errorKinds: Record<string, number>
  /** Answers completed inside the measured window, per second. */
  throughput: number
  completedInWindow: number
  windowMs: number
  /** Milliseconds from the scheduled send time (open loop) or the connect/send time (closed loop). */
  latencyMs: LatencySummary
  /** Latency at each quantile of CDF_QUANTILES, in that order (ms): the report's CDF plot. */
  latencyCdfMs?: number[]
  /** Open loop: how late the generator sent messages (its own health; should stay near 0). */
  sendLagMs?: { p99: number; max: number }
  /** Connections made for measured messages (keep-alive: every connection opened) and how many
   * of them resumed a TLS session. */
  connections: number
  resumed: number
  /** CPU time in the window (ms), from /proc utime+stime of each process tree. */
  targetCpuMs: number
  hostCpuMs: number
  generatorCpuMs: number
  /** VmRSS of the target's processes at the end of the window: the largest one (MiB) and how
   * many processes the trees held. */
  rss?: { maxMiB: number; processes: number }
}

export interface RunRecord {
  keyType: KeyType
  target: TargetId
  /** 1-based: the runner repeats the plan's scenario × target sequence `rounds` times. */
  round?: number
  scenario: ScenarioSpec
  result?: GeneratorResult
  /** Why the run has no result (target skipped or failed). */
  skipped?: string
}

export interface CryptoFloor {
  keyType: KeyType
  iterations: number
  /** Medians in microseconds. */
  serverSignUs: number
  clientChainVerifyUs: number
  certificateVerifyUs: number
  ecdheX25519Us: number
  totalUs: number
}

export interface CrossCheck {
  target: TargetId
  keyType: KeyType
  connections: number
  durationMs: number
  /** The best of the rounds (req/s). */
  generatorRps: number
  autocannonRps: number
  /** Each round's throughput, in the order run (generator then autocannon, alternately). */
  generatorRuns: number[]
  autocannonRuns: number[]
  /** The target's CPU per request under each client (best runs): should agree whatever the throughput. */
  generatorTargetUsPerReq: number | null
  autocannonTargetUsPerReq: number | null
  /** Each client's own CPU over its window (100 = its whole core: it was the limit). */
  generatorClientCpuPct: number
  autocannonClientCpuPct: number
  autocannonErrors: number
  autocannonNon2xx: number
  /** generator / autocannon */
  ratio: number
}

export interface MachineFacts {
  cpus: number
  model: string
  memoryGiB: number
  kernel: string
  node: string
  openssl: string
  nginx: string
  date: string
  loadBefore: number[]
  loadAfter: number[]
}

/** The JVM client scenario (`--jvm`): HttpsURLConnection, keep-alive off, paced. */
export interface JvmRun {
  keyType: KeyType
  target: TargetId
  rate: number
  messages: number
  ok: number
  errors: number
  latencyMs: LatencySummary
  latencyCdfMs: number[]
  /** Sockets the client opened for the measured messages. */
  clientConnections: number
  /** Counted by the target (gateway metrics, nginx access log); null where not counted. */
  server: { connections: number; resumed: number } | null
  java: string
}

export interface BenchResult {
  mode: 'full' | 'smoke'
  machine: MachineFacts
  durationS: number
  notes: string[]
  cryptoFloor: CryptoFloor[]
  /** How many times the scenario × target sequence was repeated (1 for runs before rounds). */
  rounds?: number
  runs: RunRecord[]
  crossChecks: CrossCheck[]
  jvm?: JvmRun[]
}
