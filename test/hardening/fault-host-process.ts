/**
 * The fault host in a process of its own. A soak's host must not share an event loop with the
 * traffic generators: a pause there (a burst of client work, a GC) reads as a slow host and
 * turns into the gateway's deadline answers, which would measure the test, not the gateway.
 *
 * Run as a child (`startFaultHostProcess`), it speaks over IPC: it sends `{ url }` once
 * listening, answers `'records'` with the count of messages it received and its worst event-loop
 * delay, and exits on `'close'`.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startFaultHost } from './fault-host.ts'
import { loopDelayMonitor } from './loop-delay.ts'

export interface FaultHostProcess {
  readonly url: string
  readonly pid: number
  /** How many messages the host received (answered or not), and its worst event-loop delay (ms). */
  received(): Promise<{ received: number; loopDelayMaxMs: number }>
  close(): Promise<void>
}

type Reply = { url: string } | { received: number; loopDelayMaxMs: number }

export async function startFaultHostProcess(): Promise<FaultHostProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const next = () =>
    new Promise<Reply>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the fault host exited (${code})`))
      child.once('exit', onExit)
      child.once('message', (m) => {
        child.off('exit', onExit)
        resolve(m as Reply)
      })
    })
  const ready = (await next()) as { url: string }
  return {
    url: ready.url,
    pid: child.pid!,
    async received() {
      const reply = next()
      child.send('records')
      return (await reply) as { received: number; loopDelayMaxMs: number }
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.send('close')
      await exited
    },
  }
}

if (process.argv.includes('--child') && process.send) {
  const host = await startFaultHost()
  const loopDelayMaxMs = loopDelayMonitor()
  process.on('message', (m) => {
    if (m === 'records') process.send!({ received: host.records.length, loopDelayMaxMs: loopDelayMaxMs() })
    else if (m === 'close') void host.close().then(() => process.exit(0))
  })
  // The parent died without saying close: do not outlive it.
  process.on('disconnect', () => process.exit(0))
  process.send({ url: host.url })
}
