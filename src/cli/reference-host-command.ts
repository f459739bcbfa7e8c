/**
 * `ehi-gateway reference-host`: the reference EHI host on its own, plain HTTP, for a container
 * stack or a test bench that needs a host behind the gateway. Never for production: it answers
 * every message as a correct host would, without storing anything.
 */
import type { EhiMode } from '../plane/ehi/classify-ehi-message.ts'
import {
  REFERENCE_BEHAVIOURS,
  startReferenceHost,
  type ReferenceBehaviour,
} from '../tools/reference-host/reference-host.ts'
import { defineCommand, parseCommand, usageError } from './command-line.ts'
import { addressInUse } from './serve-command.ts'

export const REFERENCE_HOST = defineCommand({
  name: 'reference-host',
  synopsis: '[--host ADDR] [--port N] [--behaviour NAME] [--mode 1-4]',
  summary: 'Run the reference EHI host on its own (plain HTTP; demo and tests only).',
  description: `Run the reference EHI host on its own, over plain HTTP: a stand-in for your host that
answers every message as a correct host would, without storing anything. For a container stack
or a test bench; never for production. Ctrl-C stops it.`,
  options: {
    host: { type: 'string', value: 'ADDR', default: '127.0.0.1', help: 'The address to listen on.' },
    port: { type: 'string', value: 'N', default: '9000', help: 'The port to listen on (0: any free port).' },
    behaviour: {
      type: 'string',
      value: 'NAME',
      default: 'approve',
      help: `How it answers: ${REFERENCE_BEHAVIOURS.join(', ')} (see referenceHost.behaviour in the configuration reference).`,
    },
    mode: { type: 'string', value: '1-4', default: '1', help: "The programme's EHI mode." },
  },
})

/** Resolves with an exit code once the host stopped (on SIGTERM or SIGINT); throws a UsageError on bad usage. */
export async function referenceHostCommand(args: string[]): Promise<number> {
  const { values } = parseCommand(REFERENCE_HOST, args)
  const usage = (problem: string) => usageError(REFERENCE_HOST, problem)
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage('--port must be 0..65535')
  if (!(REFERENCE_BEHAVIOURS as readonly string[]).includes(values.behaviour))
    throw usage(`--behaviour must be one of ${REFERENCE_BEHAVIOURS.join(', ')}`)
  const mode = Number(values.mode)
  if (![1, 2, 3, 4].includes(mode)) throw usage('--mode must be 1, 2, 3 or 4')
  const host = await startReferenceHost({
    host: values.host,
    port,
    mode: mode as EhiMode,
    behaviour: values.behaviour as ReferenceBehaviour,
  }).catch((error: unknown) => {
    throw addressInUse('reference-host', error, [
      {
        host: values.host,
        port,
        setting: '--host, --port',
        change: 'or give another --port (0 takes any free port)',
      },
    ])
  })
  process.stdout.write(`reference EHI host listening on ${host.url} (${values.behaviour})\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  await host.close()
  return 0
}
