/**
 * `ehi-gateway reference-host`: the reference EHI host on its own, plain HTTP, for a container
 * stack or a test bench that needs a host behind the gateway. Never for production: it answers
 * every message as a correct host would, without storing anything.
 */
import { parseArgs } from 'node:util'
import type { EhiMode } from '../plane/ehi/classify-ehi-message.ts'
import {
  REFERENCE_BEHAVIOURS,
  startReferenceHost,
  type ReferenceBehaviour,
} from '../tools/reference-host/reference-host.ts'

export const REFERENCE_HOST_USAGE = `  reference-host [--host ADDR] [--port N] [--behaviour NAME] [--mode 1-4]
                               Run the reference EHI host on its own (plain HTTP, default
                               127.0.0.1:9000): a stand-in for your host that answers every
                               message correctly (--behaviour ${REFERENCE_BEHAVIOURS.join('|')}).
                               Demo and tests only; Ctrl-C stops it.
`

/** Resolves with an exit code once the host stopped (on SIGTERM or SIGINT), or at once on bad usage. */
export async function referenceHostCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '9000' },
      behaviour: { type: 'string', default: 'approve' },
      mode: { type: 'string', default: '1' },
    },
  })
  const usage = (message: string) => {
    process.stderr.write(`ehi-gateway reference-host: ${message}\nUsage:\n${REFERENCE_HOST_USAGE}`)
    return 2
  }
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usage('--port must be 0..65535')
  if (!(REFERENCE_BEHAVIOURS as readonly string[]).includes(values.behaviour))
    return usage(`--behaviour must be one of ${REFERENCE_BEHAVIOURS.join(', ')}`)
  const mode = Number(values.mode)
  if (![1, 2, 3, 4].includes(mode)) return usage('--mode must be 1, 2, 3 or 4')
  const host = await startReferenceHost({
    host: values.host,
    port,
    mode: mode as EhiMode,
    behaviour: values.behaviour as ReferenceBehaviour,
  })
  process.stdout.write(`reference EHI host listening on ${host.url} (${values.behaviour})\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  await host.close()
  return 0
}
