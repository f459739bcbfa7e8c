/**
 * Probes the internal host for readiness: can a TCP connection be opened to it? Cheap, needs no
 * cooperation from the host, and never sends it a message.
 */
import { connect } from 'node:net'

export interface ProbeResult {
  ok: boolean
  detail: string
}

export function probeTcp(url: URL, timeoutMs: number): Promise<ProbeResult> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  const host = url.hostname.replace(/^\[|\]$/g, '')
  return new Promise((resolve) => {
    const started = performance.now()
    const socket = connect({ host, port })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ ok: false, detail: `no TCP connection to ${host}:${port} within ${timeoutMs} ms` })
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.destroy()
      resolve({
        ok: true,
        detail: `TCP connection to ${host}:${port} in ${(performance.now() - started).toFixed(1)} ms`,
      })
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve({ ok: false, detail: `${host}:${port}: ${error.code ?? error.message}` })
    })
  })
}

/** Probes every `intervalMs` and reports each result; the first probe runs at once. */
export function startHostProbe(
  url: () => URL,
  intervalMs: number,
  timeoutMs: number,
  report: (result: ProbeResult) => void,
) {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const run = async () => {
    const result = await probeTcp(url(), timeoutMs)
    if (stopped) return
    report(result)
    timer = setTimeout(run, intervalMs)
    timer.unref()
  }
  void run()
  return {
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}
