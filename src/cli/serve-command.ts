/**
 * `ehi-gateway serve`: load the config (file and environment), refuse to start on any problem,
 * then run until SIGTERM or SIGINT. SIGHUP reloads. With several workers, the cluster primary
 * supervises them (src/server/cluster/).
 */
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import type { LoadOptions } from '../config/load-config.ts'
import { loadRuntimeFetchingCrls } from '../control/crl-fetching.ts'
import { runPrimary } from '../server/cluster/primary.ts'
import { runWorker } from '../server/cluster/worker.ts'
import { startGateway, type RunningGateway } from '../server/start-gateway.ts'
import { defineCommand } from './command-line.ts'

export const SERVE = defineCommand({
  name: 'serve',
  synopsis: '[--config FILE]',
  summary: 'Run the gateway from a configuration file (--config FILE or EHI_GATEWAY_CONFIG).',
  description: `Run the gateway. The configuration is checked as a whole first: on any problem it does
not start, and names every bad field (exit 2). SIGTERM or SIGINT drains and stops it; SIGHUP
reloads it, and so does a change to the file or to a file it names (reload.watchFiles).`,
  options: {
    config: {
      type: 'string',
      short: 'c',
      value: 'FILE',
      help: 'The configuration, YAML or JSON. Default: the file EHI_GATEWAY_CONFIG names. EHI_GATEWAY_* variables override single settings (EHI_GATEWAY_LISTEN__PORT=9443).',
    },
  },
  notes:
    'Exit codes: 0 stopped by a signal, 1 failure at run time (a port in use), 2 invalid configuration or usage.',
})

export async function serve(configFile: string | undefined): Promise<void> {
  const source: LoadOptions = { file: configFile }
  if (cluster.isWorker) return runWorker()
  const { runtime, crls } = await loadRuntimeFetchingCrls(source)
  if (runtime.config.referenceHost.enabled)
    runtime.warnings.push(
      'referenceHost.enabled is true, but `serve` never starts the reference host: `ehi-gateway demo` does, or run `ehi-gateway reference-host` on its own',
    )
  const workers = runtime.config.workers === 0 ? availableParallelism() : runtime.config.workers
  if (workers > 1) return runPrimary(runtime, source, workers, crls)
  const gateway = await startGateway({ runtime, source, processMetrics: true, crls })
  installSignalHandlers(gateway)
}

/**
 * SIGTERM/SIGINT drain then exit 0 (a second signal exits at once); SIGHUP reloads. `alsoClose`:
 * what else the process runs, stopped after the drain (the demo's CRL server).
 */
export function installSignalHandlers(gateway: RunningGateway, alsoClose?: () => Promise<void>): void {
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      gateway.logger.warn({ event: 'forced_exit', signal }, 'second signal: exiting without waiting')
      gateway.logger.flush()
      process.exit(1)
    }
    stopping = true
    gateway.logger.info({ event: 'stopping', signal }, 'stopping')
    gateway
      .drain()
      .then(() => alsoClose?.())
      .then(
        () => {
          gateway.logger.flush()
          process.exitCode = 0
        },
        (error: unknown) => {
          gateway.logger.error({ err: error }, 'error while stopping')
          process.exitCode = 1
        },
      )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', () => void gateway.reload('SIGHUP'))
}
