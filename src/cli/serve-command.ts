/**
 * `ehi-gateway serve`: load the config (file and environment), refuse to start on any problem,
 * then run until SIGTERM or SIGINT. SIGHUP reloads. With several workers, the cluster primary
 * supervises them (src/server/cluster/).
 */
import cluster from 'node:cluster'
import { createServer } from 'node:net'
import { availableParallelism } from 'node:os'
import type { LoadOptions } from '../config/load-config.ts'
import { loadRuntimeFetchingCrls } from '../control/crl-fetching.ts'
import { runPrimary } from '../server/cluster/primary.ts'
import { runWorker } from '../server/cluster/worker.ts'
import { startGateway, type RunningGateway } from '../server/start-gateway.ts'
import { ConfigError } from '../config/config-issues.ts'
import { CONFIG_FILE_ENV, ENV_PREFIX } from '../config/env-overrides.ts'
import type { GatewayConfig } from '../config/config-schema.ts'
import { describeAddressInUse, type Listener } from './address-in-use.ts'
import { CommandError, defineCommand, parseCommand, usageError } from './command-line.ts'
import type { Command } from './commands.ts'

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

/** The `serve` entry of the command table (commands.ts), here so that main.ts can start a server
 * without loading the other commands and their tools. */
export const SERVE_COMMAND: Command = {
  spec: SERVE,
  run: async (args) => {
    await serve(parseCommand(SERVE, args).values.config)
    return -1
  },
}

export async function serve(configFile: string | undefined): Promise<void> {
  const source: LoadOptions = { file: configFile }
  if (cluster.isWorker) {
    // A worker listens on the EHI port only; it has no configuration of its own to name.
    return runWorker().catch((error: unknown) => {
      const { address, port } = error as { address?: string; port?: number }
      throw addressInUse('serve', error, [{ ...LISTEN, host: address ?? '', port: port ?? -1 }])
    })
  }
  const { runtime, crls } = await loadServeConfig(source, process.env)
  if (runtime.config.referenceHost.enabled)
    runtime.warnings.push(
      'referenceHost.enabled is true, but `serve` never starts the reference host: `ehi-gateway demo` does, or run `ehi-gateway reference-host` on its own',
    )
  const listeners = gatewayListeners(runtime.config)
  const workers = runtime.config.workers === 0 ? availableParallelism() : runtime.config.workers
  try {
    if (workers > 1) {
      // The primary replaces a worker that dies, also one that cannot listen: find a port in use
      // before any worker starts, so it is one line and an exit rather than a restart loop.
      await probeListen(runtime.config.listen.host, runtime.config.listen.port)
      return await runPrimary(runtime, source, workers, crls)
    }
    const gateway = await startGateway({ runtime, source, processMetrics: true, crls })
    installSignalHandlers(gateway)
  } catch (error) {
    throw addressInUse('serve', error, listeners)
  }
}

/** Binds `host:port` and lets it go at once: throws EADDRINUSE when something else holds it. */
async function probeListen(host: string, port: number): Promise<void> {
  if (port === 0) return
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port, exclusive: true }, resolve)
  })
  await new Promise((resolve) => server.close(resolve))
}

const LISTEN = { setting: 'listen.port', change: 'or set another listen.port (EHI_GATEWAY_LISTEN__PORT)' }

/**
 * The addresses the gateway listens on, with the settings that choose them. `where` and `hint`
 * are the demo's: which file holds the settings, and the likely culprit.
 */
export function gatewayListeners(config: GatewayConfig, where = '', hint = ''): Listener[] {
  const listeners: Listener[] = [
    { host: config.listen.host, port: config.listen.port, ...LISTEN, setting: `listen.port${where}` },
  ]
  if (config.admin.enabled)
    listeners.push({
      host: config.admin.host,
      port: config.admin.port,
      setting: `admin.port${where}`,
      change: 'or set another admin.port (EHI_GATEWAY_ADMIN__PORT; 0 takes any free port)',
    })
  return listeners.map((l) => ({ ...l, change: `${hint}${l.change}` }))
}

/** A port in use as one line naming its setting (exit 1); any other error unchanged. */
export function addressInUse(command: string, error: unknown, listeners: readonly Listener[]): unknown {
  const line = describeAddressInUse(command, error, listeners)
  return line ? new CommandError(line, 1) : error
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
