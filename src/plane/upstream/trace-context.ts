/**
 * W3C trace context (https://www.w3.org/TR/trace-context/#traceparent-header). Thredd may send a
 * traceparent; it is passed on when valid and created when absent or malformed. Its tracestate
 * goes with it only when both are valid: a new trace starts without one. Pure apart from the
 * random ids.
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

// W3C trace context, tracestate list members (https://www.w3.org/TR/trace-context/#tracestate-header).
const KEY_CHARS = '[a-z0-9_*/-]'
const TRACESTATE_KEY = new RegExp(
  `^(?:[a-z]${KEY_CHARS}{0,255}|[a-z0-9]${KEY_CHARS}{0,240}@[a-z]${KEY_CHARS}{0,13})$`,
)
// Printable ASCII without "," and "=", at most 256 characters, not ending in a space.
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/
const MAX_TRACESTATE_MEMBERS = 32

/**
 * The client's tracestate as one normalised value, or undefined when it is absent, empty or
 * invalid anywhere (a bad member, more than 32 members, a key twice): a vendor's state is only
 * worth passing on whole. Several tracestate fields are one list (Node joins them with ", ").
 */
export function tracestateFor(inbound: string | string[] | undefined): string | undefined {
  if (inbound === undefined) return undefined
  const members: string[] = []
  const keys = new Set<string>()
  for (const field of Array.isArray(inbound) ? inbound : [inbound]) {
    for (const raw of field.split(',')) {
      const member = raw.replace(/^[ \t]+|[ \t]+$/g, '')
      // Empty members are allowed (they appear when fields are joined) and dropped.
      if (member === '') continue
      const eq = member.indexOf('=')
      if (eq < 0) return undefined
      const key = member.slice(0, eq)
      if (!TRACESTATE_KEY.test(key) || !TRACESTATE_VALUE.test(member.slice(eq + 1)) || keys.has(key))
        return undefined
      keys.add(key)
      members.push(member)
    }
  }
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS) return undefined
  return members.join(',')
}
