/**
 * Session-ticket keys derived from a shared secret (tls.ticketKeyFile). Pure.
 *
 * Every replica holding the same secret computes the same key for the same rotation period, so
 * a ticket one replica issued resumes on another, and all of them rotate at the same moment
 * without talking to each other (the period is counted in Unix time, so clocks must be in sync).
 * The client trust is mixed in: a trust change still invalidates every earlier ticket, and
 * replicas serving the same trust keep sharing keys.
 */
import { hkdfSync } from 'node:crypto'

/** Node's TLS server takes one 48-byte key: 16 bytes of name, 16 of HMAC key, 16 of AES key. */
export const TICKET_KEY_BYTES = 48
/** Less than this many bytes of secret is refused. */
export const MIN_TICKET_SECRET_BYTES = 32
/** Versioned, so a future change of the derivation cannot collide with keys made by this one. */
export const TICKET_KEY_SALT = 'ehi-gateway session tickets v1'

const BASE64_TEXT = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * The secret in a ticket key file: base64 text (line breaks ignored, as `openssl rand -base64`
 * writes it) is decoded; anything else is taken as raw bytes. Either
 * must give at least MIN_TICKET_SECRET_BYTES, so a short password is never a ticket key.
 */
export function parseTicketSecret(file: Buffer): { secret: Buffer } | { problem: string } {
  // Line breaks are how base64 tools wrap long lines; a space inside is not base64 text.
  const text = file.toString('latin1').trim().replace(/\r?\n/g, '')
  if (text.length > 0 && text.length % 4 === 0 && BASE64_TEXT.test(text)) {
    const secret = Buffer.from(text, 'base64')
    return secret.length >= MIN_TICKET_SECRET_BYTES
      ? { secret }
      : {
          problem: `holds base64 text of ${secret.length} bytes; at least ${MIN_TICKET_SECRET_BYTES} are needed (make one with: openssl rand -base64 48)`,
        }
  }
  return file.length >= MIN_TICKET_SECRET_BYTES
    ? { secret: file }
    : {
        problem: `holds ${file.length} bytes; at least ${MIN_TICKET_SECRET_BYTES} are needed (make one with: openssl rand -base64 48)`,
      }
}

/** The rotation period `nowMs` falls in: periods of `minutes` counted from the Unix epoch. */
export function rotationPeriod(nowMs: number, minutes: number): number {
  return Math.floor(nowMs / (minutes * 60_000))
}

/** When the period after the one `nowMs` falls in starts (ms since the epoch). */
export function nextRotationMs(nowMs: number, minutes: number): number {
  return (rotationPeriod(nowMs, minutes) + 1) * minutes * 60_000
}

/** The ticket key of `period` for `trustHash`: HKDF-SHA256(secret, salt, "period:trustHash"). */
export function deriveTicketKey(secret: Buffer, period: number, trustHash: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, TICKET_KEY_SALT, `${period}:${trustHash}`, TICKET_KEY_BYTES))
}
