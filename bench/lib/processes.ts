/**
 * Child processes of the bench: each started in its own process group (so nginx workers and
 * gateway workers go with their parent), tracked, and ended by id: on stop, and on any exit of
 * the runner (failure, Ctrl-C, watchdog). Free ports and waiting are test/support's (ports.ts, wait.ts).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import { sleep } from '../../test/support/wait.ts'

const running = new Set<ChildProcess>()

export interface Started {
  child: ChildProcess
  pid: number
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>
}

export function startProcess(
  command: string,
  args: string[],
  options: { stdio?: StdioOptions; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Started {
  const child = spawn(command, args, {
    detached: true,
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
  })
  running.add(child)
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child)
      resolve(code ?? signal ?? -1)
    })
    child.once('error', (error) => {
      running.delete(child)
      resolve(error.message)
    })
  })
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  return { child, pid: child.pid, exited }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

/**
 * Ends a started process: `signal` to the process itself (a cluster primary or nginx master ends
 * its workers), the same signal again after `againAfterMs` when given (ehi-gateway exits at once
 * on a second signal instead of draining), then SIGKILL to its whole group after `graceMs`.
 */
export async function stopProcess(
  started: Started,
  options: { signal?: NodeJS.Signals; againAfterMs?: number; graceMs?: number } = {},
): Promise<void> {
  if (!running.has(started.child)) return
  const signal = options.signal ?? 'SIGTERM'
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(started.pid, sig)
    } catch {
      // already gone
    }
  }
  send(signal)
  const timers = [setTimeout(() => signalGroup(started.child, 'SIGKILL'), options.graceMs ?? 5000)]
  if (options.againAfterMs !== undefined) timers.push(setTimeout(() => send(signal), options.againAfterMs))
  await started.exited
  for (const timer of timers) clearTimeout(timer)
  // Whatever is left of the group (a worker that outlived its parent).
  signalGroup(started.child, 'SIGKILL')
}

/** Synchronous last resort: SIGKILL every group still running (process 'exit' handler). */
export function killAll(): void {
  for (const child of running) signalGroup(child, 'SIGKILL')
  running.clear()
}

let hooked = false
/** Ends every child on exit, Ctrl-C and SIGTERM. */
export function installCleanup(): void {
  if (hooked) return
  hooked = true
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, stopping every process it started`)
      killAll()
      process.exit(130)
    })
}

/** The first line a started process writes on stdout (rejects on exit or timeout). */
export function firstLine(started: Started, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const stdout = started.child.stdout
    if (!stdout) return reject(new Error('no stdout'))
    const timer = setTimeout(() => reject(new Error(`no output after ${timeoutMs} ms`)), timeoutMs)
    const onData = (chunk: Buffer) => {
      text += chunk.toString()
      const nl = text.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        stdout.off('data', onData)
        resolve(text.slice(0, nl))
      }
    }
    stdout.on('data', onData)
    void started.exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`exited (${code}) before writing a line`))
    })
  })
}

/** Collects a process's stdout and stderr and resolves when it exits (killed after `timeoutMs`). */
export async function runToEnd(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const started = startProcess(command, args)
  const closed = new Promise<void>((resolve) => started.child.once('close', () => resolve()))
  let stdout = ''
  let stderr = ''
  started.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  started.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => void stopProcess(started, { signal: 'SIGKILL', graceMs: 0 }), timeoutMs)
  const code = await started.exited
  await Promise.race([closed, sleep(2000)])
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/**
 * The child side of a bench server (the host, the plain Node proxy): starts it from the JSON spec
 * in argv[2], prints its ports as one JSON line for firstLine(), stops on SIGTERM or SIGINT, and
 * exits 1 with the error when it cannot start.
 */
export function runBenchServer<Spec, Running extends { close(): void }>(
  name: string,
  start: (spec: Spec) => Promise<Running>,
  ports: (running: Running) => Record<string, number>,
): void {
  const spec = JSON.parse(process.argv[2] ?? '{}') as Spec
  start(spec).then(
    (running) => {
      process.stdout.write(`${JSON.stringify(ports(running))}\n`)
      const stop = () => {
        running.close()
        process.exit(0)
      }
      process.on('SIGTERM', stop)
      process.on('SIGINT', stop)
    },
    (error: unknown) => {
      process.stderr.write(`${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`)
      process.exit(1)
    },
  )
}
