/**
 * The session-ticket key of a process (a single gateway, or a cluster primary that sends it to its
 * workers): set at start, replaced at every rotation boundary and after every reload.
 *
 * With tls.ticketKeyFile the key is derived from the shared secret, the rotation period and the
 * client trust (runtime/rules/ticket-keys.ts), so replicas agree on it without talking. Without
 * it the key is random: resumption works within this process and its workers only.
 *
 * At a boundary the key it replaces still reads tickets (session-tickets.ts), so a ticket made
 * just before a boundary resumes after it; after a reload only the new key does.
 */
import { randomBytes } from 'node:crypto'
import type { Runtime } from '../runtime/compile-runtime.ts'
import {
  deriveTicketKey,
  nextRotationMs,
  rotationPeriod,
  TICKET_KEY_BYTES,
} from '../runtime/rules/ticket-keys.ts'

export interface TicketKeySchedule {
  /** After a reload: the key for the new runtime (a new random one without a key file). */
  refresh(): void
  stop(): void
}

export function scheduleTicketKeys(options: {
  /** The runtime in force (its tls settings, secret and trust). */
  runtime: () => Runtime
  /** Installs a key (the listener's, or every worker's); keepPrevious at a rotation boundary. */
  install: (keys: Buffer, keepPrevious: boolean) => void
  now?: () => number
}): TicketKeySchedule {
  const now = options.now ?? Date.now
  let timer: NodeJS.Timeout | undefined

  const keyAt = (runtime: Runtime, at: number) =>
    runtime.ticketSecret
      ? deriveTicketKey(
          runtime.ticketSecret,
          rotationPeriod(at, runtime.config.tls.ticketKeyRotationMinutes),
          runtime.material.trustHash,
        )
      : randomBytes(TICKET_KEY_BYTES)

  /** Installs the key of the period `at` falls in, and waits for the next boundary. */
  const rotate = (at: number, keepPrevious: boolean) => {
    const runtime = options.runtime()
    options.install(keyAt(runtime, at), keepPrevious)
    if (timer) clearTimeout(timer)
    const boundary = nextRotationMs(at, runtime.config.tls.ticketKeyRotationMinutes)
    // A timer may fire a millisecond before its boundary by the wall clock: derive for the
    // boundary then, never for the period that just ended.
    timer = setTimeout(() => rotate(Math.max(now(), boundary), true), Math.max(0, boundary - now()))
    timer.unref()
  }
  rotate(now(), false)

  return {
    refresh: () => rotate(now(), false),
    stop: () => {
      if (timer) clearTimeout(timer)
      timer = undefined
    },
  }
}
