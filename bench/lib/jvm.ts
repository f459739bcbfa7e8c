/**
 * The JVM client scenario (`--jvm`, never in the smoke run): bench/lib/jvm/EhiClient.java
 * compiled with javac into the run's work folder (Debian's openjdk-17-jdk-headless installed with
 * apt-get when missing and root, as ensureNginx does), the client certificate as PKCS12 made with
 * openssl, then N paced messages through a target, each on a new HttpsURLConnection. Resumption
 * is counted on the server: the gateway's metrics before and after, nginx's access log
 * (`$ssl_session_reused`). The parsers are pure.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildMessage, contentTypeOf, soapActionOf } from '../../src/tools/messages/synthetic-messages.ts'
import type { BenchPki } from './pki.ts'
import { runToEnd } from './processes.ts'
import { quantilesOfSorted, summariseLatencies } from './stats.ts'
import { CDF_QUANTILES, type JvmRun, type KeyType, type TargetId } from './types.ts'

export interface JvmTools {
  javac: string
  java: string
}

function findJava(): JvmTools | null {
  for (const dir of ['/usr/bin', '/usr/local/bin', '/usr/lib/jvm/java-17-openjdk-amd64/bin'])
    if (existsSync(join(dir, 'javac')) && existsSync(join(dir, 'java')))
      return { javac: join(dir, 'javac'), java: join(dir, 'java') }
  return null
}

/** javac and java, installed from Debian's openjdk-17-jdk-headless when missing (root only). */
export async function ensureJava(): Promise<{ tools: JvmTools | null; note?: string }> {
  const found = findJava()
  if (found) return { tools: found }
  if (process.getuid?.() !== 0) return { tools: null, note: 'no JDK (javac) and the bench is not root' }
  console.log('bench: javac missing, installing it with apt-get (Debian package openjdk-17-jdk-headless)')
  const env = 'DEBIAN_FRONTEND=noninteractive'
  await runToEnd('sh', ['-c', `${env} apt-get update -qq`], 180_000)
  const result = await runToEnd(
    'sh',
    ['-c', `${env} apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless`],
    600_000,
  )
  const tools = findJava()
  return tools
    ? { tools }
    : { tools: null, note: `openjdk-17-jdk-headless could not be installed (${result.code})` }
}

export interface JvmClient {
  tools: JvmTools
  classDir: string
  p12: string
  bodyFile: string
}

const P12_PASSWORD = 'bench'

/** Compiles the client and writes its PKCS12 and message body into `dir`. */
export async function prepareJvmClient(
  tools: JvmTools,
  repoRoot: string,
  dir: string,
  pki: BenchPki,
): Promise<JvmClient> {
  mkdirSync(dir, { recursive: true })
  const compiled = await runToEnd(
    tools.javac,
    ['-d', dir, join(repoRoot, 'bench/lib/jvm/EhiClient.java')],
    120_000,
  )
  if (compiled.code !== 0) throw new Error(`javac failed: ${compiled.stderr.trim()}`)
  const p12 = join(dir, `client-${pki.keyType}.p12`)
  const exported = await runToEnd(
    'openssl',
    [
      'pkcs12',
      '-export',
      '-in',
      pki.clientCert,
      '-inkey',
      pki.clientKey,
      '-out',
      p12,
      '-passout',
      `pass:${P12_PASSWORD}`,
    ],
    30_000,
  )
  if (exported.code !== 0) throw new Error(`openssl pkcs12 failed: ${exported.stderr.trim()}`)
  const bodyFile = join(dir, 'auth.xml')
  writeFileSync(bodyFile, buildMessage('auth', 'xml'))
  return { tools, classDir: dir, p12, bodyFile }
}

export interface JvmOutput {
  latenciesMs: number[]
  errors: number
  connections: number
  java: string
}

/** Runs the client once against `port` (pinned to `cpu`). */
export async function runJvmClient(
  client: JvmClient,
  pki: BenchPki,
  port: number,
  cpu: string,
  load: { rate: number; warmup: number; messages: number },
): Promise<JvmOutput> {
  const args = [
    '-c',
    cpu,
    client.tools.java,
    '-cp',
    client.classDir,
    'EhiClient',
    `https://127.0.0.1:${port}/ehi`,
    client.p12,
    P12_PASSWORD,
    pki.serverRootCa,
    client.bodyFile,
    contentTypeOf('xml'),
    soapActionOf('auth'),
    'auth',
    String(load.rate),
    String(load.warmup),
    String(load.messages),
  ]
  const limit = ((load.warmup + load.messages) / load.rate) * 1000 + 90_000
  const { code, stdout, stderr } = await runToEnd('taskset', args, limit)
  const line = stdout.trim().split('\n').pop() ?? ''
  if (code !== 0 || !line.startsWith('{'))
    throw new Error(`JVM client exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)
  return JSON.parse(line) as JvmOutput
}

/** A JvmRun from the client's output and the server's counters before and after. Pure. */
export function jvmRun(
  keyType: KeyType,
  target: TargetId,
  load: { rate: number; messages: number },
  out: JvmOutput,
  before: ServerSessions | null,
  after: ServerSessions | null,
): JvmRun {
  const sorted = Float64Array.from(out.latenciesMs).sort()
  return {
    keyType,
    target,
    rate: load.rate,
    messages: load.messages,
    ok: out.latenciesMs.length,
    errors: out.errors,
    latencyMs: summariseLatencies(sorted),
    latencyCdfMs: quantilesOfSorted(sorted, CDF_QUANTILES),
    clientConnections: out.connections,
    server:
      before && after
        ? { connections: after.connections - before.connections, resumed: after.resumed - before.resumed }
        : null,
    java: out.java,
  }
}

export interface ServerSessions {
  connections: number
  resumed: number
}

/** The value of an unlabelled Prometheus counter in a /metrics text (0 when absent). */
export function metricValue(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)
  return match ? Number(match[1]) : 0
}

/** The gateway's connections and resumed handshakes so far, from its /metrics text. */
export function gatewaySessions(metricsText: string): ServerSessions {
  return {
    connections: metricValue(metricsText, 'ehi_gateway_connections_accepted_total'),
    resumed: metricValue(metricsText, 'ehi_gateway_tls_sessions_resumed_total'),
  }
}

/** Connections and resumed ones in nginx's access log (the bench's `conn=… reused=…` format). */
export function nginxSessions(logText: string): ServerSessions {
  const seen = new Map<string, boolean>()
  for (const match of logText.matchAll(/ conn=(\d+) reused=(\S)/g)) seen.set(match[1]!, match[2] === 'r')
  return { connections: seen.size, resumed: [...seen.values()].filter(Boolean).length }
}
