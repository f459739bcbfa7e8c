/**
 * Shadow trust: a candidate client trust (CAs, CRLs, pins, subject rules) evaluated next to the
 * live one on every connection, so a change such as Thredd's CA rotation can be rehearsed on live
 * traffic. It decides nothing: the gateway compares the two verdicts and reports where they
 * differ. Pure: the connection gate does the counting and logging.
 */
import type { Reason } from '../../reasons.ts'
import type { PeerEvaluator, PeerVerdict } from './peer-evaluator.ts'

export type DifferenceKind = 'would_refuse' | 'would_allow'

/**
 * Where the candidate disagrees with the live trust, labelled with the reason of the side that
 * refuses: `would_refuse` (admitted now, the candidate refuses) with the candidate's reason,
 * `would_allow` (refused now, the candidate admits) with the live reason.
 */
export interface TrustDifference {
  kind: DifferenceKind
  reason: Reason
  detail: string
}

/**
 * Compares the live verdict with the candidate's. Two refusals for different reasons are not a
 * difference: the connection's fate is the same either way.
 */
export function compareVerdicts(live: PeerVerdict, candidate: PeerVerdict): TrustDifference | undefined {
  if (live.allow && !candidate.allow)
    return { kind: 'would_refuse', reason: candidate.reason, detail: candidate.detail }
  if (!live.allow && candidate.allow) return { kind: 'would_allow', reason: live.reason, detail: live.detail }
  return undefined
}

export interface CandidateTrust {
  /**
   * The candidate's evaluator (createPeerEvaluator over the candidate trust and policy), cached
   * per certificate like the live one. Call it with `authorized: true`: OpenSSL verified the chain
   * against the live CAs only, so the evaluator's own chain building against the candidate CAs
   * (signatures, validity, CRLs) decides.
   */
  evaluatePeer: PeerEvaluator
  /**
   * True the first time a certificate (by SHA-256 fingerprint) shows a kind of difference (or a
   * failed evaluation) under this candidate, so the log gets one line per certificate and kind,
   * not one per connection.
   * Bounded: past `maxRemembered` it forgets all and a certificate may be logged once more.
   */
  firstSight(fingerprint: string, kind: DifferenceKind | 'error'): boolean
}

export function createCandidateTrust(evaluatePeer: PeerEvaluator, maxRemembered = 1024): CandidateTrust {
  const seen = new Set<string>()
  return {
    evaluatePeer,
    firstSight(fingerprint, kind) {
      const key = `${kind} ${fingerprint}`
      if (seen.has(key)) return false
      if (seen.size >= maxRemembered) seen.clear()
      seen.add(key)
      return true
    },
  }
}
