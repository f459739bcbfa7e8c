/**
 * The message class decides the deadline and what the gateway may answer when the host gives
 * no answer. From MTID and Txn_Type (trimmed of ASCII whitespace), the programme's EHI mode, and
 * for an authorisation also SendingAttemptCount, Authorised_by_GPS and the processing code
 * (docs/ehi-handling.md). Pure.
 *
 * Only `0100/A`, `0101/A` and `0200/M` can need a real-time decision, and only in modes 1, 2 and
 * 4. Thredd sends the same MTID again after it decided itself (the host timed out, STIP, its own
 * checks declined): that follow-up carries `Authorised_by_GPS=Y` and needs only an
 * acknowledgement, as does a token activation request (processing code 33xxxx). So an
 * authorisation is a decision only when it is a first attempt (SendingAttemptCount 0) that
 * Thredd has not decided itself (Authorised_by_GPS N), except in mode 2, where Thredd decides
 * first and asks the host to confirm or override: there every first attempt is a decision.
 */
import { asciiTrim, type EhiMessage, type MessageClass } from './ehi-message.ts'

export type EhiMode = 1 | 2 | 3 | 4

/** Txn_Type values of clearing records (presentments, chargebacks, financial reversals). */
export const CLEARING_TYPES: ReadonlySet<string> = new Set(['P', 'N', 'E', 'C', 'H', 'K'])
/** Visa Base II transaction codes carried in MTID for clearing records. */
export const VISA_CLEARING_MTIDS: ReadonlySet<string> = new Set(['05', '06', '07', '25', '26', '27'])
/** MTID/Txn_Type pairs that can ask the host for a decision. */
export const AUTHORISATION_TYPES: ReadonlySet<string> = new Set(['0100/A', '0101/A', '0200/M'])

/** What kind of authorisation-type message this is, for its class and the metrics. */
export type AuthorisationRole =
  /** The host decides (approve or decline) now. */
  | 'decision'
  /** Thredd decided itself and tells the host (Authorised_by_GPS=Y): acknowledgement only. */
  | 'thredd_decided'
  /** A resend (SendingAttemptCount other than 0): acknowledgement only. */
  | 'resend'
  /** A token activation request (processing code 33xxxx): acknowledgement only. */
  | 'token_activation'
  /** Mode 3: Thredd decides everything, the host only acknowledges. */
  | 'mode3'

/** The role of a 0100/A, 0101/A or 0200/M; undefined for any other message. */
export function authorisationRole(message: EhiMessage, mode: EhiMode): AuthorisationRole | undefined {
  if (message.root !== 'GetTransaction') return undefined
  const { fields } = message
  const pair = `${asciiTrim(fields.MTID ?? '')}/${asciiTrim(fields.Txn_Type ?? '')}`
  if (!AUTHORISATION_TYPES.has(pair)) return undefined
  if (mode === 3) return 'mode3'
  if (asciiTrim(fields.Proc_Code ?? '').startsWith('33')) return 'token_activation'
  const byThredd = asciiTrim(fields.Authorised_by_GPS ?? '')
  // Mode 2 asks the host about Thredd's own decision (Authorised_by_GPS Y) on the first attempt;
  // its follow-up after a timeout comes with SendingAttemptCount 1 or more.
  if (mode !== 2 && byThredd === 'Y') return 'thredd_decided'
  // A first attempt says so: SendingAttemptCount 0, present. Anything else, missing included,
  // is not proof of one, and only a first attempt may ever get a decline the gateway makes.
  if (!/^0+$/.test(asciiTrim(fields.SendingAttemptCount ?? ''))) return 'resend'
  // Modes 1 and 4: Thredd has not decided only when it says N.
  if (mode !== 2 && byThredd !== 'N') return 'thredd_decided'
  return 'decision'
}

export function classifyEhiMessage(message: EhiMessage, mode: EhiMode): MessageClass {
  if (message.root === 'Cut_Off') return 'cutoff'
  const role = authorisationRole(message, mode)
  if (role !== undefined) return role === 'decision' ? 'decision' : 'advice'
  const mtid = asciiTrim(message.fields.MTID ?? '')
  const type = asciiTrim(message.fields.Txn_Type ?? '')
  if ((mtid === '0400' || mtid === '0420') && (type === 'D' || type === 'V')) return 'reversal'
  // Automated fuel dispenser completion: a reversal of the pre-authorised amount.
  if (mtid === '0120' && type === 'D') return 'reversal'
  if ((mtid === '0120' && type === 'J') || (mtid === '0220' && type === 'Q')) return 'advice'
  if (mtid === '1240' || VISA_CLEARING_MTIDS.has(mtid) || CLEARING_TYPES.has(type)) return 'financial'
  // Loads, unloads, payments, balance adjustments, expiry and fees (no MTID), and anything new.
  return 'other'
}

/**
 * A message in which Thredd reports a decision it took itself for a product whose host decides
 * (modes 1, 2 and 4): the "host missed the decision" figure. Token activations (Thredd always
 * decides those) and mode 2's first attempt (Thredd decides first by design) are not counted.
 */
export function threddDecided(message: EhiMessage, mode: EhiMode): boolean {
  if (message.root !== 'GetTransaction' || mode === 3) return false
  if (asciiTrim(message.fields.Authorised_by_GPS ?? '') !== 'Y') return false
  const role = authorisationRole(message, mode)
  return role !== 'token_activation' && role !== 'decision'
}

/**
 * Which resend this is (SendingAttemptCount above 0), or undefined for a first attempt or a
 * count that is not a number.
 */
export function resendAttempt(message: EhiMessage): number | undefined {
  const count = asciiTrim(message.fields.SendingAttemptCount ?? '')
  if (!/^[0-9]{1,9}$/.test(count)) return undefined
  const attempt = Number(count)
  return attempt > 0 ? attempt : undefined
}

/** The programme's EHI mode, by ProductID, with a default. */
export function modeFor(
  message: EhiMessage,
  modes: { defaultMode: EhiMode; productModes: Readonly<Record<string, number>> },
): EhiMode {
  const raw = message.fields.ProductID
  const product = raw === undefined ? undefined : asciiTrim(raw)
  // Own keys only: a ProductID such as "constructor" must not read Object.prototype.
  const mode =
    product !== undefined && Object.hasOwn(modes.productModes, product)
      ? modes.productModes[product]
      : undefined
  return mode === 1 || mode === 2 || mode === 3 || mode === 4 ? mode : modes.defaultMode
}
