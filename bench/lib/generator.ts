/**
 * The load generator, a process of its own (`node bench/lib/generator.ts '<GeneratorSpec JSON>'`,
 * pinned by the runner with `taskset -c 1`). Prints one line: the GeneratorResult as JSON.
 *
 * Written on node:tls directly (autocannon counts no answers with `reconnectRate: 1` over TLS):
 * the request bytes are prebuilt, the TLS context is made once, and an answer is framed from its
 * status line and Content-Length only. Modes:
 * - connect: a new TCP + TLS connection and full mTLS handshake per message, as Thredd does;
 * - resume: the same, offering the TLS session of the previous connection;
 * - keepalive: persistent connections.
 * Closed loop: `concurrency` clients each send their next message as soon as the previous one is
 * answered (maximum throughput). Open loop: message i is due at start + i/rate and is sent when
 * due whatever the others are doing; its latency runs from when it was due, so a slow target
 * cannot hide its queueing (no coordinated omission).
 *
 * The measured window starts after the warm-up; the CPU time of the target's and the host's
 * process trees is read from /proc at its start and end, here, so the window is exact.
 */
import { readFileSync } from 'node:fs'
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls'
import { CHUNKED, UNTIL_CLOSE, chunkedEnd, parseResponseHead, type ResponseHead } from './http-response.ts'
import { requestRing } from './messages.ts'
import { treesCpuMs, treesMaxRss } from './proc-cpu.ts'
import { Samples, quantilesOfSorted, round3, summariseLatencies } from './stats.ts'
import { CDF_QUANTILES, type GeneratorResult, type ScenarioSpec } from './types.ts'

export interface GeneratorSpec {
  host: string
  port: number
  servername: string
  path: string
  certFile: string
  keyFile: string
  scenario: ScenarioSpec
  /** A message still unanswered this long after its reference time is an error. */
  timeoutMs: number
  targetPids: number[]
  hostPids: number[]
  clockTicks: number
  runId: number
}

const MAX_IN_FLIGHT = 4000
const HEAD_END = Buffer.from('\r\n\r\n')

/** Frames one HTTP/1.1 answer from the bytes of a connection. */
class ResponseReader {
  private buf: Buffer | null = null
  private head: ResponseHead | null = null
  private bodyStart = 0
  status = 0
  closeAfter = false

  reset(): void {
    this.buf = null
    this.head = null
    this.status = 0
  }

  /** 1: complete, 0: more bytes needed, -1: not HTTP. */
  push(chunk: Buffer): number {
    const buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk])
    this.buf = buf
    if (this.head === null) {
      const end = buf.indexOf(HEAD_END)
      if (end < 0) return buf.length > 65536 ? -1 : 0
      const head = parseResponseHead(buf.toString('latin1', 0, end))
      if (head === null) return -1
      this.head = head
      this.bodyStart = end + 4
      this.status = head.status
      this.closeAfter = head.close
    }
    const { bodyLength } = this.head
    if (bodyLength >= 0) return buf.length >= this.bodyStart + bodyLength ? 1 : 0
    if (bodyLength === CHUNKED) {
      const at = chunkedEnd(buf, this.bodyStart)
      return at >= 0 ? 1 : at === -1 ? 0 : -1
    }
    return 0
  }

  /** At the connection's end: complete when the body runs to the end. */
  atEnd(): boolean {
    return this.head !== null && this.head.bodyLength === UNTIL_CLOSE
  }
}

interface Live {
  ref: number
  fail(kind: string): void
}

export async function runGenerator(spec: GeneratorSpec): Promise<GeneratorResult> {
  const { scenario } = spec
  const mode = scenario.mode
  // No CA: the server chain is verified once per target by the runner's probe. With a CA that
  // verifies, Node's client would also turn the whole peer chain into JS objects on every
  // handshake (getPeerCertificate for checkServerIdentity): about a quarter of the generator's
  // CPU per connection. That is Thredd's cost, not the target's.
  const secureContext: SecureContext = createSecureContext({
    cert: readFileSync(spec.certFile),
    key: readFileSync(spec.keyFile),
  })
  const ring = requestRing(scenario.plan, {
    host: `${spec.host}:${spec.port}`,
    path: spec.path,
    close: mode !== 'keepalive',
    runId: spec.runId,
  })
  let ringIndex = 0
  const nextRequest = (): Buffer => {
    const req = ring[ringIndex]!
    ringIndex = ringIndex + 1 === ring.length ? 0 : ringIndex + 1
    return req
  }

  const begin = performance.now() + 20
  const t0 = begin + scenario.warmupMs
  const t1 = t0 + scenario.durationMs
  const latencies = new Samples(
    scenario.rate ? Math.ceil((scenario.rate * scenario.durationMs) / 1000) + 16 : 8192,
  )
  const sendLag = new Samples()
  const errorKinds: Record<string, number> = {}
  let ok = 0
  let errors = 0
  let completedInWindow = 0
  let connections = 0
  let resumed = 0
  let cpuStartAt = Infinity
  let cpuEndAt = Infinity
  const live = new Set<Live>()
  /** resume: where a client keeps the TLS session of its previous connection. */
  interface SessionHolder {
    session?: Buffer
  }
  const sharedSession: SessionHolder = {}

  const record = (ref: number, status: number, kind?: string): void => {
    const now = performance.now()
    const good = status >= 200 && status < 300
    if (good && now >= cpuStartAt && now <= cpuEndAt) completedInWindow++
    if (ref < t0 || ref >= t1) return
    if (good) {
      ok++
      latencies.push(now - ref)
    } else {
      errors++
      const k = kind ?? `status_${status}`
      errorKinds[k] = (errorKinds[k] ?? 0) + 1
    }
  }

  const connectOptions = (holder: SessionHolder) => ({
    host: spec.host,
    port: spec.port,
    servername: spec.servername,
    secureContext,
    rejectUnauthorized: false,
    ...(mode === 'resume' && holder.session ? { session: holder.session } : {}),
  })

  /** `counted`: the connection belongs to the measured window (its TLS resumption is counted). */
  const openSocket = (counted: boolean, holder: SessionHolder = sharedSession): TLSSocket => {
    const socket = connect(connectOptions(holder))
    socket.setNoDelay(true)
    if (counted)
      socket.once('secureConnect', () => {
        connections++
        if (socket.isSessionReused()) resumed++
      })
    if (mode === 'resume') socket.on('session', (session: Buffer) => (holder.session = session))
    return socket
  }

  /** connect/resume: one message on its own connection; `done` runs once it is answered or failed. */
  const sendOnNewConnection = (ref: number, done: () => void, holder?: SessionHolder): void => {
    const socket = openSocket(ref >= t0 && ref < t1, holder)
    const reader = new ResponseReader()
    let finished = false
    const finish = (status: number, kind?: string): void => {
      if (finished) return
      finished = true
      live.delete(entry)
      record(ref, status, kind)
      if (status > 0) socket.end()
      else socket.destroy()
      done()
    }
    const entry: Live = { ref, fail: (kind) => finish(0, kind) }
    live.add(entry)
    socket.on('data', (chunk: Buffer) => {
      const state = reader.push(chunk)
      if (state === 1) finish(reader.status)
      else if (state === -1) finish(0, 'bad_http')
    })
    socket.on('error', (error: NodeJS.ErrnoException) => finish(0, error.code ?? error.message))
    socket.on('end', () => (reader.atEnd() ? finish(reader.status) : finish(0, 'closed_early')))
    socket.on('close', () => finish(0, 'closed_early'))
    socket.write(nextRequest())
  }

  /** keepalive: a persistent connection that sends one message at a time. */
  class KeepAliveConnection {
    private socket: TLSSocket | null = null
    private readonly reader = new ResponseReader()
    private current: Live | null = null
    private currentRef = 0
    private readonly onIdle: (conn: KeepAliveConnection) => void
    constructor(onIdle: (conn: KeepAliveConnection) => void) {
      this.onIdle = onIdle
    }

    send(ref: number): void {
      if (this.socket === null || this.socket.destroyed) this.open(true)
      this.reader.reset()
      this.currentRef = ref
      const entry: Live = { ref, fail: (kind) => this.fail(kind) }
      this.current = entry
      live.add(entry)
      this.socket!.write(nextRequest())
    }

    close(): void {
      this.socket?.destroy()
      this.socket = null
    }

    private open(counted: boolean): void {
      const socket = openSocket(counted)
      this.socket = socket
      socket.on('data', (chunk: Buffer) => {
        if (this.socket !== socket || this.current === null) return
        const state = this.reader.push(chunk)
        if (state === 1) this.complete(this.reader.status)
        else if (state === -1) this.fail('bad_http')
      })
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (this.socket === socket) this.fail(error.code ?? error.message)
      })
      socket.on('close', () => {
        if (this.socket !== socket) return
        if (this.current && this.reader.atEnd()) this.complete(this.reader.status)
        else if (this.current) this.fail('closed_early')
        this.socket = null
      })
    }

    private complete(status: number): void {
      const entry = this.current!
      this.current = null
      live.delete(entry)
      if (this.reader.closeAfter) this.close()
      record(this.currentRef, status)
      this.onIdle(this)
    }

    private fail(kind: string): void {
      const entry = this.current
      this.close()
      if (entry === null) return
      this.current = null
      live.delete(entry)
      record(this.currentRef, 0, kind)
      this.onIdle(this)
    }
  }

  // CPU samples at the window's edges.
  let cpuStart = [0, 0]
  let cpuEnd = [0, 0]
  let selfStart = process.cpuUsage()
  let selfEnd = selfStart
  const sample = () => treesCpuMs([spec.targetPids, spec.hostPids], spec.clockTicks)
  setTimeout(
    () => {
      cpuStart = sample()
      selfStart = process.cpuUsage()
      cpuStartAt = performance.now()
    },
    Math.max(0, t0 - performance.now()),
  )
  setTimeout(
    () => {
      cpuEnd = sample()
      selfEnd = process.cpuUsage(selfStart)
      cpuEndAt = performance.now()
    },
    Math.max(0, t1 - performance.now()),
  )

  // Messages past their deadline fail as timeouts.
  const sweep = setInterval(() => {
    const limit = performance.now() - spec.timeoutMs
    for (const entry of live) if (entry.ref < limit) entry.fail('timeout')
  }, 50)

  const kaConnections: KeepAliveConnection[] = []
  // Keep-alive open loop: messages due while every connection is busy wait here.
  const queue: number[] = []
  let queueHead = 0
  await new Promise<void>((resolve) => {
    const hardStop = t1 + spec.timeoutMs + 2000
    let finished = false
    let generationDone = (): boolean => true
    const maybeEnd = (force = false): void => {
      if (finished) return
      if (!force && (performance.now() < t1 || cpuEndAt === Infinity || live.size > 0 || !generationDone()))
        return
      finished = true
      clearInterval(watchdog)
      for (const entry of [...live]) entry.fail('timeout')
      resolve()
    }
    const watchdog = setInterval(() => {
      if (performance.now() > hardStop) maybeEnd(true)
      else maybeEnd()
    }, 20)
    watchdog.unref()

    if (scenario.loop === 'closed') {
      let active = scenario.concurrency
      generationDone = () => active === 0
      const stopped = () => {
        active--
        maybeEnd()
      }
      if (mode === 'keepalive') {
        const next = (conn: KeepAliveConnection): void => {
          const now = performance.now()
          if (now >= t1) {
            conn.close()
            stopped()
          } else conn.send(now)
        }
        for (let i = 0; i < scenario.concurrency; i++) kaConnections.push(new KeepAliveConnection(next))
        setTimeout(() => kaConnections.forEach((c) => next(c)), Math.max(0, begin - performance.now()))
      } else {
        // Each client resumes the session of its own previous connection.
        const client = (holder: SessionHolder): void => {
          const now = performance.now()
          if (now >= t1) stopped()
          else sendOnNewConnection(now, () => client(holder), holder)
        }
        setTimeout(
          () => {
            for (let i = 0; i < scenario.concurrency; i++) client({})
          },
          Math.max(0, begin - performance.now()),
        )
      }
    } else {
      const rate = scenario.rate ?? 100
      const interval = 1000 / rate
      const total = Math.ceil(((scenario.warmupMs + scenario.durationMs) * rate) / 1000)
      let fired = 0
      generationDone = () => fired >= total && queueHead >= queue.length
      const idle: KeepAliveConnection[] = []
      const onIdle = (conn: KeepAliveConnection): void => {
        if (queueHead < queue.length) conn.send(queue[queueHead++]!)
        else idle.push(conn)
        maybeEnd()
      }
      if (mode === 'keepalive')
        for (let i = 0; i < scenario.concurrency; i++) {
          const conn = new KeepAliveConnection(onIdle)
          kaConnections.push(conn)
          idle.push(conn)
        }
      const fire = (due: number): void => {
        if (due >= t0 && due < t1) sendLag.push(performance.now() - due)
        if (mode === 'keepalive') {
          const conn = idle.pop()
          if (conn) conn.send(due)
          else queue.push(due)
        } else if (live.size >= MAX_IN_FLIGHT) record(due, 0, 'generator_overflow')
        else sendOnNewConnection(due, maybeEnd)
      }
      const tick = (): void => {
        const now = performance.now()
        while (fired < total && begin + fired * interval <= now) fire(begin + fired++ * interval)
        if (fired < total) setTimeout(tick, Math.max(0, begin + fired * interval - performance.now() - 0.5))
        else maybeEnd()
      }
      setTimeout(tick, Math.max(0, begin - performance.now()))
    }
  })
  // The target's memory once the window's last answers are in: read here, not at the window's
  // edge, so walking /proc does not delay answers still being timed.
  const rss = treesMaxRss(spec.targetPids)
  for (const conn of kaConnections) conn.close()
  // Still queued at the end: never sent in time.
  while (queueHead < queue.length) record(queue[queueHead++]!, 0, 'timeout')
  clearInterval(sweep)

  const windowMs = cpuEndAt - cpuStartAt
  const selfCpuMs = (selfEnd.user + selfEnd.system) / 1000
  const result: GeneratorResult = {
    ok,
    errors,
    errorKinds,
    throughput: round3((completedInWindow * 1000) / windowMs),
    completedInWindow,
    windowMs: round3(windowMs),
    // summariseLatencies sorts the buffer in place: the CDF reads it sorted.
    latencyMs: summariseLatencies(latencies.values()),
    latencyCdfMs: quantilesOfSorted(latencies.values(), CDF_QUANTILES),
    connections,
    resumed,
    targetCpuMs: round3(cpuEnd[0]! - cpuStart[0]!),
    hostCpuMs: round3(cpuEnd[1]! - cpuStart[1]!),
    generatorCpuMs: round3(selfCpuMs),
    rss,
  }
  if (scenario.loop === 'open') {
    const lag = summariseLatencies(sendLag.values())
    result.sendLagMs = { p99: lag.p99, max: lag.max }
  }
  return result
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as GeneratorSpec
  runGenerator(spec).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`)
      process.exit(0)
    },
    (error: unknown) => {
      process.stderr.write(`generator failed: ${error instanceof Error ? error.stack : String(error)}\n`)
      process.exit(1)
    },
  )
}
