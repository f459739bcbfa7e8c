/**
 * Starting and stopping the bench host and the targets, each pinned with taskset: the host
 * (unpinned: it takes the capacity left, the same for every target), the floor (the host itself,
 * moved to CPU 0 for its turn), the plain Node https proxy (CPU 0), ehi-gateway with one worker
 * (CPU 0; also with the ledger on SQLite or PostgreSQL), ehi-gateway with one worker per core and
 * nginx with `worker_processes auto` (every CPU: on 2 cores they share CPU 1 with the generator)
 * and nginx with one worker (CPU 0).
 * A target is ready when one real mTLS EHI request through it gets a 200.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import { cpus } from 'node:os'
import { buildMessage, contentTypeOf } from '../../src/tools/messages/synthetic-messages.ts'
import { freePort } from '../../test/support/ports.ts'
import { eventually } from '../../test/support/wait.ts'
import { gatewayReady, writeGatewayConfig, type GatewayLaunch } from './gateway.ts'
import type { HostPorts, HostSpec } from './host.ts'
import { ANSWER_HEADER } from './messages.ts'
import { writeNginxConf } from './nginx.ts'
import type { BenchPki } from './pki.ts'
import type { PlainProxySpec } from './plain-node-proxy.ts'
import { gatewaySessions, nginxSessions, type ServerSessions } from './jvm.ts'
import { firstLine, runToEnd, startProcess, stopProcess, type Started } from './processes.ts'
import { CLIENTS } from './plan.ts'
import type { TargetId } from './types.ts'

export const TARGET_CPU = '0'
/** CPU 1; on a single-CPU machine everything shares CPU 0 (the report says so). */
export const GENERATOR_CPU = cpus().length >= 2 ? '1' : '0'
export const ALL_CPUS = `0-${Math.max(0, cpus().length - 1)}`

export interface Context {
  repoRoot: string
  /** The checkout whose gateway is under test (default: this one). */
  gatewayRoot: string
  /** How to start it: built, with the container image's Node options and environment (buildGateway). */
  gateway: GatewayLaunch
  workDir: string
  node: string
  nginxBin: string | null
  pki: BenchPki
  /** The throwaway PostgreSQL cluster of the gw1-pg target (none: the target is skipped). */
  pg?: {
    urlWithoutPassword(database?: string): string
    password: string
    createDatabase(name: string): Promise<string>
  }
}

export interface RunningHost extends HostPorts {
  started: Started
  pid: number
  stop(): Promise<void>
}

export interface RunningTarget {
  id: TargetId
  port: number
  /** Process trees whose CPU is the target's. */
  pids: number[]
  /** Process trees of the internal host while this target runs (empty for the floor). */
  hostPids: number[]
  /** Connections and resumed handshakes so far, as the target counts them (gateway, nginx). */
  sessions?(): Promise<ServerSessions>
  /** Around each measurement (the floor moves the host to CPU 0 for its turn and back). */
  before?(): Promise<void>
  after?(): Promise<void>
  stop(): Promise<void>
}

export async function startBenchHost(ctx: Context): Promise<RunningHost> {
  const spec: HostSpec = {
    certFile: ctx.pki.serverChain,
    keyFile: ctx.pki.serverKey,
    caFiles: [ctx.pki.threddRootCa, ctx.pki.threddIssuingCa],
    crlFiles: [ctx.pki.threddRootCrl, ctx.pki.threddIssuingCrl],
  }
  const started = startProcess(
    'taskset',
    ['-c', ALL_CPUS, ctx.node, join(ctx.repoRoot, 'bench/lib/host.ts'), JSON.stringify(spec)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const ports = JSON.parse(await firstLine(started, 15_000)) as HostPorts
  return { ...ports, started, pid: started.pid, stop: () => stopProcess(started) }
}

async function pin(pid: number, cpuList: string): Promise<void> {
  const { code, stderr } = await runToEnd('taskset', ['-a', '-p', '-c', cpuList, String(pid)], 10_000)
  if (code !== 0) throw new Error(`taskset -a -p -c ${cpuList} ${pid} failed: ${stderr.trim()}`)
}

/** One EHI authorisation over mTLS through the target; true on a 200. */
export function probe(port: number, pki: BenchPki): Promise<boolean> {
  const body = buildMessage('auth', 'xml')
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        method: 'POST',
        path: '/ehi',
        cert: readFileSync(pki.clientCert),
        key: readFileSync(pki.clientKey),
        ca: readFileSync(pki.serverRootCa),
        agent: false,
        headers: { 'content-type': contentTypeOf('xml'), [ANSWER_HEADER]: 'auth', connection: 'close' },
        timeout: 2000,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode === 200))
      },
    )
    req.on('error', () => resolve(false))
    req.on('timeout', () => req.destroy())
    req.end(body)
  })
}

/** The ledger settings of a gateway target (the SQLite file and PostgreSQL database are new). */
async function ledgerOf(
  ctx: Context,
  id: 'gw1' | 'gw1-sqlite' | 'gw1-pg' | 'gwN',
  name: string,
): Promise<{ url: string; passwordFile?: string } | undefined> {
  if (id === 'gw1-sqlite') {
    const dir = join(ctx.workDir, 'ledger', name)
    mkdirSync(dir, { recursive: true })
    return { url: `sqlite:${join(dir, 'ledger.db')}` }
  }
  if (id !== 'gw1-pg') return undefined
  if (!ctx.pg) throw new Error('PostgreSQL is not available')
  const database = `bench_${ctx.pki.keyType}_${Date.now()}`
  await ctx.pg.createDatabase(database)
  const passwordFile = join(ctx.workDir, 'ledger', `${name}.password`)
  mkdirSync(join(ctx.workDir, 'ledger'), { recursive: true })
  writeFileSync(passwordFile, `${ctx.pg.password}\n`, { mode: 0o600 })
  return { url: ctx.pg.urlWithoutPassword(database), passwordFile }
}

async function startGatewayTarget(
  ctx: Context,
  host: RunningHost,
  id: 'gw1' | 'gw1-sqlite' | 'gw1-pg' | 'gwN',
): Promise<RunningTarget> {
  const port = await freePort()
  const adminPort = await freePort()
  const name = `gateway-${id}-${ctx.pki.keyType}`
  const ledger = await ledgerOf(ctx, id, name)
  const config = writeGatewayConfig(ctx.workDir, name, {
    port,
    adminPort,
    upstreamPort: host.httpPort,
    workers: id === 'gwN' ? 0 : 1,
    pki: ctx.pki,
    upstreamConnections: CLIENTS,
    ...(ledger ? { ledger } : {}),
  })
  // The log goes to another folder than the config: the gateway watches the config's folder.
  mkdirSync(join(ctx.workDir, 'logs'), { recursive: true })
  const log = openSync(join(ctx.workDir, 'logs', `${name}.log`), 'a')
  const started = startProcess(
    'taskset',
    [
      '-c',
      id === 'gwN' ? ALL_CPUS : TARGET_CPU,
      ctx.node,
      ...ctx.gateway.nodeOptions,
      ctx.gateway.entry,
      'serve',
      '--config',
      config,
    ],
    { stdio: ['ignore', log, log], cwd: ctx.gatewayRoot, env: { ...process.env, ...ctx.gateway.env } },
  )
  closeSync(log)
  // No need to drain: requests are over. A second SIGTERM makes the gateway exit at once.
  const stop = () => stopProcess(started, { againAfterMs: 500, graceMs: 4000 })
  try {
    await Promise.race([
      eventually(() => gatewayReady(adminPort), 30_000, `${name} /readyz`),
      started.exited.then((code) => {
        throw new Error(`${name} exited (${code}) while starting: see logs/${name}.log`)
      }),
    ])
    await eventually(() => probe(port, ctx.pki), 10_000, `${name} answering an EHI message`)
  } catch (error) {
    await stop()
    throw error
  }
  const sessions = async () => {
    const response = await fetch(`http://127.0.0.1:${adminPort}/metrics`, {
      signal: AbortSignal.timeout(5000),
    })
    return gatewaySessions(await response.text())
  }
  return { id, port, pids: [started.pid], hostPids: [host.pid], sessions, stop }
}

async function startNginxTarget(
  ctx: Context,
  host: RunningHost,
  id: 'nginx' | 'nginxN',
): Promise<RunningTarget> {
  if (!ctx.nginxBin) throw new Error('nginx is not available')
  const port = await freePort()
  const dir = join(ctx.workDir, `${id}-${ctx.pki.keyType}`)
  const conf = writeNginxConf({
    dir,
    port,
    upstreamPort: host.httpPort,
    pki: ctx.pki,
    upstreamKeepalive: CLIENTS,
    workers: id === 'nginxN' ? 'auto' : 1,
  })
  const started = startProcess(
    'taskset',
    [
      '-c',
      id === 'nginxN' ? ALL_CPUS : TARGET_CPU,
      ctx.nginxBin,
      '-p',
      dir,
      '-c',
      conf,
      '-e',
      join(dir, 'error.log'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  started.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const stop = () => stopProcess(started, { graceMs: 5000 })
  try {
    await Promise.race([
      eventually(() => probe(port, ctx.pki), 15_000, 'nginx answering an EHI message'),
      started.exited.then((code) => {
        throw new Error(`nginx exited (${code}) while starting: ${stderr.trim()} (see ${dir}/error.log)`)
      }),
    ])
  } catch (error) {
    await stop()
    throw error
  }
  const sessions = async () => nginxSessions(readFileSync(join(dir, 'access.log'), 'latin1'))
  return { id, port, pids: [started.pid], hostPids: [host.pid], sessions, stop }
}

async function startPlainNodeTarget(ctx: Context, host: RunningHost): Promise<RunningTarget> {
  const spec: PlainProxySpec = {
    certFile: ctx.pki.serverChain,
    keyFile: ctx.pki.serverKey,
    caBundle: ctx.pki.threddCaBundle,
    crlBundle: ctx.pki.crlBundle,
    upstreamPort: host.httpPort,
    maxSockets: CLIENTS,
  }
  const started = startProcess(
    'taskset',
    ['-c', TARGET_CPU, ctx.node, join(ctx.repoRoot, 'bench/lib/plain-node-proxy.ts'), JSON.stringify(spec)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const stop = () => stopProcess(started, { graceMs: 4000 })
  try {
    const { port } = JSON.parse(await firstLine(started, 15_000)) as { port: number }
    await eventually(() => probe(port, ctx.pki), 10_000, 'the plain Node proxy answering an EHI message')
    return { id: 'node', port, pids: [started.pid], hostPids: [host.pid], stop }
  } catch (error) {
    await stop()
    throw error
  }
}

async function startFloorTarget(ctx: Context, host: RunningHost): Promise<RunningTarget> {
  await eventually(() => probe(host.httpsPort, ctx.pki), 10_000, 'the host answering over mTLS')
  return {
    id: 'floor',
    port: host.httpsPort,
    pids: [host.pid],
    hostPids: [],
    before: () => pin(host.pid, TARGET_CPU),
    after: () => pin(host.pid, ALL_CPUS),
    stop: async () => undefined,
  }
}

export function startTarget(id: TargetId, ctx: Context, host: RunningHost): Promise<RunningTarget> {
  if (id === 'floor') return startFloorTarget(ctx, host)
  if (id === 'nginx' || id === 'nginxN') return startNginxTarget(ctx, host, id)
  if (id === 'node') return startPlainNodeTarget(ctx, host)
  return startGatewayTarget(ctx, host, id)
}
