/**
 * The open EHI connections, in one place: those still in their TLS handshake, and those past it
 * with what drain and a trust reload need to know (has it served a request, is one in flight,
 * must it close after its answer). The HTTP layer tells it when a request starts and finishes.
 */
import type { Server } from 'node:https'
import type { Socket } from 'node:net'
import type { Reason } from '../reasons.ts'

export interface ConnectionState {
  /** performance.now() when the TLS handshake completed. */
  readonly openedAt: number
  served: number
  busy: boolean
  /** Set when the connection must close once the answer in flight is sent (a reload refused it). */
  closeAfterAnswer: Reason | undefined
}

export interface ConnectionRegistry {
  /** A request arrived on `socket` (first, before any answer: it counts as in flight). */
  started(socket: Socket): void
  /** Its answer was sent, or its client went away. */
  finished(socket: Socket): void
  stateOf(socket: Socket): ConnectionState | undefined
  /** TLS connections past their handshake. */
  readonly open: ReadonlyMap<Socket, ConnectionState>
  /** Accepted TCP connections still in their TLS handshake. */
  readonly handshaking: ReadonlySet<Socket>
  /** Requests in flight on every connection. */
  inFlight(): number
}

export function trackConnections(server: Server): ConnectionRegistry {
  const open = new Map<Socket, ConnectionState>()
  const handshaking = new Set<Socket>()
  let inFlight = 0
  server.on('connection', (raw: Socket) => {
    if (raw.destroyed) return
    handshaking.add(raw)
    raw.once('close', () => handshaking.delete(raw))
  })
  server.on('secureConnection', (socket: Socket & { _parent?: Socket }) => {
    if (socket._parent) handshaking.delete(socket._parent)
    open.set(socket, { openedAt: performance.now(), served: 0, busy: false, closeAfterAnswer: undefined })
    socket.once('close', () => open.delete(socket))
  })
  return {
    started(socket) {
      inFlight++
      const state = open.get(socket)
      if (state) state.busy = true
    },
    finished(socket) {
      inFlight--
      const state = open.get(socket)
      if (state) {
        state.busy = false
        state.served++
      }
    },
    stateOf: (socket) => open.get(socket),
    open,
    handshaking,
    inFlight: () => inFlight,
  }
}
