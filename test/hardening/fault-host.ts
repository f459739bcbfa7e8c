/**
 * An internal EHI host that misbehaves on demand, written on raw TCP so it can send exactly the
 * broken answers a real host sends on a bad day: a reset in the middle of an answer, bytes that
 * are not HTTP, a Content-Length that does not match the body, no answer at all, or a slow one.
 * It can be stopped and started again on the same port (a host that goes down and comes back).
 *
 * It answers as a correct host would otherwise (a decision approved, everything else
 * acknowledged, a Cut_Off taken), echoes the message id in `x-host-txn-id` so a client can tell
 * whose answer it got, and records, for every message, the answer it completed: that is the
 * ground truth the suite compares the client's answers with.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { classifyEhiMessage } from '../../src/plane/ehi/classify-ehi-message.ts'
import { contentTypeFor, cutOffAnswer, getTransactionAnswer } from '../../src/plane/ehi/ehi-answers.ts'
import { parseEhiMessage } from '../../src/plane/ehi/parse-ehi-message.ts'

export type FaultMode =
  /** Correct answers. */
  | 'approve'
  /** Headers and half the body, then a TCP reset. */
  | 'reset_mid_answer'
  /** Reads the request, never answers. */
  | 'stall'
  /** Bytes that are not HTTP, then close. */
  | 'garbage'
  /** Declares more bytes than it sends, then closes. */
  | 'long_content_length'
  /** Declares fewer bytes than it sends: the rest spills into the connection. */
  | 'short_content_length'

export interface HostRecord {
  /** TXn_ID, or CutoffID for a Cut_Off. */
  id: string | undefined
  cls: string
  mode: FaultMode
  /** Acknowledgement (Cut_OffResult for a Cut_Off) of the answer the host completed, if any. */
  ack: string | undefined
  responseStatus: string | undefined
  completed: boolean
}

export interface FaultHost {
  readonly url: string
  readonly port: number
  readonly records: HostRecord[]
  mode: FaultMode
  /** Answers (in approve mode) after this long. */
  delayMs: number
  /** Closes the listener and every connection: the host is down (connections are refused). */
  stop(): Promise<void>
  /** Listens again on the same port. */
  start(): Promise<void>
  close(): Promise<void>
}

const LIMITS = { maxDepth: 32, maxElements: 10_000, maxAttributes: 64 }

export async function startFaultHost(
  options: { port?: number; mode?: FaultMode; listen?: boolean } = {},
): Promise<FaultHost> {
  const records: HostRecord[] = []
  const sockets = new Set<Socket>()
  const state = { mode: options.mode ?? ('approve' as FaultMode), delayMs: 0 }
  let server: Server | undefined
  let port = options.port ?? 0

  const handle = (socket: Socket) => {
    // A real host's HTTP stack does not wait for ACKs between its writes (no Nagle delay).
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    let buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buffer.subarray(0, end).toString('latin1')
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
        if (buffer.length < end + 4 + length) return
        const body = buffer.subarray(end + 4, end + 4 + length)
        buffer = buffer.subarray(end + 4 + length)
        const contentType = /\r\ncontent-type: *([^\r]*)/i.exec(head)?.[1]
        answer(socket, body, contentType)
      }
    })
  }

  const answer = (socket: Socket, body: Buffer, contentType: string | undefined) => {
    const mode = state.mode
    const parsed = parseEhiMessage(body, contentType, LIMITS)
    if (!parsed.ok) {
      const text = JSON.stringify({ error: parsed.reason })
      socket.write(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${text.length}\r\n\r\n${text}`,
      )
      return
    }
    const { message } = parsed
    const cls = classifyEhiMessage(message, 1)
    const id = message.root === 'Cut_Off' ? message.fields.CutoffID : message.fields.TXn_ID
    const ack = '1'
    const responseStatus = cls === 'decision' || cls === 'reversal' ? '00' : undefined
    const text =
      cls === 'cutoff'
        ? cutOffAnswer('1', message.format)
        : getTransactionAnswer(
            responseStatus === undefined
              ? { Acknowledgement: '1' }
              : { Responsestatus: responseStatus, Acknowledgement: '1' },
            message.format,
          )
    const bytes = Buffer.from(text)
    const head = (length: number) =>
      `HTTP/1.1 200 OK\r\ncontent-type: ${contentTypeFor(message.format)}\r\ncontent-length: ${length}\r\nx-host-txn-id: ${id ?? ''}\r\n\r\n`
    const record: HostRecord = { id, cls, mode, ack: undefined, responseStatus: undefined, completed: false }
    records.push(record)
    const complete = () => {
      record.ack = ack
      record.responseStatus = responseStatus
      record.completed = true
    }

    switch (mode) {
      case 'approve': {
        const send = () => {
          if (socket.destroyed) return
          socket.write(Buffer.concat([Buffer.from(head(bytes.length)), bytes]))
          complete()
        }
        if (state.delayMs > 0) setTimeout(send, state.delayMs).unref()
        else send()
        return
      }
      case 'reset_mid_answer':
        socket.write(head(bytes.length))
        socket.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => socket.resetAndDestroy())
        return
      case 'stall':
        return
      case 'garbage':
        socket.end('NOT-HTTP \u0000\u0001 garbage\r\n\r\n')
        return
      case 'long_content_length':
        socket.write(head(bytes.length + 100))
        socket.write(bytes, () => setTimeout(() => socket.end(), 10))
        return
      case 'short_content_length': {
        // What the host declared is its answer; the rest is junk left on the connection.
        const declared = text.slice(0, bytes.length - 15)
        socket.write(Buffer.concat([Buffer.from(head(bytes.length - 15)), bytes]))
        record.completed = true
        record.ack = /<(Acknowledgement|Cut_OffResult)>1<|"(Acknowledgement|Cut_OffResult)":"1"/.test(
          declared,
        )
          ? '1'
          : undefined
        record.responseStatus = /<Responsestatus>00<|"Responsestatus":"00"/.test(declared) ? '00' : undefined
        return
      }
    }
  }

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(handle)
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port
        server = s
        resolve()
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      if (!server) return resolve()
      const s = server
      server = undefined
      s.close(() => resolve())
    })

  if (options.listen === false) {
    // Reserve a port, then free it: the host starts down.
    await listen()
    await stop()
  } else await listen()

  return {
    get url() {
      return `http://127.0.0.1:${port}/ehi`
    },
    get port() {
      return port
    },
    records,
    get mode() {
      return state.mode
    },
    set mode(value: FaultMode) {
      state.mode = value
    },
    get delayMs() {
      return state.delayMs
    },
    set delayMs(value: number) {
      state.delayMs = value
    },
    stop,
    start: listen,
    close: stop,
  }
}
