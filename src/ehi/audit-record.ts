/**
 * The EHI part of the one audit line per message: the allowlisted fields only, and Token as a
 * keyed HMAC (a persistent card identifier is pseudonymous personal data). Never a body, never a
 * sensitive field: those are not even extracted. Pure.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import { AUDIT_FIELDS, type EhiMessage, type MessageClass } from './ehi-message.ts'
import type { EhiMode } from './classify-ehi-message.ts'

export interface EhiAudit {
  class: MessageClass
  format: EhiMessage['format']
  root: EhiMessage['root']
  mode: EhiMode
  fields: Record<string, string>
  tokenHmac?: string
}

/** Longest value logged for one field: the allowlisted fields are short codes and ids. */
const MAX_VALUE = 64

export function auditRecord(
  message: EhiMessage,
  cls: MessageClass,
  mode: EhiMode,
  tokenKey: TokenHasher,
): EhiAudit {
  const fields: Record<string, string> = {}
  for (const name of AUDIT_FIELDS) {
    const value = message.fields[name]
    if (value !== undefined && value !== '')
      fields[name] = value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}...` : value
  }
  const record: EhiAudit = { class: cls, format: message.format, root: message.root, mode, fields }
  const token = message.fields.Token
  if (token) record.tokenHmac = tokenKey(token)
  return record
}

export type TokenHasher = (token: string) => string

/** HMAC-SHA-256 of the Token, base64url, truncated to 128 bits: joinable across log lines, not reversible. */
export function tokenHmac(token: string, key: Buffer | KeyObject): string {
  return createHmac('sha256', key).update(token.trim()).digest('base64url').slice(0, 22)
}

/**
 * The Token hasher of one key: the key is turned into a KeyObject once (createHmac with a raw
 * Buffer converts it on every call, about 100 µs here), and the hashes of recent Tokens are kept,
 * since a card's Token comes back with each of its messages. Bounded: cleared when full.
 */
export function tokenHasher(key: Buffer, maxCached = 4096): TokenHasher {
  const keyObject = createSecretKey(key)
  const cache = new Map<string, string>()
  return (token) => {
    let hash = cache.get(token)
    if (hash === undefined) {
      hash = tokenHmac(token, keyObject)
      if (cache.size >= maxCached) cache.clear()
      cache.set(token, hash)
    }
    return hash
  }
}
