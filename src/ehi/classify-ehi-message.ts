/**
 * The message class decides the deadline and what the gateway may answer when the host gives
 * no answer. From MTID (trimmed) and Txn_Type, and the programme's EHI mode (ehi-domain.md §2,
 * §4): only `0100/A`, `0101/A` and `0200/M` need a real-time decision, and only in modes 1, 2
 * and 4; everything else needs an acknowledgement. Pure.
 */
import type { EhiMessage, MessageClass } from './ehi-message.ts'

export type EhiMode = 1 | 2 | 3 | 4

/** Txn_Type values of clearing records (presentments, chargebacks, financial reversals). */
const CLEARING_TYPES = new Set(['P', 'N', 'E', 'C', 'H', 'K'])
/** Visa Base II transaction codes carried in MTID for clearing records. */
const VISA_CLEARING_MTIDS = new Set(['05', '06', '07', '25', '26', '27'])

export function classifyEhiMessage(message: EhiMessage, mode: EhiMode): MessageClass {
  if (message.root === 'Cut_Off') return 'cutoff'
  const mtid = message.fields.MTID ?? ''
  const type = message.fields.Txn_Type ?? ''

  if ((mtid === '0100' || mtid === '0101') && type === 'A') return mode === 3 ? 'advice' : 'decision'
  if (mtid === '0200' && type === 'M') return mode === 3 ? 'advice' : 'decision'
  if ((mtid === '0400' || mtid === '0420') && (type === 'D' || type === 'V')) return 'reversal'
  // Automated fuel dispenser completion: a reversal of the pre-authorised amount.
  if (mtid === '0120' && type === 'D') return 'reversal'
  if ((mtid === '0120' && type === 'J') || (mtid === '0220' && type === 'Q')) return 'advice'
  if (mtid === '1240' || VISA_CLEARING_MTIDS.has(mtid) || CLEARING_TYPES.has(type)) return 'financial'
  // Loads, unloads, payments, balance adjustments, expiry and fees (no MTID), and anything new.
  return 'other'
}

/** The programme's EHI mode, by ProductID, with a default. */
export function modeFor(
  message: EhiMessage,
  modes: { defaultMode: EhiMode; productModes: Readonly<Record<string, number>> },
): EhiMode {
  const product = message.fields.ProductID?.trim()
  // Own keys only: a ProductID such as "constructor" must not read Object.prototype.
  const mode =
    product !== undefined && Object.hasOwn(modes.productModes, product)
      ? modes.productModes[product]
      : undefined
  return mode === 1 || mode === 2 || mode === 3 || mode === 4 ? mode : modes.defaultMode
}
