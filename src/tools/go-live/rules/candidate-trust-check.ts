/**
 * `ehi-gateway check --admin URL`: the candidate trust (shadow trust) of a running gateway, read
 * from its admin server, as one informational check: is a candidate loaded, and on how many
 * connections would it have decided otherwise than the live trust, by kind and reason. Never
 * required: it reports a rehearsal, it does not judge the endpoint. Pure: the command fetches
 * /metrics and /readyz and hands their bodies here.
 */
import {
  describeCandidateCounts,
  differencesOf,
  readCandidateCounts,
} from '../../../control/rules/candidate-summary.ts'
import { GATEWAY_CHECKS, type CheckResult } from './checks.ts'

export type AdminObservation =
  | {
      ok: true
      /** The /metrics body (Prometheus text). */
      metricsText: string
      /** The candidate_trust check of /readyz, when it had one. */
      readiness: { ok: boolean; detail: string } | undefined
    }
  | { ok: false; problem: string }

const CANDIDATE_INFO = /^ehi_gateway_candidate_trust_config_info\{[^}]*hash="([0-9a-f]+)"[^}]*\}\s+1\b/m

export function candidateTrustCheck(admin: string, observation: AdminObservation): CheckResult {
  const id = 'gateway.candidate-trust'
  const title = GATEWAY_CHECKS.find((c) => c.id === id)!.title
  const result = (status: CheckResult['status'], summary: string, evidence: string[]): CheckResult => ({
    id,
    title,
    required: false,
    status,
    summary,
    evidence,
  })
  if (!observation.ok)
    return result('fail', `cannot read the admin server: ${observation.problem}`, [
      `${admin}: ${observation.problem}`,
    ])
  const hash = CANDIDATE_INFO.exec(observation.metricsText)?.[1]
  if (!hash && !observation.readiness)
    return result('skip', 'no candidate trust loaded (candidateTrust.enabled is false)', [
      `${admin}/metrics: no ehi_gateway_candidate_trust_config_info series`,
    ])
  const counts = readCandidateCounts(observation.metricsText)
  const evidence = [
    ...(hash ? [`candidate hash ${hash}`] : []),
    ...(observation.readiness ? [`/readyz candidate_trust: ${observation.readiness.detail}`] : []),
    describeCandidateCounts(counts),
    ...counts.differences.map((d) => `${d.kind} ${d.reason}: ${d.count}`),
  ]
  const refuse = differencesOf(counts, 'would_refuse')
  const allow = differencesOf(counts, 'would_allow')
  if (refuse + allow === 0 && counts.errors === 0) {
    return result(
      'pass',
      counts.connections === 0
        ? 'candidate loaded; no connection compared yet'
        : `the candidate agrees with the live trust on all ${counts.connections} connections`,
      evidence,
    )
  }
  return result(
    'warn',
    `${refuse} would_refuse, ${allow} would_allow over ${counts.connections} connections${counts.errors ? `, ${counts.errors} failed evaluations` : ''}`,
    evidence,
  )
}
