/**
 * The gateway as a real child process (`node src/cli/main.ts serve --config FILE`), for the
 * cases that need signals, workers, a broken stdout, or the process's own /proc figures (file
 * descriptors, RSS). Log lines are counted as they stream and only a bounded tail is kept, so a
 * ten-minute soak does not grow the test process. Never uses the demo's ports.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAIN, ROOT } from '../support/cli.ts'
import { GENEROUS_DEADLINES } from '../support/harness.ts'
import { sumMetric } from '../support/metrics-text.ts'
import type { TestPki } from '../support/test-pki.ts'
import { sleep } from '../support/wait.ts'

export type Line = Record<string, unknown>

export interface GatewayProcess {
  child: ChildProcess
  pid: number
  port: number
  adminPort: number
  configFile: string
  /** Rewrites the config file (the base config with these top-level keys replaced). */
  writeConfig(overrides?: Record<string, unknown>): void
  /** The last lines (up to `keepLines`), parsed. */
  lines(): Line[]
  /** Lines seen so far, by `event` (or `msg` when there is no event). */
  counts: Map<string, number>
  /** Lines at level error or fatal, kept in full. */
  errors: Line[]
  /** The first 200 request lines at level warn (answers the gateway made itself, refusals), whatever the tail keeps. */
  warnings: Line[]
  stderr(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  hasExited(): boolean
  waitForLine(match: (line: Line) => boolean, timeoutMs?: number): Promise<Line>
  metrics(): Promise<string>
  /** Sum of a metric's samples (optionally only those whose labels contain `labels`). */
  metric(name: string, labels?: Record<string, string>): Promise<number>
  readyz(): Promise<number>
  /** Kills the process group's main process for good (SIGKILL) if it is still there. */
  kill(): Promise<void>
}

export interface StartOptions {
  /** Where stdout goes: piped and parsed (default), or an already open file descriptor. */
  stdoutFd?: number
  /** Close the read end of stdout right after start (a consumer that went away: EPIPE). */
  closeStdout?: boolean
  keepLines?: number
  name?: string
  /** How long to wait for /livez before giving up (default 20 s). */
  startTimeoutMs?: number
  /** Return even when /livez never answered (the case under test may hang the process). */
  tolerateNotReady?: boolean
}

export function baseProcessConfig(pki: TestPki, hostUrl: string, port: number, adminPort: number) {
  const f = pki.files
  return {
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort, hostProbeIntervalMs: 200 },
    tls: {
      serverCertificates: [{ cert: f['server-chain.pem'], key: f['server.key'] }],
      clientCa: [f['thredd-root-ca.pem'], f['thredd-issuing-ca.pem']],
      crl: { enabled: true, files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.crl.pem']] },
    },
    upstream: { url: hostUrl },
    ehi: GENEROUS_DEADLINES,
    reload: { watchFiles: false },
    workers: 1,
  }
}

/**
 * Two valid configurations a reload test alternates between: the subject rule widened, and a
 * second server certificate added. Both keep every client of the suite admitted.
 */
export function reloadVariants(pki: TestPki, tls: unknown): Record<string, unknown>[] {
  const f = pki.files
  return [
    { clientAuth: { allowedSubjects: { cn: ['thredd-ehi-transport'] } } },
    {
      clientAuth: { allowedSubjects: { cn: ['thredd-ehi-transport', 'thredd-ehi-transport-next'] } },
      tls: {
        ...(tls as Record<string, unknown>),
        serverCertificates: [
          { cert: f['server-chain.pem'], key: f['server.key'] },
          { cert: f['server-rsa-chain.pem'], key: f['server-rsa.key'] },
        ],
      },
    },
  ]
}

export async function startGatewayProcess(
  config: Record<string, unknown>,
  options: StartOptions = {},
): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), `ehi-gateway-hardening-${options.name ?? 'gw'}-`))
  const configFile = join(dir, 'gateway.json')
  const base = config
  const writeConfig = (overrides: Record<string, unknown> = {}) =>
    writeFileSync(configFile, JSON.stringify({ ...base, ...overrides }, null, 2))
  writeConfig()
  const listen = base.listen as { port: number }
  const admin = base.admin as { port: number }

  // The child sees no EHI_GATEWAY_* setting from the developer's shell.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('EHI_GATEWAY_')),
  )
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', configFile], {
    cwd: ROOT,
    env,
    stdio: ['ignore', options.stdoutFd ?? 'pipe', 'pipe'],
  })
  const keep = options.keepLines ?? 5000
  const tail: Line[] = []
  const counts = new Map<string, number>()
  const errors: Line[] = []
  const warnings: Line[] = []
  const waiters: { match: (line: Line) => boolean; resolve: (line: Line) => void }[] = []
  let stderr = ''
  let partial = ''
  const onLine = (text: string) => {
    if (!text.startsWith('{')) return
    let line: Line
    try {
      line = JSON.parse(text) as Line
    } catch {
      return
    }
    const key = String(line.event ?? line.msg)
    counts.set(key, (counts.get(key) ?? 0) + 1)
    if (line.level === 'error' || line.level === 'fatal') errors.push(line)
    else if (line.level === 'warn' && line.event === 'request' && warnings.length < 200) warnings.push(line)
    tail.push(line)
    if (tail.length > keep) tail.splice(0, tail.length - keep)
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(line)
      }
    }
  }
  if (child.stdout) {
    if (options.closeStdout) {
      // Read nothing, then close the read end: the gateway's next write gets EPIPE.
      child.stdout.destroy()
    } else {
      child.stdout.on('data', (chunk: Buffer) => {
        const text = partial + chunk.toString()
        const parts = text.split('\n')
        partial = parts.pop() ?? ''
        for (const part of parts) onLine(part)
      })
    }
  }
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 200_000) stderr += chunk.toString()
  })
  let exitedFlag = false
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      exitedFlag = true
      resolve({ code, signal })
    }),
  )

  const adminUrl = `http://127.0.0.1:${admin.port}`
  const fetchText = async (path: string, timeoutMs = 3000) => {
    const res = await fetch(`${adminUrl}${path}`, { signal: AbortSignal.timeout(timeoutMs) })
    return { status: res.status, text: await res.text() }
  }
  const gateway: GatewayProcess = {
    child,
    pid: child.pid!,
    port: listen.port,
    adminPort: admin.port,
    configFile,
    writeConfig,
    lines: () => tail,
    counts,
    errors,
    warnings,
    stderr: () => stderr,
    exited,
    hasExited: () => exitedFlag,
    waitForLine(match, timeoutMs = 15_000) {
      const found = tail.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (line: Line) => (clearTimeout(timer), resolve(line)) }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(new Error(`no such log line within ${timeoutMs} ms; stderr: ${stderr.slice(0, 2000)}`))
        }, timeoutMs)
        waiters.push(waiter)
      })
    },
    metrics: async () => (await fetchText('/metrics', 7000)).text,
    async metric(name, labels) {
      const text = (await fetchText('/metrics', 7000)).text
      return sumMetric(text, name, labels)
    },
    async readyz() {
      try {
        return (await fetchText('/readyz', 1000)).status
      } catch {
        return 0
      }
    },
    async kill() {
      if (exitedFlag) return
      child.kill('SIGKILL')
      await exited
    },
  }
  // Ready when the admin server answers /livez (works whatever stdout is).
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000)
  for (;;) {
    if (exitedFlag) throw new Error(`the gateway exited at start: ${stderr.slice(0, 2000)}`)
    try {
      if ((await fetchText('/livez', 500)).status === 200) break
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      if (options.tolerateNotReady) break
      await gateway.kill()
      throw new Error(`the gateway did not start in time: ${stderr.slice(0, 2000)}`)
    }
    await sleep(100)
  }
  return gateway
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/** Resident set size of a process, in KiB. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN)
}

/** The child processes of `pid` (cluster workers). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

/** Opens /dev/full for writing: every write fails with ENOSPC (a full disk). */
export function devFull(): number {
  return openSync('/dev/full', 'w')
}
