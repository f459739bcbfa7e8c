/**
 * OCSP decisions, pure and table-tested: what the cache's state for one certificate says now
 * (the verdict), what the configured policy makes of a verdict (the decision), and when the
 * cache fetches again (refresh ahead of nextUpdate, jittered backoff after failures).
 */
import type { OcspAnswer, OcspError } from './ocsp-message.ts'

/** What is known about a certificate's OCSP status now. */
export type OcspVerdict =
  | { state: 'good' }
  | { state: 'revoked'; detail: string }
  /** No usable good-or-revoked answer: the responder failed, said unknown, or the answer expired. */
  | { state: 'unavailable'; detail: string }
  /** First sight: the first query is on its way and nothing has failed yet. */
  | { state: 'pending' }

export type OcspPolicy = 'hard' | 'soft'

export type OcspDecision =
  { allow: true; warn?: string } | { allow: false; reason: 'revoked' | 'ocsp_unavailable'; detail: string }

/**
 * `revoked` always refuses, with the same reason code as a CRL. Without a good answer, `hard`
 * refuses (`ocsp_unavailable`) and `soft` admits with a warning the caller logs.
 */
export function ocspDecision(verdict: OcspVerdict, policy: OcspPolicy): OcspDecision {
  switch (verdict.state) {
    case 'good':
      return { allow: true }
    case 'revoked':
      return { allow: false, reason: 'revoked', detail: `OCSP: ${verdict.detail}` }
    case 'unavailable':
    case 'pending': {
      const detail = verdict.state === 'pending' ? 'no OCSP answer yet' : `OCSP: ${verdict.detail}`
      return policy === 'hard'
        ? { allow: false, reason: 'ocsp_unavailable', detail }
        : { allow: true, warn: `${detail} (admitted: tls.ocsp.policy is soft)` }
    }
  }
}

/** The cache's knowledge of one certificate. */
export interface OcspEntryState {
  /** The newest verified answer, if any. */
  answer: OcspAnswer | undefined
  /** The last failure since that answer was stored (cleared by the next good fetch). */
  lastError: { error: OcspError; detail: string } | undefined
  /** A query is on its way. */
  inFlight: boolean
}

const CERTIFICATE_HOLD = 6

/**
 * Revocation is final (RFC 5280 §5.3.1), except certificateHold: such an answer keeps refusing
 * after its nextUpdate, and the certificate is not queried again.
 */
export function isFinal(answer: OcspAnswer): boolean {
  return answer.status === 'revoked' && answer.revocationReason !== CERTIFICATE_HOLD
}

export function ocspVerdict(state: OcspEntryState, now: number, clockSkewMs: number): OcspVerdict {
  const { answer, lastError } = state
  if (answer && isFinal(answer)) return { state: 'revoked', detail: revokedDetail(answer) }
  if (answer && answer.thisUpdate <= now + clockSkewMs && now <= answer.expiresAt) {
    if (answer.status === 'good') return { state: 'good' }
    if (answer.status === 'revoked') return { state: 'revoked', detail: revokedDetail(answer) }
    return { state: 'unavailable', detail: 'the responder does not know this certificate (status unknown)' }
  }
  const expired = answer ? `; the last answer expired at ${iso(answer.expiresAt)}` : ''
  if (lastError) return { state: 'unavailable', detail: `${lastError.error}: ${lastError.detail}${expired}` }
  if (answer && !state.inFlight) return { state: 'unavailable', detail: `no current answer${expired}` }
  return { state: 'pending' }
}

/**
 * When to query again after storing `answer`: `marginMs` before it expires, but never earlier
 * than halfway through its validity, so a short-lived answer is not re-fetched in a loop.
 */
export function refreshAt(answer: OcspAnswer, marginMs: number): number {
  const lifetime = Math.max(0, answer.expiresAt - answer.thisUpdate)
  return answer.expiresAt - Math.min(marginMs, lifetime / 2)
}

/**
 * Delay before the next try after `failures` consecutive failures: exponential from
 * `initialMs`, capped at `maxMs`, with jitter over the upper half so workers spread out.
 * `random` is in [0, 1).
 */
export function retryDelay(failures: number, initialMs: number, maxMs: number, random: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)))
  return Math.round(base / 2 + (random * base) / 2)
}

function revokedDetail(answer: OcspAnswer): string {
  const when = answer.revocationTime === undefined ? '' : ` at ${iso(answer.revocationTime)}`
  const why = answer.revocationReason === undefined ? '' : ` (CRLReason ${answer.revocationReason})`
  return `the responder says the certificate was revoked${when}${why}`
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
