/**
 * Real TLS clients for the integration tests. Each call opens a new TCP + TLS connection, as
 * Thredd does for every message.
 */
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { connect, type TLSSocket } from 'node:tls'
import { buildMessage } from '../../src/tools/messages/synthetic-messages.ts'
import type { TestPki } from './test-pki.ts'

/** A valid EHI authorisation request (0100/A) in XML, the default body of every test request. */
export const AUTH_XML = buildMessage('auth', 'xml')

export interface PostResult {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** The server closed the connection after this answer. */
  closed: boolean
}

export interface PostOptions {
  client?: { cert: string; key: string } | undefined
  body?: string | Buffer
  headers?: Record<string, string>
  path?: string
  method?: string
  localAddress?: string
  session?: Buffer
  onSession?: (session: Buffer) => void
  onSocket?: (socket: TLSSocket) => void
}

export function post(pki: TestPki, port: number, options: PostOptions = {}): Promise<PostResult> {
  const body = options.body ?? AUTH_XML
  return new Promise((resolve, reject) => {
    let socket: TLSSocket | undefined
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/ehi',
        method: options.method ?? 'POST',
        servername: 'localhost',
        ca: readFileSync(pki.files['server-root-ca.pem']!),
        ...(options.client
          ? { cert: readFileSync(options.client.cert), key: readFileSync(options.client.key) }
          : {}),
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        ...(options.session ? { session: options.session } : {}),
        agent: false,
        // A header given as '' is left out entirely (to test a request without it).
        headers: Object.fromEntries(
          Object.entries({ 'content-type': 'text/xml', ...options.headers }).filter(
            ([, value]) => value !== '',
          ),
        ),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const finish = (closed: boolean) =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
              closed,
            })
          if (!socket || socket.destroyed || socket.readableEnded) finish(true)
          else {
            const open = socket
            // Wait briefly to see whether the server closes the connection.
            const timer = setTimeout(() => {
              open.destroy()
              finish(false)
            }, 200)
            open.once('close', () => {
              clearTimeout(timer)
              finish(true)
            })
          }
        })
      },
    )
    req.on('socket', (raw) => {
      const tlsSocket = raw as TLSSocket
      socket = tlsSocket
      options.onSocket?.(tlsSocket)
      tlsSocket.on('session', (session: Buffer) => options.onSession?.(session))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Opens a TLS connection, optionally writes a request, and reports what came back. */
/** A full handshake with the good client: its answer and the first session ticket it got. */
export async function firstTicket(pki: TestPki, port: number): Promise<{ res: PostResult; ticket?: Buffer }> {
  let ticket: Buffer | undefined
  const res = await post(pki, port, { client: pki.clients.good, onSession: (s) => (ticket ??= s) })
  return ticket ? { res, ticket } : { res }
}

/** Offers `ticket` with the good client: whether it resumed, the answer and the tickets it got. */
export async function offerTicket(pki: TestPki, port: number, ticket: Buffer | undefined) {
  let resumed: boolean | undefined
  const renewed: Buffer[] = []
  const res = await post(pki, port, {
    client: pki.clients.good,
    ...(ticket ? { session: ticket } : {}),
    onSession: (s) => renewed.push(s),
    onSocket: (socket) => socket.once('secureConnect', () => (resumed = socket.isSessionReused())),
  })
  return { resumed, res, renewed }
}

export function rawExchange(
  pki: TestPki,
  port: number,
  options: { client?: { cert: string; key: string }; request?: string; timeoutMs?: number } = {},
): Promise<{ secure: boolean; data: string; error: string | undefined }> {
  return new Promise((resolve) => {
    let data = ''
    let secure = false
    let error: string | undefined
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: readFileSync(pki.files['server-root-ca.pem']!),
      ...(options.client
        ? { cert: readFileSync(options.client.cert), key: readFileSync(options.client.key) }
        : {}),
    })
    const timer = setTimeout(() => socket.destroy(), options.timeoutMs ?? 3000)
    socket.on('secureConnect', () => {
      secure = true
      if (options.request) socket.write(options.request)
    })
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')))
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message))
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ secure, data, error })
    })
  })
}

export const SAMPLE_REQUEST = `POST /ehi HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(AUTH_XML)}\r\n\r\n${AUTH_XML}`

/** Sends `count` requests one after another on a single TLS connection; returns the status lines. */
export function sequentialOnOneConnection(
  pki: TestPki,
  port: number,
  client: { cert: string; key: string },
  count: number,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const statuses: string[] = []
    let buffer = Buffer.alloc(0)
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: readFileSync(pki.files['server-root-ca.pem']!),
      cert: readFileSync(client.cert),
      key: readFileSync(client.key),
    })
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), 5000)
    const sendOne = () => socket.write(SAMPLE_REQUEST)
    socket.on('secureConnect', sendOne)
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buffer.subarray(0, end).toString('latin1')
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0)
        if (buffer.length < end + 4 + length) return
        statuses.push(head.split('\r\n')[0]!)
        buffer = buffer.subarray(end + 4 + length)
        if (statuses.length === count) {
          clearTimeout(timer)
          socket.end()
          resolve(statuses)
          return
        }
        sendOne()
      }
    })
    socket.on('error', reject)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(statuses)
    })
  })
}

export interface KeptAliveAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

/** One kept-alive TLS connection: requests one after another, answers parsed, closing observed. */
export interface KeptAliveConnection {
  /** Sends one request (AUTH_XML by default, or raw request text) and resolves with its answer. */
  request(raw?: string): Promise<KeptAliveAnswer>
  /** Resolves when the server (or anyone) closes the connection. */
  readonly closed: Promise<void>
  isClosed(): boolean
  close(): void
}

export async function openKeptAlive(
  pki: TestPki,
  port: number,
  client: { cert: string; key: string },
): Promise<KeptAliveConnection> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca: readFileSync(pki.files['server-root-ca.pem']!),
    cert: readFileSync(client.cert),
    key: readFileSync(client.key),
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve)
    socket.once('error', reject)
  })
  let closed = false
  const whenClosed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true
      resolve()
    }),
  )
  socket.on('error', () => undefined)
  let buffer = Buffer.alloc(0)
  let waiting: { resolve: (a: KeptAliveAnswer) => void; reject: (e: Error) => void } | undefined
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    const end = buffer.indexOf('\r\n\r\n')
    if (end < 0 || !waiting) return
    const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n')
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    // 1xx answers have no body and precede the final answer.
    const status = Number(statusLine!.split(' ')[1])
    const length = status < 200 ? 0 : Number(headers['content-length'] ?? 0)
    if (buffer.length < end + 4 + length) return
    const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8')
    buffer = buffer.subarray(end + 4 + length)
    if (status < 200) return
    const done = waiting
    waiting = undefined
    done.resolve({ status, headers, body })
  })
  void whenClosed.then(() => waiting?.reject(new Error('connection closed before an answer')))
  return {
    request(raw = SAMPLE_REQUEST) {
      return new Promise((resolve, reject) => {
        if (closed) return reject(new Error('connection closed'))
        waiting = { resolve, reject }
        socket.write(raw)
      })
    },
    closed: whenClosed,
    isClosed: () => closed,
    close: () => socket.destroy(),
  }
}
