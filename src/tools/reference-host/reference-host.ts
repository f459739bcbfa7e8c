/**
 * The embedded reference EHI host: a plain-HTTP stand-in for the programme manager's host, for
 * the demo and the tests. It answers each class as a correct host would: a decision is approved
 * (Responsestatus 00, Acknowledgement 1), a reversal acknowledged with 00, every other message
 * acknowledged, a Cut_Off answered Cut_OffResult 1, in the request's format. It can be told to
 * decline, to fail, stall or answer garbage, for tests and demos. It records what it received
 * so tests can prove that a refused message never reached it. Never for production.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { classifyEhiMessage, type EhiMode } from '../../plane/ehi/classify-ehi-message.ts'
import { contentTypeFor, cutOffAnswer, getTransactionAnswer } from '../../plane/ehi/ehi-answers.ts'
import type { EhiFormat } from '../../plane/ehi/ehi-message.ts'
import { parseEhiMessage } from '../../plane/ehi/parse-ehi-message.ts'

export const REFERENCE_BEHAVIOURS = [
  'approve',
  'decline',
  'ack0',
  'fail',
  'stall',
  'reset',
  'garbage',
  'nonconforming',
] as const
/**
 * approve: the correct answers above. decline: decisions get 05 (do not honour). ack0:
 * acknowledgement-type messages get Acknowledgement 0 (reversals 96), Cut_Off gets 0. fail:
 * HTTP 500. stall: never answers. reset: closes the connection without an answer. garbage:
 * writes bytes that are not HTTP. nonconforming: 200 with an answer Thredd would refuse (no
 * Acknowledgement, a null balance).
 */
export type ReferenceBehaviour = (typeof REFERENCE_BEHAVIOURS)[number]

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
  /** Answers after this many milliseconds (0 = at once). */
  delayMs: number
  behaviour: ReferenceBehaviour
  close(): Promise<void>
}

export interface ReferenceHostOptions {
  host?: string
  port?: number
  path?: string
  mode?: EhiMode
  behaviour?: ReferenceBehaviour
}

const KEEP = 1000
const LIMITS = { maxDepth: 16, maxElements: 5000, maxAttributes: 64 }

export async function startReferenceHost(options: ReferenceHostOptions = {}): Promise<ReferenceHost> {
  const received: ReceivedMessage[] = []
  const sockets = new Set<Socket>()
  const state = { delayMs: 0, behaviour: options.behaviour ?? ('approve' as ReferenceBehaviour) }
  const mode = options.mode ?? 1

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      if (received.length > KEEP) received.shift()
      const behaviour = state.behaviour
      const respond = () => answer(req.headers, body, behaviour, mode, res)
      if (behaviour === 'stall') return
      if (state.delayMs > 0) setTimeout(respond, state.delayMs).unref()
      else respond()
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
    get behaviour() {
      return state.behaviour
    },
    set behaviour(value: ReferenceBehaviour) {
      state.behaviour = value
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

function answer(
  headers: IncomingHttpHeaders,
  body: Buffer,
  behaviour: ReferenceBehaviour,
  mode: EhiMode,
  res: ServerResponse,
): void {
  if (behaviour === 'reset') {
    res.socket?.resetAndDestroy()
    return
  }
  if (behaviour === 'garbage') {
    res.socket?.end('NOT-HTTP \u0000\u0001 garbage\r\n\r\n')
    return
  }
  if (behaviour === 'fail') {
    res.writeHead(500, { 'content-type': 'text/plain', 'content-length': 21 }).end('internal host failure')
    return
  }
  const parsed = parseEhiMessage(body, headers['content-type'], LIMITS)
  if (!parsed.ok) {
    const text = JSON.stringify({ error: parsed.reason, detail: parsed.detail })
    res
      .writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      .end(text)
    return
  }
  const { format } = parsed.message
  const cls = classifyEhiMessage(parsed.message, mode)
  const text = answerText(cls, format, behaviour)
  const out: Record<string, string | number> = {
    'content-type': contentTypeFor(format),
    'content-length': Buffer.byteLength(text),
  }
  const soapaction = headers.soapaction
  if (typeof soapaction === 'string') out.soapaction = soapaction
  res.writeHead(200, out).end(text)
}

function answerText(
  cls: ReturnType<typeof classifyEhiMessage>,
  format: EhiFormat,
  behaviour: ReferenceBehaviour,
): string {
  if (behaviour === 'nonconforming') {
    return format === 'json'
      ? '{"Responsestatus":"00","CurBalance":null}'
      : '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetTransactionResponse xmlns="http://tempuri.org/"><GetTransactionResult><Responsestatus>00</Responsestatus><CurBalance>null</CurBalance></GetTransactionResult></GetTransactionResponse></s:Body></s:Envelope>'
  }
  const ack0 = behaviour === 'ack0'
  switch (cls) {
    case 'cutoff':
      return cutOffAnswer(ack0 ? '0' : '1', format)
    case 'decision':
      return getTransactionAnswer(
        { Responsestatus: behaviour === 'decline' ? '05' : '00', Acknowledgement: '1' },
        format,
      )
    case 'reversal':
      return getTransactionAnswer(
        ack0
          ? { Responsestatus: '96', Acknowledgement: '0' }
          : { Responsestatus: '00', Acknowledgement: '1' },
        format,
      )
    default:
      return getTransactionAnswer({ Acknowledgement: ack0 ? '0' : '1' }, format)
  }
}
