/**
 * A cluster worker: one data plane on the shared EHI port. The primary runs the admin server,
 * reloads and supervision; the worker serves only what the primary validated and sent it (it
 * never reads the configuration or the files it names), and drains on request.
 */
import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client'
import { ConfigError } from '../../config/config-issues.ts'
import type { ConfigSnapshot } from '../../runtime/config-snapshot.ts'
import { compileSnapshot, type Runtime } from '../../runtime/compile-runtime.ts'
import { createLogger } from '../../observability/logger.ts'
import { startGateway, type RunningGateway } from '../start-gateway.ts'
import { isMessage, type ToPrimary, type ToWorker } from './messages.ts'

const LEDGER_STATUS_EVERY_MS = 2000

export async function runWorker(): Promise<void> {
  const send = (message: ToPrimary) => process.send?.(message)
  const start = await new Promise<Extract<ToWorker, { type: 'ehi:start' }>>((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isMessage<ToWorker>(message) || message.type !== 'ehi:start') return
      process.off('message', onMessage)
      resolve(message)
    }
    process.on('message', onMessage)
    send({ type: 'ehi:hello' })
  })
  // A snapshot that does not compile here, or not to what the primary validated, is not served.
  const runtime = compileExactly(start.snapshot, start.fingerprint)
  const logger = createLogger(runtime.config.log).child({ role: 'worker' })
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  // The primary's AggregatorRegistry collects this registry over IPC for /metrics. prom-client
  // installs the worker's answering listener only in the constructor, so one is made here.
  AggregatorRegistry.setRegistries([registry])
  void new AggregatorRegistry()
  // Port 0 (tests) would give each worker a port of its own: those share the primary's handle.
  const gateway: RunningGateway = await startGateway({
    runtime,
    registry,
    logger,
    controlPlane: false,
    reusePort: runtime.config.listen.port !== 0,
  })

  let draining = false
  const drain = (timeoutMs?: number) => {
    if (draining) return
    draining = true
    void gateway.drain(timeoutMs).then(() => {
      logger.flush()
      process.disconnect?.()
      process.exitCode = 0
    })
  }
  const prepared = new Map<number, Runtime>()
  process.on('message', (message: unknown) => {
    if (!isMessage<ToWorker>(message)) return
    switch (message.type) {
      case 'ehi:drain':
        return drain(message.timeoutMs)
      case 'ehi:ticket-keys':
        return gateway.setTicketKeys(Buffer.from(message.keys, 'base64'), message.keepPrevious)
      case 'ehi:prepare':
        try {
          prepared.set(message.id, compileExactly(message.snapshot, message.fingerprint))
          return send({ type: 'ehi:prepared', id: message.id, ok: true, problems: [] })
        } catch (error) {
          const problems =
            error instanceof ConfigError
              ? error.issues.map((i) => `${i.path}: ${i.message}`)
              : [(error as Error).message]
          return send({ type: 'ehi:prepared', id: message.id, ok: false, problems })
        }
      case 'ehi:commit': {
        const next = prepared.get(message.id)
        prepared.delete(message.id)
        if (!next) return
        gateway.applyRuntime(next)
        return send({ type: 'ehi:committed', id: message.id, fingerprint: next.fingerprint })
      }
      case 'ehi:abort':
        prepared.delete(message.id)
        return
    }
  })
  // Signals to the whole process group (Ctrl-C) reach workers too: drain like on request.
  process.on('SIGTERM', () => drain())
  process.on('SIGINT', () => drain())
  // Reloads come from the primary; a SIGHUP must not kill the worker.
  process.on('SIGHUP', () => undefined)
  send({ type: 'ehi:ready', fingerprint: runtime.fingerprint })
  // The primary's /readyz reports every worker's ledger.
  const reportLedger = () => send({ type: 'ehi:ledger-status', status: gateway.ledger.status() })
  if (gateway.ledger.enabled) {
    reportLedger()
    setInterval(reportLedger, LEDGER_STATUS_EVERY_MS).unref()
  }
}

function compileExactly(snapshot: ConfigSnapshot, fingerprint: string): Runtime {
  const runtime = compileSnapshot(snapshot)
  if (runtime.fingerprint !== fingerprint)
    throw new Error('the configuration received differs from what the primary validated')
  return runtime
}
