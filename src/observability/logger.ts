/**
 * pino, JSON lines on stdout. One line per refused connection and one per request; bodies are
 * never logged. Pretty output only when asked for (log.pretty) and when pino-pretty is installed.
 */
import { createRequire } from 'node:module'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { GatewayConfig } from '../config/config-schema.ts'

export type { Logger }

export function createLogger(config: GatewayConfig['log'], destination?: DestinationStream): Logger {
  const options = {
    level: config.level,
    base: { service: 'ehi-gateway', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  }
  if (destination) return pino(options, destination)
  if (config.pretty && hasPinoPretty()) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } })
  }
  return pino(options, stdoutDestination())
}

/**
 * stdout, written in batches and synchronously. Batches: one write per line cost a syscall per
 * request. Synchronously: an asynchronous write hands each batch to libuv's thread pool, and
 * waking a pool thread cost more CPU than the write itself (profiled on a pinned core). Lines
 * wait for 4 KB or at most FLUSH_MS, and the buffer is flushed when the process exits. Only the
 * per-message lines (request, connection_refused) are batched: every other line (start, reload,
 * drain, errors) is written at once, so whoever watches the log sees events as they happen. A
 * stdout that blocks (a stalled log pipe) would stall the gateway; container runtimes drain
 * stdout continuously.
 *
 * A failing stdout (a full disk, a closed pipe) must cost log lines, never requests: write errors
 * are reported once on stderr and the lines dropped, and at most MAX_BUFFERED bytes wait.
 */
const FLUSH_MS = 100
const MAX_BUFFERED = 4 * 1024 * 1024
function stdoutDestination() {
  const destination = pino.destination({ dest: 1, sync: true, minLength: 4096, maxLength: MAX_BUFFERED })
  let failing = false
  destination.on('error', (error: NodeJS.ErrnoException) => {
    if (!failing) process.stderr.write(`ehi-gateway: log lines dropped, stdout write failed: ${error.code}\n`)
    failing = true
  })
  const flush = () => {
    try {
      // flush(), not flushSync(): sonic-boom's flushSync retries a failed write forever.
      destination.flush()
    } catch {
      // Reported by the error listener; nothing else to do with a line that cannot be written.
    }
  }
  const timer = setInterval(flush, FLUSH_MS)
  timer.unref()
  process.once('exit', flush)
  return {
    write(line: string) {
      destination.write(line)
      if (!BATCHED.test(line)) flush()
    },
  }
}
/** pino writes `event` early in the line: for a batched line the search ends within a few dozen characters. */
const BATCHED = /"event":"(?:request|connection_refused)"/

function hasPinoPretty(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}
