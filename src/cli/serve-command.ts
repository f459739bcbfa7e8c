/**
 * `ehi-gateway serve`: load the config (file and environment), refuse to start on any problem,
 * run until SIGTERM or SIGINT, then close.
 */
import { loadRuntime } from '../gateway/compile-runtime.ts'
import { startGateway, type RunningGateway } from '../start-gateway.ts'

export async function serve(configFile: string | undefined): Promise<RunningGateway> {
  const runtime = loadRuntime({ file: configFile })
  const gateway = await startGateway({ runtime })
  installSignalHandlers(gateway)
  return gateway
}

export function installSignalHandlers(gateway: RunningGateway): void {
  let closing = false
  const stop = (signal: string) => {
    if (closing) return
    closing = true
    gateway.logger.info({ event: 'stopping', signal }, 'stopping')
    gateway.close().then(
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
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
  // SIGHUP would otherwise kill the process; hot reload is not part of this version.
  process.on('SIGHUP', () =>
    gateway.logger.warn({ event: 'sighup' }, 'SIGHUP ignored: restart to apply new configuration'),
  )
}
