/**
 * A cluster worker: one data plane on the shared EHI port. The primary runs the admin server,
 * reloads and supervision; the worker applies what the primary validated and drains on request.
 */
import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client'
import { ConfigError } from '../config/config-issues.ts'
import type { LoadOptions } from '../config/load-config.ts'
import { loadRuntime } from '../gateway/compile-runtime.ts'
import { createLogger } from '../observability/logger.ts'
import { startGateway } from '../start-gateway.ts'
import { fingerprint, isMessage, type ToPrimary, type ToWorker } from './messages.ts'

export async function runWorker(source: LoadOptions): Promise<void> {
  const runtime = loadRuntime(source)
  const logger = createLogger(runtime.config.log).child({ role: 'worker' })
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  // The primary's AggregatorRegistry collects this registry over IPC for /metrics. prom-client
  // installs the worker's answering listener only in the constructor, so one is made here.
  AggregatorRegistry.setRegistries([registry])
  void new AggregatorRegistry()
  const gateway = await startGateway({ runtime, source, registry, logger, controlPlane: false })
  const send = (message: ToPrimary) => process.send?.(message)

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
  process.on('message', (message: unknown) => {
    if (!isMessage<ToWorker>(message)) return
    if (message.type === 'ehi:drain') drain(message.timeoutMs)
    else if (message.type === 'ehi:ticket-keys') gateway.setTicketKeys(Buffer.from(message.keys, 'base64'))
    else if (message.type === 'ehi:reload') {
      try {
        const next = loadRuntime(source)
        const got = fingerprint(next)
        if (got.trustHash !== message.expect.trustHash || got.configHash !== message.expect.configHash) {
          send({
            type: 'ehi:reload-result',
            id: message.id,
            ok: false,
            problems: ['the files changed again while reloading'],
          })
          return
        }
        gateway.applyRuntime(next)
        send({ type: 'ehi:reload-result', id: message.id, ok: true, problems: [] })
      } catch (error) {
        const problems =
          error instanceof ConfigError
            ? error.issues.map((i) => `${i.path}: ${i.message}`)
            : [(error as Error).message]
        send({ type: 'ehi:reload-result', id: message.id, ok: false, problems })
      }
    }
  })
  // Signals to the whole process group (Ctrl-C) reach workers too: drain like on request.
  process.on('SIGTERM', () => drain())
  process.on('SIGINT', () => drain())
  // Reloads come from the primary; a SIGHUP must not kill the worker.
  process.on('SIGHUP', () => undefined)
  send({ type: 'ehi:ready' })
}
