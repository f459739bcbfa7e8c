/**
 * What Thredd does after each exchange, as its EHI guide describes it (docs/ehi-handling.md):
 * the simulator's decisions, kept pure so they are table-tested. Pure.
 *
 * - An acknowledgement-type message without a usable Acknowledgement 1 (no answer in the budget,
 *   an error, a non-2xx or non-conforming answer, Acknowledgement 0) is resent with the same
 *   TXn_ID and SendingAttemptCount + 1, every 2 minutes, 5 times by default.
 * - A decision without a usable decision gets the mode's default: mode 1 declines, mode 2 keeps
 *   Thredd's own decision (Stand-In), mode 4 decides on its stand-in balance; Thredd then sends
 *   the follow-up advice with Authorised_by_GPS Y (SendingAttemptCount 1 in modes 1 and 2, 0 in
 *   mode 4), itself resent until acknowledged.
 * - A Cut_Off is never resent.
 */
import type { AnswerCheck } from '../../../plane/ehi/check-host-answer.ts'
import type { EhiMode } from '../../../plane/ehi/classify-ehi-message.ts'
import type { MessageClass } from '../../../plane/ehi/ehi-message.ts'

/** Thredd's defaults: "Repeat after" 2 minutes, "Times" 5. */
export const THREDD_RESEND_EVERY_MS = 120_000
export const THREDD_RESEND_TIMES = 5

export interface ExchangeOutcome {
  /** Thredd gave up at its budget (an answer after it is never read). */
  timedOut: boolean
  /** No HTTP answer at all (connection refused or reset, TLS failure). */
  error: boolean
  status?: number | undefined
  check?: AnswerCheck | undefined
}

export type NextStep =
  | { kind: 'done'; acknowledged: boolean }
  | { kind: 'resend'; sendingAttemptCount: number }
  | { kind: 'follow_up'; fields: Record<string, string> }

/** A usable answer: in time, 2xx, conforming, and Acknowledgement (Cut_OffResult) 1. */
export function acknowledged(cls: MessageClass, outcome: ExchangeOutcome): boolean {
  const { check, status } = outcome
  if (outcome.timedOut || outcome.error || !check || status === undefined) return false
  if (status < 200 || status > 299 || !check.conforming) return false
  return (cls === 'cutoff' ? check.cutOffResult : check.acknowledgement) === '1'
}

/**
 * The authorisation as Thredd first sends it in each mode: in modes 2 and 3 Thredd has decided
 * before it asks or tells the host (Authorised_by_GPS Y); in modes 1 and 4 the host decides.
 */
export function firstAttemptFields(mode: EhiMode): Record<string, string> {
  return mode === 2 || mode === 3 ? { Authorised_by_GPS: 'Y' } : { Authorised_by_GPS: 'N' }
}

/** The follow-up advice after a decision the host missed (same TXn_ID and MTID). */
export function followUpFields(mode: EhiMode): Record<string, string> {
  // Mode 1 declines; mode 2 (with Stand-In) keeps Thredd's approval; mode 4 approves on STIP.
  const approved = mode !== 1
  return {
    Authorised_by_GPS: 'Y',
    SendingAttemptCount: mode === 4 ? '0' : '1',
    Txn_Stat_Code: approved ? 'A' : 'I',
    Resp_Code_DE39: approved ? '00' : '05',
  }
}

export function nextStep(
  cls: MessageClass,
  mode: EhiMode,
  outcome: ExchangeOutcome,
  sendingAttemptCount: number,
  resendsLeft: number,
): NextStep {
  const ok = acknowledged(cls, outcome)
  if (cls === 'cutoff') return { kind: 'done', acknowledged: ok }
  if (cls === 'decision') {
    // A decision needs a Responsestatus too; without one Thredd applies the mode's default.
    if (ok && outcome.check?.responseStatus !== undefined) return { kind: 'done', acknowledged: true }
    return { kind: 'follow_up', fields: followUpFields(mode) }
  }
  if (ok) return { kind: 'done', acknowledged: true }
  if (resendsLeft > 0) return { kind: 'resend', sendingAttemptCount: sendingAttemptCount + 1 }
  return { kind: 'done', acknowledged: false }
}

/** W3C trace context, as Thredd sends it: version 00, a trace id, a parent id, flags 00. */
export function traceparent(randomHex: (bytes: number) => string): string {
  return `00-${randomHex(16)}-${randomHex(8)}-00`
}
