/**
 * The cluster primary: forks one data-plane worker per core, replaces a worker that dies, and
 * runs the control plane (admin server with the workers' metrics summed, readiness, reload).
 *
 * The primary alone reads and validates the configuration; workers serve the snapshot it sends
 * them (cluster/messages.ts). A reload reaches every worker in two phases, so it is applied by
 * all or by none, and a worker started at any time, including after a refused reload, serves the
 * primary's last good state.
 */
import cluster, { type Worker } from 'node:cluster'
import { AggregatorRegistry, Registry } from 'prom-client'
import type { LoadOptions } from '../../config/load-config.ts'
import type { Runtime } from '../../runtime/compile-runtime.ts'
import { createLogger } from '../../observability/logger.ts'
import { startControlPlane, type ControlPlane } from '../../control/control-plane.ts'
import type { CrlFetching } from '../../control/crl-fetching.ts'
import type { LedgerStatus } from '../../ledger/rules/ledger-status.ts'
import { isMessage, type ToPrimary, type ToWorker } from './messages.ts'
import { scheduleTicketKeys } from '../ticket-key-schedule.ts'

const RELOAD_TIMEOUT_MS = 10_000
const RESTART_BACKOFF_MS = 1000

interface WorkerState {
  ready: boolean
  /** Its message ledger, as it last reported it. */
  ledger?: LedgerStatus
  /** The snapshot fingerprint the worker last reported serving. */
  serving: string | undefined
}

type Reply = Extract<ToPrimary, { type: 'ehi:prepared' | 'ehi:committed' }>

export async function runPrimary(
  runtime: Runtime,
  source: LoadOptions,
  count: number,
  crls?: CrlFetching,
): Promise<void> {
  const logger = createLogger(runtime.config.log).child({ role: 'primary' })
  const aggregator = new AggregatorRegistry()
  const workers = new Map<Worker, WorkerState>()
  // What every worker must serve: the start runtime, then each reload all workers prepared.
  let validated = runtime
  const waiting = new Map<string, { expect: Set<Worker>; replies: Map<Worker, Reply>; done: () => void }>()
  let draining = false
  let reloadId = 0
  let lastRestart = 0
  // Set once the control plane runs; a worker may die before that.
  const plane: { current?: ControlPlane } = {}

  const readyWorkers = () => [...workers].filter(([, state]) => state.ready).map(([worker]) => worker)

  /** Sends `message` to `targets` and waits for each one's reply (or its exit, or the timeout). */
  function exchange(
    targets: Worker[],
    message: Extract<ToWorker, { id: number }>,
  ): Promise<Map<Worker, Reply>> {
    const key = `${message.type}:${message.id}`
    const replies = new Map<Worker, Reply>()
    return new Promise((resolve) => {
      const expect = new Set(targets)
      const finish = () => {
        clearTimeout(timer)
        waiting.delete(key)
        resolve(replies)
      }
      const timer = setTimeout(finish, RELOAD_TIMEOUT_MS)
      waiting.set(key, { expect, replies, done: finish })
      for (const worker of targets) if (!tell(worker, message)) expect.delete(worker)
      if (expect.size === 0) finish()
    })
  }
  const settle = (worker: Worker, key: string, reply?: Reply) => {
    const pending = waiting.get(key)
    if (!pending || !pending.expect.has(worker)) return
    pending.expect.delete(worker)
    if (reply) pending.replies.set(worker, reply)
    if (pending.expect.size === 0) pending.done()
  }

  /**
   * Applies `next` to `targets` in two phases: all compile it, then all apply it; if any cannot,
   * none applies it. A worker that cannot take the validated state is stopped: the primary
   * replaces it, and the new one starts from `validated`.
   */
  async function applyTo(targets: Worker[], next: Runtime): Promise<string[]> {
    const id = ++reloadId
    const prepared = await exchange(targets, {
      type: 'ehi:prepare',
      id,
      snapshot: next.snapshot,
      fingerprint: next.fingerprint,
    })
    const problems: string[] = []
    for (const worker of targets) {
      const reply = prepared.get(worker)
      if (reply?.type === 'ehi:prepared' && !reply.ok) problems.push(...reply.problems)
      else if (!reply && !worker.isDead())
        problems.push(`worker ${worker.process.pid} did not answer within ${RELOAD_TIMEOUT_MS} ms`)
    }
    if (problems.length > 0) {
      for (const worker of targets) tell(worker, { type: 'ehi:abort', id })
      return problems
    }
    const committed = await exchange(targets, { type: 'ehi:commit', id })
    for (const [worker, reply] of committed) {
      const state = workers.get(worker)
      if (state && reply.type === 'ehi:committed') state.serving = reply.fingerprint
    }
    return []
  }

  /** Brings a worker that does not serve the validated state onto it, or stops it. */
  async function reconcile(worker: Worker): Promise<void> {
    const state = workers.get(worker)
    if (!state?.ready || state.serving === validated.fingerprint || draining) return
    const target = validated
    const problems = await applyTo([worker], target)
    if (problems.length > 0 || workers.get(worker)?.serving !== target.fingerprint) {
      logger.error(
        { event: 'worker_out_of_date', workerPid: worker.process.pid, problems },
        'a worker could not take the validated configuration; replacing it',
      )
      worker.kill('SIGKILL')
    }
  }

  const onMessage = (worker: Worker, message: unknown) => {
    if (!isMessage<ToPrimary>(message)) return
    const state = workers.get(worker)
    if (!state) return
    switch (message.type) {
      case 'ehi:hello':
        tell(worker, {
          type: 'ehi:start',
          snapshot: validated.snapshot,
          fingerprint: validated.fingerprint,
        } satisfies ToWorker)
        return
      case 'ehi:ready':
        state.ready = true
        state.serving = message.fingerprint
        tell(worker, ticketMessage())
        void reconcile(worker)
        return
      case 'ehi:prepared':
        return settle(worker, `ehi:prepare:${message.id}`, message)
      case 'ehi:committed':
        return settle(worker, `ehi:commit:${message.id}`, message)
      case 'ehi:ledger-status':
        state.ledger = message.status
        return
    }
  }
  // One session-ticket key for all workers, so a ticket resumes whichever worker takes it; a
  // worker that starts (or is re-forked) gets the one in force when it is ready.
  let ticketKeys = ''
  const ticketMessage = (keepPrevious = false): ToWorker => ({
    type: 'ehi:ticket-keys',
    keys: ticketKeys,
    keepPrevious,
  })
  const ticketSchedule = scheduleTicketKeys({
    runtime: () => validated,
    install: (keys, keepPrevious) => {
      ticketKeys = keys.toString('base64')
      for (const worker of readyWorkers()) tell(worker, ticketMessage(keepPrevious))
    },
  })
  /**
   * Sends to a worker that may have died a moment ago (its exit not handled yet): a message it
   * cannot take is dropped, never an error that stops the primary. False when not sent.
   */
  function tell(worker: Worker, message: ToWorker): boolean {
    if (worker.isDead() || !worker.isConnected()) return false
    worker.send(message)
    return true
  }
  const fork = () => {
    const worker = cluster.fork()
    // EPIPE from a worker that died between isConnected() and the write: its exit handler copes.
    worker.on('error', (error: NodeJS.ErrnoException) =>
      logger.warn(
        { event: 'worker_ipc_error', workerPid: worker.process.pid, code: error.code },
        'worker IPC error',
      ),
    )
    workers.set(worker, { ready: false, serving: undefined })
    worker.on('message', (message: unknown) => onMessage(worker, message))
    return worker
  }
  cluster.on('exit', (worker, code, signal) => {
    workers.delete(worker)
    for (const key of [...waiting.keys()]) settle(worker, key)
    if (draining) return
    plane.current?.noteWorkerRestart()
    logger.error(
      { event: 'worker_exit', workerPid: worker.process.pid, code, signal },
      'worker exited unexpectedly; starting a new one',
    )
    // Back off when workers die in a loop (a certificate that expired since start, say).
    const wait = Math.max(0, lastRestart + RESTART_BACKOFF_MS - Date.now())
    lastRestart = Date.now() + wait
    setTimeout(fork, wait).unref()
  })

  const control = await startControlPlane({
    runtime,
    source,
    logger,
    registry: crls?.registry ?? new Registry(),
    crls,
    dataMetrics: async () => (await aggregator.clusterMetrics()) as string,
    contentType: aggregator.contentType,
    workers: () => ({ up: readyWorkers().length, expected: count }),
    ledgerStatuses: () => [...workers.values()].flatMap((state) => (state.ledger ? [state.ledger] : [])),
    apply: async (next) => {
      const problems = await applyTo(readyWorkers(), next)
      if (problems.length > 0) return { ok: false, problems }
      validated = next
      // New trust, new ticket key: no ticket from before the reload resumes (a random key is
      // replaced at every reload; a derived one whenever the trust or the secret changed).
      ticketSchedule.refresh()
      // A worker that started while the reload ran got the old state: bring it over.
      for (const worker of readyWorkers()) void reconcile(worker)
      return { ok: true, problems: [] }
    },
  })
  plane.current = control
  // Workers only once the admin server runs: a port already in use fails before any fork.
  for (let i = 0; i < count; i++) fork()
  process.on('SIGHUP', () => void control.reload('SIGHUP'))
  const stop = (signal: NodeJS.Signals) => {
    if (draining) return
    draining = true
    control.setDraining()
    const timeoutMs = runtime.config.shutdown.drainTimeoutMs
    logger.info(
      { event: 'stopping', signal, workers: readyWorkers().length },
      'stopping: draining every worker',
    )
    for (const worker of Object.values(cluster.workers ?? {}))
      if (worker) tell(worker, { type: 'ehi:drain', timeoutMs })
    const force = setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGKILL')
    }, timeoutMs + 5000)
    force.unref()
    const waitForWorkers = () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        void control.close().then(() => {
          logger.info({ event: 'stopped' }, 'stopped')
          logger.flush()
          process.exitCode = 0
        })
      } else setTimeout(waitForWorkers, 20)
    }
    waitForWorkers()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
