/**
 * The cluster primary: forks one data-plane worker per core, replaces a worker that dies, and
 * runs the control plane (admin server with the workers' metrics summed, readiness, reload).
 * A reload is validated here, then applied by every worker; drain reaches every worker.
 */
import cluster, { type Worker } from 'node:cluster'
import { randomBytes } from 'node:crypto'
import { AggregatorRegistry, Registry } from 'prom-client'
import type { LoadOptions } from '../config/load-config.ts'
import type { Runtime } from '../gateway/compile-runtime.ts'
import { createLogger } from '../observability/logger.ts'
import { startControlPlane, type ControlPlane } from '../operate/control-plane.ts'
import { fingerprint, isMessage, type ToPrimary, type ToWorker } from './messages.ts'

const RELOAD_TIMEOUT_MS = 10_000
const RESTART_BACKOFF_MS = 1000

export async function runPrimary(runtime: Runtime, source: LoadOptions, count: number): Promise<void> {
  const logger = createLogger(runtime.config.log).child({ role: 'primary' })
  const aggregator = new AggregatorRegistry()
  const ready = new Set<number>()
  const pendingReloads = new Map<number, { expect: number; results: ToPrimary[]; done: () => void }>()
  let draining = false
  let reloadId = 0
  let lastRestart = 0
  // Set once the control plane runs; a worker may die before that.
  const plane: { current?: ControlPlane } = {}

  const onMessage = (worker: Worker, message: unknown) => {
    if (!isMessage<ToPrimary>(message)) return
    if (message.type === 'ehi:ready') {
      ready.add(worker.id)
      worker.send(ticketMessage())
    } else if (message.type === 'ehi:reload-result') {
      const pending = pendingReloads.get(message.id)
      if (!pending) return
      pending.results.push(message)
      if (pending.results.length >= pending.expect) pending.done()
    }
  }
  // One session-ticket key for all workers, so a ticket resumes whichever worker takes it.
  let ticketKeys = randomBytes(48)
  const ticketMessage = (): ToWorker => ({ type: 'ehi:ticket-keys', keys: ticketKeys.toString('base64') })
  const shareTicketKeys = () => {
    ticketKeys = randomBytes(48)
    for (const worker of Object.values(cluster.workers ?? {}))
      if (worker && ready.has(worker.id)) worker.send(ticketMessage())
  }
  setInterval(shareTicketKeys, runtime.config.tls.ticketKeyRotationMinutes * 60_000).unref()
  const fork = () => {
    const worker = cluster.fork()
    worker.on('message', (message: unknown) => onMessage(worker, message))
    return worker
  }
  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id)
    if (draining) return
    plane.current?.noteWorkerRestart()
    logger.error(
      { event: 'worker_exit', pid: worker.process.pid, code, signal },
      'worker exited unexpectedly; starting a new one',
    )
    // Back off when workers die in a loop (a config file broken since start, say).
    const wait = Math.max(0, lastRestart + RESTART_BACKOFF_MS - Date.now())
    lastRestart = Date.now() + wait
    setTimeout(fork, wait).unref()
  })

  const control = await startControlPlane({
    runtime,
    source,
    logger,
    registry: new Registry(),
    dataMetrics: async () => (await aggregator.clusterMetrics()) as string,
    contentType: aggregator.contentType,
    workers: () => ({ up: ready.size, expected: count }),
    apply: async (next) => {
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker =>
        Boolean(w && ready.has(w.id)),
      )
      const id = ++reloadId
      const results: ToPrimary[] = []
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, RELOAD_TIMEOUT_MS)
        pendingReloads.set(id, {
          expect: workers.length,
          results,
          done: () => (clearTimeout(timer), resolve()),
        })
        const message: ToWorker = { type: 'ehi:reload', id, expect: fingerprint(next) }
        for (const worker of workers) worker.send(message)
        if (workers.length === 0) resolve()
      })
      pendingReloads.delete(id)
      const failed = results.filter((r) => r.type === 'ehi:reload-result' && !r.ok)
      const missing = workers.length - results.length
      const problems = failed.flatMap((r) => (r.type === 'ehi:reload-result' ? r.problems : []))
      if (missing > 0) problems.push(`${missing} worker(s) did not answer within ${RELOAD_TIMEOUT_MS} ms`)
      // New trust, new ticket key: no ticket from before the reload resumes.
      if (problems.length === 0) shareTicketKeys()
      return { ok: problems.length === 0, problems }
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
    logger.info({ event: 'stopping', signal, workers: ready.size }, 'stopping: draining every worker')
    for (const worker of Object.values(cluster.workers ?? {}))
      worker?.send({ type: 'ehi:drain', timeoutMs } satisfies ToWorker)
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
