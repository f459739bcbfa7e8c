/**
 * Raw clients for the hardening suite: TLS connections that write exactly the bytes a test
 * chooses (smuggling shapes, slow bodies, pipelined requests), plain TCP, and a TLS client
 * that stalls in the middle of its handshake. Everything is bounded in time.
 */
import { readFileSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import type { TestPki } from '../support/test-pki.ts'
import { sleep } from '../support/wait.ts'

export interface Identity {
  cert: string
  key: string
}

export interface RawResult {
  /** The TLS handshake completed. */
  secure: boolean
  /** Everything the server sent, latin1. */
  data: string
  /** The client-side error code, if any. */
  error: string | undefined
  /** The server closed the connection (rather than the client timing out). */
  closedByServer: boolean
  elapsedMs: number
  /** SHA-256 fingerprint of the certificate the server presented. */
  serverCertificate: string | undefined
  /** The negotiated protocol and cipher. */
  protocol: string | undefined
  cipher: string | undefined
}

export interface RawOptions {
  client?: Identity | undefined
  /** Written as soon as the handshake completes. */
  request?: string | Buffer
  /** Written one after another, `gapMs` apart, after `request`. */
  chunks?: (string | Buffer)[]
  gapMs?: number
  /** The client gives up (and destroys the socket) after this long. */
  timeoutMs?: number
  /** Stop waiting once this many HTTP answers have arrived. */
  answers?: number
  tls?: ConnectionOptions
}

export function tlsOptions(pki: TestPki, client: Identity | undefined, extra: ConnectionOptions = {}) {
  return {
    host: '127.0.0.1',
    servername: 'localhost',
    ca: readFileSync(pki.files['server-root-ca.pem']!),
    ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
    ...extra,
  } satisfies ConnectionOptions
}

/** Opens a TLS connection, writes the request bytes, and collects what comes back until close. */
export function rawTls(pki: TestPki, port: number, options: RawOptions = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const started = performance.now()
    let data = ''
    let secure = false
    let error: string | undefined
    let closedByServer = false
    let serverCertificate: string | undefined
    let protocol: string | undefined
    let cipher: string | undefined
    let socket: TLSSocket
    const done = () => ({
      secure,
      data,
      error,
      closedByServer,
      elapsedMs: performance.now() - started,
      serverCertificate,
      protocol,
      cipher,
    })
    try {
      socket = connect({ ...tlsOptions(pki, options.client, options.tls), port })
    } catch (e) {
      error = (e as NodeJS.ErrnoException).code ?? (e as Error).message
      resolve({ ...done(), elapsedMs: 0 })
      return
    }
    const timer = setTimeout(() => socket.destroy(), options.timeoutMs ?? 3000)
    socket.on('secureConnect', async () => {
      secure = true
      serverCertificate = socket.getPeerX509Certificate()?.fingerprint256
      protocol = socket.getProtocol() ?? undefined
      cipher = socket.getCipher().name
      if (options.request !== undefined) socket.write(options.request)
      for (const chunk of options.chunks ?? []) {
        await sleep(options.gapMs ?? 100)
        if (!socket.writable) break
        socket.write(chunk)
      }
    })
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1')
      if (options.answers !== undefined && parseResponses(data).length >= options.answers) socket.destroy()
    })
    socket.on('end', () => (closedByServer = true))
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message
      if (e.code === 'ECONNRESET') closedByServer = true
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(done())
    })
  })
}

export interface HttpAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/** Splits HTTP/1.1 answers (Content-Length framed) out of a byte stream. */
export function parseResponses(data: string): HttpAnswer[] {
  return takeResponses(data).answers
}

/** The complete answers at the start of `data`, and what is left after them. */
export function takeResponses(data: string): { answers: HttpAnswer[]; rest: string } {
  const answers: HttpAnswer[] = []
  let rest = data
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) break
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n')
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN)
    if (Number.isNaN(status)) break
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    const length = Number(headers['content-length'] ?? 0)
    if (rest.length < end + 4 + length) break
    answers.push({ status, headers, body: rest.slice(end + 4, end + 4 + length) })
    rest = rest.slice(end + 4 + length)
  }
  return { answers, rest }
}

/** The JSON `reason` of a gateway answer body, if it has one. */
export function bodyReason(answer: HttpAnswer | undefined): string | undefined {
  if (!answer) return undefined
  try {
    return (JSON.parse(answer.body) as { reason?: string }).reason
  } catch {
    return undefined
  }
}

/** A plain TCP client: writes bytes (or nothing) and reports what came back until close. */
export function rawTcp(
  port: number,
  bytes: string | Buffer | undefined,
  timeoutMs = 3000,
): Promise<{ data: string; error: string | undefined; elapsedMs: number; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const started = performance.now()
    let data = ''
    let error: string | undefined
    let closedByServer = false
    const socket: Socket = tcpConnect(port, '127.0.0.1')
    const timer = setTimeout(() => socket.destroy(), timeoutMs)
    socket.on('connect', () => {
      if (bytes !== undefined) socket.write(bytes)
    })
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')))
    socket.on('end', () => (closedByServer = true))
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message
      if (e.code === 'ECONNRESET') closedByServer = true
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ data, error, elapsedMs: performance.now() - started, closedByServer })
    })
  })
}

/**
 * A real TLS client whose bytes pass through until the server's first flight has arrived, after
 * which nothing more is sent: the handshake stalls after a complete ClientHello.
 */
export function stalledTlsHandshake(
  pki: TestPki,
  port: number,
  client: Identity | undefined,
  timeoutMs: number,
): Promise<{ elapsedMs: number; serverBytes: number; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const started = performance.now()
    const tcp = tcpConnect(port, '127.0.0.1')
    let writes = 0
    let serverBytes = 0
    let closedByServer = false
    const tunnel = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        // Only the ClientHello goes out; the client's second flight is swallowed.
        if (writes++ === 0) tcp.write(chunk)
        callback()
      },
    })
    tcp.on('data', (chunk: Buffer) => {
      serverBytes += chunk.length
      tunnel.push(chunk)
    })
    tcp.on('end', () => (closedByServer = true))
    tcp.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET') closedByServer = true
    })
    const tls = connect({ ...tlsOptions(pki, client), socket: tunnel })
    tls.on('error', () => undefined)
    const timer = setTimeout(() => tcp.destroy(), timeoutMs)
    tcp.on('close', () => {
      clearTimeout(timer)
      tls.destroy()
      resolve({ elapsedMs: performance.now() - started, serverBytes, closedByServer })
    })
  })
}
