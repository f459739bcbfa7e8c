/**
 * The EHI part of the one audit line per message: the allowlisted fields only, and Token as a
 * keyed HMAC (a persistent card identifier is pseudonymous personal data). Never a body, never a
 * sensitive field: those are not even extracted. A field is logged only when its value has the
 * shape Thredd documents for it; otherwise it is logged as MASKED, so that nothing a sender chose
 * (a card number put in MTID, free text in a code) is written as sent. Pure.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import {
  AUDIT_FIELDS,
  asciiTrim,
  type AuditField,
  type EhiMessage,
  type MessageClass,
} from './ehi-message.ts'
import type { EhiMode } from './classify-ehi-message.ts'

export interface EhiAudit {
  class: MessageClass
  format: EhiMessage['format']
  root: EhiMessage['root']
  mode: EhiMode
  fields: Record<string, string>
  tokenHmac?: string
}

/** What an out-of-format value is logged as. */
export const MASKED = '[masked: not in the documented format]'

const DIGITS = (max: number) => new RegExp(`^[0-9]{1,${max}}$`)
const COUNTER = DIGITS(9)
/**
 * The documented shape of each logged field (Thredd's field tables and examples): digits,
 * codes, and trace ids such as VIS1-20221219-002353117950020 or BNET-20220616-MC 003852.
 */
export const FIELD_SHAPES: Readonly<Record<AuditField, RegExp>> = {
  MTID: /^[0-9]{0,4}$/,
  Txn_Type: /^[A-Za-z]$/,
  TXn_ID: DIGITS(19),
  SendingAttemptCount: DIGITS(3),
  traceid_lifecycle: /^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/,
  Traceid_Message: /^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/,
  Traceid_Original: /^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/,
  ProductID: DIGITS(9),
  InstCode: /^[A-Za-z0-9]{1,8}$/,
  SubBIN: DIGITS(11),
  EHIVersion: /^[0-9]{1,2}(\.[0-9]{1,3}){0,3}$/,
  Authorised_by_GPS: /^[YN]$/,
  Txn_Stat_Code: /^[A-Za-z0-9]{1,2}$/,
  Status_Code: /^[A-Za-z0-9]{1,3}$/,
  Resp_Code_DE39: /^[A-Za-z0-9]{1,3}$/,
  Response_Source: /^[A-Za-z0-9_-]{0,20}$/,
  Response_Source_Why: DIGITS(4),
  Message_Source: /^[A-Za-z0-9_-]{0,20}$/,
  Message_Why: DIGITS(4),
  MCC_Code: DIGITS(4),
  Txn_CCy: DIGITS(3),
  Bill_Ccy: DIGITS(3),
  Proc_Code: /^[0-9]{6}$/,
  CutoffID: DIGITS(19),
  CutoffDate: /^[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,7})?)?$/,
  FirstTxn_ID: DIGITS(19),
  LastTxn_ID: DIGITS(19),
  Auths_Acknowledged: COUNTER,
  Auths_NotAcknowledged: COUNTER,
  Financials_Acknowledged: COUNTER,
  Financials_NotAcknowledged: COUNTER,
  LoadsUnloads_Acknowledged: COUNTER,
  LoadsUnloads_NotAcknowledged: COUNTER,
  BalanceAdjustExpiry_Acknowledged: COUNTER,
  BalanceAdjustExpiry_NotAcknowledged: COUNTER,
}

export function auditRecord(
  message: EhiMessage,
  cls: MessageClass,
  mode: EhiMode,
  tokenKey: TokenHasher,
): EhiAudit {
  const fields: Record<string, string> = {}
  for (const name of AUDIT_FIELDS) {
    const sent = message.fields[name]
    if (sent === undefined) continue
    const value = asciiTrim(sent)
    if (value !== '') fields[name] = FIELD_SHAPES[name].test(value) ? value : MASKED
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
