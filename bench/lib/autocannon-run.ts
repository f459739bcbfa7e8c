/**
 * The cross-check: autocannon against a keep-alive target with the same payload and connection
 * count as the bench's generator, in a process of its own (pinned like the generator):
 * `node bench/lib/autocannon-run.ts '<spec JSON>'`. Prints one JSON line.
 */
import autocannon from 'autocannon'
import { readFileSync } from 'node:fs'
import { requestText } from './messages.ts'
import { treesCpuMs } from './proc-cpu.ts'

export interface AutocannonSpec {
  url: string
  certFile: string
  keyFile: string
  caFile: string
  connections: number
  warmupMs: number
  durationMs: number
  /** The target's process trees, for its CPU time over the measured run. */
  targetPids: number[]
  clockTicks: number
}

export interface AutocannonOutcome {
  ok: number
  non2xx: number
  errors: number
  rps: number
  p99Ms: number
  /** Target CPU time over the measured run (its 16 handshakes included), ms. */
  targetCpuMs: number
  /** autocannon's own CPU time over the measured run, ms. */
  clientCpuMs: number
}

export async function runAutocannon(spec: AutocannonSpec): Promise<AutocannonOutcome> {
  const url = new URL(spec.url)
  // The same request as the generator's `auth` plan sends, split into autocannon's parts.
  const text = requestText('auth', 0, { host: url.host, path: url.pathname, close: false, runId: 1 })
  const [head, body] = [text.slice(0, text.indexOf('\r\n\r\n')), text.slice(text.indexOf('\r\n\r\n') + 4)]
  const headers: Record<string, string> = {}
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).toLowerCase()
    if (name !== 'host' && name !== 'content-length') headers[name] = line.slice(colon + 1).trim()
  }
  const tlsOptions = {
    cert: readFileSync(spec.certFile),
    key: readFileSync(spec.keyFile),
    ca: readFileSync(spec.caFile),
    servername: 'localhost',
  }
  const options = {
    url: spec.url,
    method: 'POST' as const,
    body,
    headers,
    connections: spec.connections,
    tlsOptions,
  }
  if (spec.warmupMs > 0) await autocannon({ ...options, duration: spec.warmupMs / 1000 })
  const [targetBefore] = treesCpuMs([spec.targetPids], spec.clockTicks)
  const selfBefore = process.cpuUsage()
  const result = await autocannon({ ...options, duration: spec.durationMs / 1000 })
  const self = process.cpuUsage(selfBefore)
  const [targetAfter] = treesCpuMs([spec.targetPids], spec.clockTicks)
  const ok = result['2xx']
  return {
    ok,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    rps: Math.round((ok / (spec.durationMs / 1000)) * 10) / 10,
    p99Ms: result.latency.p99,
    targetCpuMs: Math.round((targetAfter! - targetBefore!) * 10) / 10,
    clientCpuMs: Math.round((self.user + self.system) / 100) / 10,
  }
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as AutocannonSpec
  runAutocannon(spec).then(
    (outcome) => {
      process.stdout.write(`${JSON.stringify(outcome)}\n`)
      process.exit(0)
    },
    (error: unknown) => {
      process.stderr.write(`autocannon failed: ${error instanceof Error ? error.stack : String(error)}\n`)
      process.exit(1)
    },
  )
}
