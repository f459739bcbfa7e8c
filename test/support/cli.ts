/** Runs the ehi-gateway CLI, and the other programs tests use, as child processes bounded in time. */
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '..', '..')
export const MAIN = join(ROOT, 'src', 'cli', 'main.ts')

export interface CliRun {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>
  /** Resolves once stdout or stderr contains `text`; rejects after `timeoutMs`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): CliRun {
  // The child sees no EHI_GATEWAY_* setting from the developer's shell, only the test's own.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('EHI_GATEWAY_')),
  )
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  killer.unref()
  void exited.then(() => clearTimeout(killer))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(text, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const matches = () => (typeof text === 'string' ? (out + err).includes(text) : text.test(out + err))
        const timer = setInterval(() => {
          if (matches()) {
            clearInterval(timer)
            clearTimeout(limit)
            resolve()
          }
        }, 25)
        const limit = setTimeout(() => {
          clearInterval(timer)
          reject(new Error(`timed out waiting for ${String(text)}\nstdout:\n${out}\nstderr:\n${err}`))
        }, timeoutMs)
        void exited.then(() => {
          if (!matches()) {
            clearInterval(timer)
            clearTimeout(limit)
            reject(new Error(`process exited before ${String(text)}\nstdout:\n${out}\nstderr:\n${err}`))
          }
        })
      })
    },
  }
}

/**
 * An installed program by name, or undefined: PATH first, then the folders Debian puts programs
 * in, which a user's PATH may lack (nginx and haproxy live in /usr/sbin).
 */
export function findTool(name: string): string | undefined {
  return [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/sbin', '/usr/local/sbin']
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find((file) => {
      try {
        accessSync(file, constants.X_OK)
        return true
      } catch {
        return false
      }
    })
}

/**
 * Runs a command to completion and returns its output (curl, openssl, node on a script); `env`
 * adds to the test process's environment.
 */
export function runTool(
  command: string,
  args: string[],
  input = '',
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(input)
  })
}
