/**
 * The EHI part of the one audit line per message: the allowlisted fields only, and Token as a
 * keyed HMAC (a persistent card identifier is pseudonymous personal data). Never a body, never a
 * sensitive field: those are not even extracted. Pure.
 */
import { createHmac } from 'node:crypto'
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
  tokenKey: Buffer,
): EhiAudit {
  const fields: Record<string, string> = {}
  for (const name of AUDIT_FIELDS) {
    const value = message.fields[name]
    if (value !== undefined && value !== '')
      fields[name] = value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}...` : value
  }
  const record: EhiAudit = { class: cls, format: message.format, root: message.root, mode, fields }
  const token = message.fields.Token
  if (token) record.tokenHmac = tokenHmac(token, tokenKey)
  return record
}

/** HMAC-SHA-256 of the Token, base64url, truncated to 128 bits: joinable across log lines, not reversible. */
export function tokenHmac(token: string, key: Buffer): string {
  return createHmac('sha256', key).update(token.trim()).digest('base64url').slice(0, 22)
}
