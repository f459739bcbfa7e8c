/**
 * pino, JSON lines on stdout. One line per refused connection and one per request; bodies are
 * never logged. Pretty output only when asked for (log.pretty) and when pino-pretty is installed.
 *
 * Every line, whatever wrote it, passes maskLongDigitRuns on its way out: a run of 12 digits or
 * more (the length of a card number, wherever it came from) is never written in clear.
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
    // On the serialized line, so it covers every field and every caller (bench/README.md has its cost).
    hooks: { streamWrite: maskLongDigitRuns },
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

/** Digits kept in clear at the end of a masked run (as a receipt shows a card's last four). */
const KEPT = 4
const RUN = 12

/**
 * Masks every run of 12 or more digits in a serialized JSON log line, keeping its last 4 digits:
 * `5372999988887777` becomes `************7777`. Inside a string the run is replaced in place
 * (the hex digits of a `\uXXXX` escape are not part of a run); a JSON number holding such a run
 * becomes a string, so the line stays valid JSON. The last group of a UUID (request ids) is kept.
 * A line without such a run, nearly every line, costs one strided pass (bench/README.md).
 */
export function maskLongDigitRuns(line: string): string {
  if (!hasRun(line, 0, line.length)) return line
  let out = ''
  let copied = 0
  let pos = 0
  const n = line.length
  while (pos < n) {
    const quote = line.indexOf('"', pos)
    const outside = quote < 0 ? n : quote
    // Between strings: keys' colons, commas, brackets and number literals.
    if (hasRun(line, pos, outside)) {
      for (const match of line.slice(pos, outside).matchAll(/-?[0-9][0-9.eE+-]*/g)) {
        if (!hasRun(match[0], 0, match[0].length)) continue
        const at = pos + match.index
        out += `${line.slice(copied, at)}"${mask(match[0].replace(/[^0-9]/g, ''))}"`
        copied = at + match[0].length
      }
    }
    if (quote < 0) break
    // The string runs to the next quote that is not escaped.
    let close = quote + 1
    for (;;) {
      close = line.indexOf('"', close)
      if (close < 0) {
        close = n
        break
      }
      let slashes = 0
      while (line.charCodeAt(close - 1 - slashes) === 0x5c) slashes++
      if (slashes % 2 === 0) break
      close++
    }
    if (hasRun(line, quote + 1, close) && !isGatewayHash(line, quote, close)) {
      for (let i = quote + 1; i < close; i++) {
        const c = line.charCodeAt(i)
        if (c === 0x5c /* \ */) {
          i += line.charCodeAt(i + 1) === 0x75 /* u */ ? 5 : 1
          continue
        }
        if (!isDigit(c)) continue
        let j = i
        while (j < close && isDigit(line.charCodeAt(j))) j++
        if (j - i >= RUN && !uuidTail(line, i, j)) {
          out += line.slice(copied, i) + mask(line.slice(i, j))
          copied = j
        }
        i = j - 1
      }
    }
    pos = close + 1
  }
  return copied === 0 ? line : out + line.slice(copied)
}

/**
 * Whether text[start, end) holds a run of 12 digits or more. Such a run covers one of every 12
 * consecutive positions, so only every 12th character is looked at until a digit is met.
 */
function hasRun(text: string, start: number, end: number): boolean {
  for (let i = start + RUN - 1; i < end; i += RUN) {
    if (!isDigit(text.charCodeAt(i))) continue
    let first = i
    let last = i
    while (first > start && isDigit(text.charCodeAt(first - 1))) first--
    while (last + 1 < end && isDigit(text.charCodeAt(last + 1))) last++
    if (last - first + 1 >= RUN) return true
    i = last
  }
  return false
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

/**
 * The last group of a UUID (the gateway's request ids) is 12 hex characters, all digits about
 * once in 280: kept, so a request id in the log always matches the one in the answer.
 */
const UUID_HEAD = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-$/i
function uuidTail(line: string, start: number, end: number): boolean {
  return (
    end - start === RUN &&
    start >= 24 &&
    UUID_HEAD.test(line.slice(start - 24, start)) &&
    !/[0-9a-z]/i.test(line[end] ?? '')
  )
}

/**
 * The gateway's own SHA-256 hashes (the trust hash and the candidate's), logged to be compared
 * with /metrics: a 12-digit run appears in about one in five of them. Kept whole when the value
 * of one of these keys is a hex digest; any other value of these keys is masked as usual.
 */
const HASH_KEYS = new Set(['trustHash', 'previousTrustHash', 'hash'])
function isGatewayHash(line: string, quote: number, close: number): boolean {
  if (close - quote - 1 !== 64 || line.charCodeAt(quote - 1) !== 0x3a || line.charCodeAt(quote - 2) !== 0x22)
    return false
  const key = line.slice(line.lastIndexOf('"', quote - 3) + 1, quote - 2)
  return HASH_KEYS.has(key) && /^[0-9a-f]{64}$/.test(line.slice(quote + 1, close))
}

function mask(digits: string): string {
  return '*'.repeat(digits.length - KEPT) + digits.slice(-KEPT)
}

function hasPinoPretty(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}
