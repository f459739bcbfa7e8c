/**
 * Refusing a connection, in one place: every path that refuses one (the allowlist, the per-IP
 * and total limits, PROXY protocol, a failed handshake, the client certificate, the HTTP parser,
 * a reload that no longer admits an open connection) logs the same `connection_refused` line and
 * counts the same metric under its reason code, then ends the connection the way its stage
 * allows: closed before TLS, answered with the reason when HTTP can still be spoken, or left to
 * its request (http reject mode) or to Node (a handshake already failing).
 */
import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { Logger } from '../../observability/logger.ts'
import type { Metrics } from '../../observability/metrics.ts'
import type { Reason } from '../../reasons.ts'
import { errorAnswer } from '../http/error-answer.ts'
import { rawAnswer } from '../http/parser-refusal.ts'

export interface ConnectionRefusal {
  reason: Reason
  peer: { address: string | undefined; port: number | undefined }
  /**
   * destroy: close at once (before TLS, or handshake reject mode); answer: write the reason's
   * HTTP answer and close (nothing of a response sent yet); none: log and count only.
   */
  end: 'destroy' | 'answer' | 'none'
  socket?: Socket | undefined
  /** More fields for the log line (never anything the client chose as it sent it). */
  details?: Record<string, unknown>
}

export type RefuseConnection = (refusal: ConnectionRefusal) => void

const kParserRefused = Symbol('ehi-gateway.parserRefused')

/** Marks a socket whose bytes the HTTP parser refused; false when it was marked already. */
export function markParserRefused(socket: Socket): boolean {
  const marked = socket as Socket & { [kParserRefused]?: true }
  if (marked[kParserRefused]) return false
  marked[kParserRefused] = true
  return true
}

/** The HTTP parser refused this socket's bytes (its refusal was answered and counted then). */
export function wasParserRefused(socket: Socket): boolean {
  return Boolean((socket as Socket & { [kParserRefused]?: true })[kParserRefused])
}

export function connectionRefuser(deps: {
  logger: Logger
  metrics: Metrics
  /** Security headers on the HTTP answer of a refusal. */
  security: Readonly<Record<string, string>>
}): RefuseConnection {
  const { logger, metrics, security } = deps
  return ({ reason, peer, end, socket, details }) => {
    metrics.connectionsRefused.inc({ reason })
    logger.warn({ event: 'connection_refused', reason, peer, ...details }, 'connection refused')
    if (socket) endRefused(socket, reason, end, security)
  }
}

/** Ends a refused connection as its stage allows (see ConnectionRefusal.end); counts nothing. */
export function endRefused(
  socket: Socket,
  reason: Reason,
  end: ConnectionRefusal['end'],
  security: Readonly<Record<string, string>>,
): void {
  if (end === 'none') return
  if (end === 'destroy') {
    socket.destroy()
    return
  }
  // As Node's own handler: never write into a response that has started.
  const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && !pending?.headersSent) {
    socket.end(rawAnswer(errorAnswer(reason, randomUUID(), true), security))
    socket.destroySoon()
  } else socket.destroy()
}
