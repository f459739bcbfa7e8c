/**
 * The shapes shared by the bench's processes and its report: what a measurement asks for
 * (ScenarioSpec), what the generator answers (GeneratorResult) and the whole run (BenchResult).
 */

export type KeyType = 'rsa' | 'ec'
export const KEY_TYPE_LABEL: Record<KeyType, string> = { rsa: 'RSA-2048', ec: 'ECDSA P-256' }

/** floor: the internal host over mTLS; gw1: ehi-gateway, one worker; gwN: one worker per core. */
export type TargetId = 'floor' | 'gw1' | 'gwN' | 'nginx'
export const TARGET_LABEL: Record<TargetId, string> = {
  floor: 'floor (host direct, mTLS)',
  gw1: 'ehi-gateway 1 worker',
  gwN: 'ehi-gateway 1 worker/core',
  nginx: 'nginx',
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
}

export interface RunRecord {
  keyType: KeyType
  target: TargetId
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

export interface BenchResult {
  mode: 'full' | 'smoke'
  machine: MachineFacts
  durationS: number
  notes: string[]
  cryptoFloor: CryptoFloor[]
  runs: RunRecord[]
  crossChecks: CrossCheck[]
}
