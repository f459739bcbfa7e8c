/**
 * W3C trace context (https://www.w3.org/TR/trace-context/#traceparent-header). Thredd may send a
 * traceparent; it is passed on when valid and created when absent or malformed. Pure apart from
 * the random ids.
 */
import { randomUUID } from 'node:crypto'

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/

export function isValidTraceparent(value: string): boolean {
  const match = TRACEPARENT.exec(value)
  if (!match) return false
  const [, version, traceId, parentId, , rest] = match
  if (version === 'ff' || /^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return false
  // Version 00 has exactly four fields; later versions may add more.
  return version !== '00' || rest === undefined
}

export function newTraceparent(): string {
  const traceId = randomUUID().replace(/-/g, '')
  const parentId = randomUUID().replace(/-/g, '').slice(0, 16)
  return `00-${traceId}-${parentId}-00`
}

export function traceparentFor(inbound: string | string[] | undefined): string {
  const value = Array.isArray(inbound) ? inbound[0] : inbound
  // Upper-case hex is invalid per the spec, so it is replaced, not repaired.
  const trimmed = value?.trim()
  return trimmed && isValidTraceparent(trimmed) ? trimmed : newTraceparent()
}
