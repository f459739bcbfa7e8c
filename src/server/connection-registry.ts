/**
 * The open EHI connections, in one place: each accepted TCP connection with its accept time and
 * its source address's count (limits.maxConnectionsPerIp), those still in their TLS handshake,
 * and those past it with what drain and a trust reload need to know (has it served a request, is
 * one in flight, must it close after its answer). The connection gate admits through it; the
 * HTTP layer tells it when a request starts and finishes.
 */
import type { Server } from 'node:https'
import type { Socket } from 'node:net'
import type { Metrics } from '../observability/metrics.ts'
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
  /**
   * Counts an accepted TCP connection against its source address's limit, from `acceptedAt`
   * (performance.now(); default now). False, and nothing counted, when the address is at it.
   */
  admit(raw: Socket, address: string | undefined, acceptedAt?: number): boolean
  /** performance.now() at TCP accept, for a raw socket or the TLS socket over it. */
  acceptedAt(socket: Socket): number | undefined
  /** A request arrived on `socket` (first, before any answer: it counts as in flight). */
  started(socket: Socket): void
  /** Its answer was sent, or its client went away. */
  finished(socket: Socket): void
  stateOf(socket: Socket): ConnectionState | undefined
  /** TLS connections past their handshake. */
  readonly open: ReadonlyMap<Socket, ConnectionState>
  /** Admitted TCP connections still in their TLS handshake. */
  readonly handshaking: ReadonlySet<Socket>
  /** Requests in flight on every connection. */
  inFlight(): number
}

export function trackConnections(
  server: Server,
  options: { maxConnectionsPerIp: number; metrics: Metrics },
): ConnectionRegistry {
  const { metrics } = options
  const perIp = new Map<string, number>()
  const accepted = new WeakMap<Socket, number>()
  const open = new Map<Socket, ConnectionState>()
  const handshaking = new Set<Socket>()
  let inFlight = 0

  server.on('secureConnection', (socket: Socket & { _parent?: Socket }) => {
    if (socket._parent) handshaking.delete(socket._parent)
    open.set(socket, { openedAt: performance.now(), served: 0, busy: false, closeAfterAnswer: undefined })
    socket.once('close', () => open.delete(socket))
  })

  return {
    admit(raw, address, acceptedAt = performance.now()) {
      const key = address ?? ''
      const count = (perIp.get(key) ?? 0) + 1
      if (count > options.maxConnectionsPerIp) return false
      perIp.set(key, count)
      accepted.set(raw, acceptedAt)
      handshaking.add(raw)
      metrics.connectionsAccepted.inc()
      metrics.connectionsOpen.inc()
      raw.once('close', () => {
        handshaking.delete(raw)
        metrics.connectionsOpen.dec()
        const left = (perIp.get(key) ?? 1) - 1
        if (left <= 0) perIp.delete(key)
        else perIp.set(key, left)
      })
      return true
    },
    acceptedAt: (socket) =>
      accepted.get(socket) ?? accepted.get((socket as Socket & { _parent?: Socket })._parent as Socket),
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
