/**
 * The embedded reference EHI host: a plain-HTTP stand-in for the programme manager's host, for
 * the demo and the tests. It approves every GetTransaction (Responsestatus 00, Acknowledgement 1)
 * and acknowledges every Cut_Off (Cut_OffResult 1), in the request's format. It records what it
 * received so tests can prove that a refused message never reached it. Never for production.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { contentTypeFor, cutOffAnswer, getTransactionAnswer, type WireFormat } from '../ehi/ehi-answers.ts'

export interface ReceivedMessage {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
}

export interface ReferenceHost {
  readonly url: string
  readonly port: number
  /** Every request received (the last 1000). */
  readonly received: ReceivedMessage[]
  /** Answers after this many milliseconds (0 = at once); for deadline tests and demos. */
  delayMs: number
  close(): Promise<void>
}

const KEEP = 1000

export async function startReferenceHost(
  options: { host?: string; port?: number; path?: string } = {},
): Promise<ReferenceHost> {
  const received: ReceivedMessage[] = []
  const sockets = new Set<Socket>()
  const state = { delayMs: 0 }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      if (received.length > KEEP) received.shift()
      const answer = () => {
        const { format, text } = answerFor(req.headers, body)
        const headers: Record<string, string | number> = {
          'content-type': contentTypeFor(format),
          'content-length': Buffer.byteLength(text),
        }
        const soapaction = req.headers.soapaction
        if (typeof soapaction === 'string') headers.soapaction = soapaction
        res.writeHead(200, headers).end(text)
      }
      if (state.delayMs > 0) setTimeout(answer, state.delayMs).unref()
      else answer()
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}${options.path ?? '/ehi'}`,
    port: address.port,
    received,
    get delayMs() {
      return state.delayMs
    },
    set delayMs(value: number) {
      state.delayMs = value
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Approve or acknowledge, in the request's format. Cut_Off is recognised by its root element. */
function answerFor(headers: IncomingHttpHeaders, body: Buffer): { format: WireFormat; text: string } {
  const text = body.toString('utf8')
  const format: WireFormat =
    /json/i.test(headers['content-type'] ?? '') || text.trimStart().startsWith('{') ? 'json' : 'xml'
  const cutOff = format === 'json' ? /"CutoffID"\s*:/.test(text) : /<(?:[\w.-]+:)?Cut_Off[\s>/]/.test(text)
  if (cutOff) return { format, text: cutOffAnswer('1', format) }
  return { format, text: getTransactionAnswer({ Responsestatus: '00', Acknowledgement: '1' }, format) }
}
