/**
 * TLS session tickets under the gateway's keys, with a fresh ticket on every resumption.
 *
 * Node's own ticket handling (setTicketKeys) accepts a ticket without asking OpenSSL to renew it,
 * so a resumed TLS 1.3 connection gets no new ticket. A client that uses each ticket once, as
 * RFC 8446 advises and Java's JSSE does, then resumes only every other connection: measured with
 * a JVM client on Thredd's pattern, 365 of 750 connections resumed on the gateway against 712 on
 * nginx (docs/bench.md). Here the gateway answers OpenSSL's ticket-key callback itself: new
 * tickets under the current key, and a ticket under the current or the previous key is accepted
 * and renewed, so a ticket issued just before a rotation boundary still resumes after it.
 *
 * The callback is Node's SecureContext hook behind setTicketKeys (`enableTicketKeyCallback`,
 * `onticketkeycallback`), not a documented API: when a Node release lacks it, the gateway falls
 * back to setTicketKeys (one key, no renewal) and says so at start (`renewing` false).
 */
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:tls'

const PART = 16

/** A 48-byte ticket key as Node's setTicketKeys takes it: name, HMAC key, AES key. */
export interface TicketKey {
  name: Buffer
  hmac: Buffer
  aes: Buffer
}

export function splitTicketKey(keys: Buffer): TicketKey {
  if (keys.length !== 3 * PART) throw new Error(`a ticket key is ${3 * PART} bytes, not ${keys.length}`)
  return { name: keys.subarray(0, PART), hmac: keys.subarray(PART, 2 * PART), aes: keys.subarray(2 * PART) }
}

/** OpenSSL's answers to its ticket-key callback (SSL_CTX_set_tlsext_ticket_key_cb). */
export const TICKET_UNKNOWN = 0
export const TICKET_ISSUED = 1
export const TICKET_RENEW = 2

export type TicketAnswer = [number, Buffer, Buffer] | [number, Buffer, Buffer, Buffer, Buffer]

/**
 * The answer for one ticket, pure: to issue one (`encrypt`), the current key and a fresh IV; to
 * read one, the key its name names, current or previous, with a request to renew it; a name
 * neither has is unknown (a full handshake follows), still with well-formed keys, which Node
 * requires of every answer.
 */
export function ticketKeyAnswer(
  keys: { current: TicketKey; previous: TicketKey | undefined },
  name: Buffer,
  encrypt: boolean,
  iv: () => Buffer,
): TicketAnswer {
  const { current, previous } = keys
  if (encrypt) return [TICKET_ISSUED, current.hmac, current.aes, current.name, iv()]
  if (name.equals(current.name)) return [TICKET_RENEW, current.hmac, current.aes]
  if (previous && name.equals(previous.name)) return [TICKET_RENEW, previous.hmac, previous.aes]
  return [TICKET_UNKNOWN, current.hmac, current.aes]
}

export interface SessionTickets {
  /**
   * Makes `keys` the key of new tickets. With keepPrevious (a rotation) the key it replaces still
   * reads tickets until the next change; without (start, reload) only `keys` does.
   */
  setKey(keys: Buffer, options: { keepPrevious: boolean }): void
  /** After server.setSecureContext: the new TLS context gets the callback (or the key). */
  attach(): void
  /** False when this Node has no ticket-key hook: one key through setTicketKeys, no renewal. */
  readonly renewing: boolean
}

interface TicketHookContext {
  enableTicketKeyCallback?: () => void
  onticketkeycallback?: (name: Buffer, iv: Buffer, encrypt: boolean) => TicketAnswer
}

/** The native TLS context the server hands to new connections (Node's own setTicketKeys uses it). */
function contextOf(server: Server): TicketHookContext | undefined {
  return (server as Server & { _sharedCreds?: { context?: TicketHookContext } })._sharedCreds?.context
}

export function sessionTickets(server: Server, initial: Buffer): SessionTickets {
  let currentBytes = Buffer.from(initial)
  let current = splitTicketKey(currentBytes)
  let previous: TicketKey | undefined
  const renewing = typeof contextOf(server)?.enableTicketKeyCallback === 'function'
  const answer = (name: Buffer, _iv: Buffer, encrypt: boolean) =>
    ticketKeyAnswer({ current, previous }, name, encrypt, () => randomBytes(PART))

  const attach = () => {
    const context = contextOf(server)
    if (renewing && typeof context?.enableTicketKeyCallback === 'function') {
      context.onticketkeycallback = answer
      context.enableTicketKeyCallback()
    } else server.setTicketKeys(currentBytes)
  }
  attach()

  return {
    setKey(keys, { keepPrevious }) {
      if (keys.equals(currentBytes)) return
      previous = keepPrevious ? current : undefined
      currentBytes = Buffer.from(keys)
      current = splitTicketKey(currentBytes)
      if (!renewing) server.setTicketKeys(currentBytes)
    },
    attach,
    renewing,
  }
}
