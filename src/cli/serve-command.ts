/**
 * `ehi-gateway serve`: load the config (file and environment), refuse to start on any problem,
 * then run until SIGTERM or SIGINT. SIGHUP reloads. With several workers, the cluster primary
 * supervises them (src/cluster/).
 */
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import type { LoadOptions } from '../config/load-config.ts'
import { loadRuntimeFetchingCrls } from '../operate/crl-fetching.ts'
import { runPrimary } from '../cluster/primary.ts'
import { runWorker } from '../cluster/worker.ts'
import { startGateway, type RunningGateway } from '../start-gateway.ts'

export async function serve(configFile: string | undefined): Promise<void> {
  const source: LoadOptions = { file: configFile }
  if (cluster.isWorker) return runWorker()
  const { runtime, crls } = await loadRuntimeFetchingCrls(source)
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
