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
import { ConfigError } from '../config/config-issues.ts'
import { CONFIG_FILE_ENV, ENV_PREFIX } from '../config/env-overrides.ts'
import { CommandError, defineCommand, usageError } from './command-line.ts'

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
  const { runtime, crls } = await loadServeConfig(source, process.env)
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
 * The configuration as `serve` reads it. Without a file (neither --config nor EHI_GATEWAY_CONFIG)
 * there is nothing to list field by field: say how to give one. Settings from EHI_GATEWAY_*
 * variables alone are a configuration too; their problems get the same hint.
 */
async function loadServeConfig(source: LoadOptions, env: NodeJS.ProcessEnv) {
  const file = source.file ?? env[CONFIG_FILE_ENV]
  const fromEnv = Object.keys(env).some((name) => name.startsWith(ENV_PREFIX) && name !== CONFIG_FILE_ENV)
  if (!file && !fromEnv)
    throw usageError(SERVE, `no configuration: give --config FILE or set ${CONFIG_FILE_ENV}=FILE`)
  try {
    return await loadRuntimeFetchingCrls(source)
  } catch (error) {
    if (file || !(error instanceof ConfigError)) throw error
    throw new CommandError(
      `${error.message}\nNo configuration file was given, only ${ENV_PREFIX}* variables: give --config FILE or set ${CONFIG_FILE_ENV}=FILE.`,
      2,
    )
  }
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
