/**
 * Routing and deduplication hints for the internal host, so it can deduplicate a resend
 * (TXn_ID, SendingAttemptCount) and route by class without parsing the body. Values are
 * restricted to printable ASCII and bounded, since they come from message content. Pure.
 */
import type { EhiMessage, MessageClass } from './ehi-message.ts'

const HEADER_FIELDS = [
  ['x-ehi-txn-id', 'TXn_ID'],
  ['x-ehi-attempt', 'SendingAttemptCount'],
  ['x-ehi-mtid', 'MTID'],
  ['x-ehi-txn-type', 'Txn_Type'],
  ['x-ehi-product-id', 'ProductID'],
  ['x-ehi-cutoff-id', 'CutoffID'],
] as const

export function ehiHostHeaders(message: EhiMessage, cls: MessageClass): Record<string, string> {
  const headers: Record<string, string> = { 'x-ehi-class': cls, 'x-ehi-format': message.format }
  for (const [header, field] of HEADER_FIELDS) {
    const value = headerSafe(message.fields[field])
    if (value) headers[header] = value
  }
  return headers
}

export function headerSafe(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const cleaned = value
    .replace(/[^\x20-\x7e]/g, '')
    .trim()
    .slice(0, 64)
  return cleaned === '' ? undefined : cleaned
}
