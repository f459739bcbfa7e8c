/**
 * Which host answers the ledger keeps for replay (ledger.replayAcknowledged). Pure.
 *
 * Only the host's own acknowledgement of an acknowledgement-type message: status 200, a
 * conforming answer with Acknowledgement 1, for a reversal, advice, financial or other message.
 * Never a decision (its answer is a real-time decision that must come from the host each time),
 * never a Cut_Off answer, never an answer the gateway made. An EHI answer carries no card data
 * (its fields are codes, balances and the acknowledgement), but a host could put anything in its
 * body: a body with a digit run that could be a card number is not kept.
 */
import type { HostAnswerBytes, LedgerRecord, StoredAnswer } from './ledger-record.ts'

/** Classes whose answer is an acknowledgement only (ehi-domain facts in docs/ledger.md). */
export const REPLAYABLE_CLASSES: ReadonlySet<string> = new Set(['reversal', 'advice', 'financial', 'other'])

/** Thredd's acknowledgement answers are a few hundred bytes; anything bigger is not one. */
export const MAX_STORED_BODY = 8192

const CONTENT_TYPE = /^(application|text)\/(xml|json|soap\+xml)(\s*;\s*charset=[A-Za-z0-9_-]{1,32})?$/i
const SOAPACTION = /^"?[A-Za-z0-9:/._#-]{1,200}"?$/

export function storableAnswer(record: LedgerRecord, answer: HostAnswerBytes): StoredAnswer | null {
  if (record.outcome !== 'host_answer' || record.synthesized !== 0) return null
  if (!REPLAYABLE_CLASSES.has(record.class)) return null
  if (record.acknowledgement !== '1' || record.conforming === 0) return null
  if (answer.status !== 200 || record.status !== 200) return null
  const body = typeof answer.body === 'string' ? Buffer.from(answer.body, 'utf8') : Buffer.from(answer.body)
  if (body.length === 0 || body.length > MAX_STORED_BODY) return null
  if (containsCardLikeNumber(body.toString('latin1'))) return null
  const contentType = header(answer.headers['content-type'])
  const soapaction = header(answer.headers.soapaction)
  if (contentType !== undefined && !CONTENT_TYPE.test(contentType)) return null
  if (soapaction !== undefined && !SOAPACTION.test(soapaction)) return null
  return {
    status: 200,
    content_type: contentType ?? null,
    soapaction: soapaction ?? null,
    body: new Uint8Array(body),
  }
}

function header(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value
  return v === undefined ? undefined : v.trim()
}

/**
 * A run of 13 to 19 digits (single spaces or dashes allowed between them, as card numbers are
 * printed) that passes the Luhn check, or any longer run: no EHI answer value is that long.
 */
export function containsCardLikeNumber(text: string): boolean {
  for (const match of text.matchAll(/\d(?:[ -]?\d){12,}/g)) {
    const digits = match[0].replace(/[ -]/g, '')
    if (digits.length > 19 || luhn(digits)) return true
  }
  return false
}

export function luhn(digits: string): boolean {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return sum % 10 === 0
}
