/**
 * `check --admin`: the candidate-trust counters read back from a gateway's metrics text, and the
 * informational check made from them. Never required, whatever it finds.
 */
import { describe, expect, it } from 'vitest'
import {
  candidateTrustCheck,
  type AdminObservation,
} from '../../../../src/tools/go-live/rules/candidate-trust-check.ts'
import {
  describeCandidateCounts,
  readCandidateCounts,
  type CandidateCounts,
} from '../../../../src/control/rules/candidate-summary.ts'

const HELP = [
  '# HELP ehi_gateway_candidate_trust_connections_total Client certificates ...',
  '# TYPE ehi_gateway_candidate_trust_connections_total counter',
].join('\n')
const LOADED = 'ehi_gateway_candidate_trust_config_info{hash="ab12"} 1'

function metrics(...lines: string[]): string {
  return [HELP, ...lines, 'ehi_gateway_requests_total{class="decision",outcome="host_answer"} 9', ''].join(
    '\n',
  )
}

describe('readCandidateCounts', () => {
  it.each<[string, string, CandidateCounts]>([
    ['no candidate series at all', metrics(), { connections: 0, differences: [], errors: 0 }],
    [
      'counters at 0 (a candidate loaded, no traffic)',
      metrics(
        'ehi_gateway_candidate_trust_connections_total 0',
        'ehi_gateway_candidate_trust_errors_total 0',
      ),
      { connections: 0, differences: [], errors: 0 },
    ],
    [
      'differences by kind and reason, most frequent first',
      metrics(
        'ehi_gateway_candidate_trust_connections_total 40',
        'ehi_gateway_candidate_trust_differences_total{kind="would_allow",reason="untrusted_issuer"} 3',
        'ehi_gateway_candidate_trust_differences_total{kind="would_refuse",reason="untrusted_issuer"} 25',
        'ehi_gateway_candidate_trust_differences_total{kind="would_refuse",reason="pin_mismatch"} 0',
        'ehi_gateway_candidate_trust_errors_total 2',
      ),
      {
        connections: 40,
        differences: [
          { kind: 'would_refuse', reason: 'untrusted_issuer', count: 25 },
          { kind: 'would_allow', reason: 'untrusted_issuer', count: 3 },
        ],
        errors: 2,
      },
    ],
    [
      'labels in another order, and an unknown kind ignored',
      metrics(
        'ehi_gateway_candidate_trust_differences_total{reason="revoked",kind="would_refuse"} 4',
        'ehi_gateway_candidate_trust_differences_total{kind="maybe",reason="revoked"} 4',
      ),
      { connections: 0, differences: [{ kind: 'would_refuse', reason: 'revoked', count: 4 }], errors: 0 },
    ],
  ])('%s', (_name, text, expected) => {
    expect(readCandidateCounts(text)).toEqual(expected)
  })

  it('describes the counts in one line', () => {
    const text = metrics(
      'ehi_gateway_candidate_trust_connections_total 40',
      'ehi_gateway_candidate_trust_differences_total{kind="would_refuse",reason="untrusted_issuer"} 25',
      'ehi_gateway_candidate_trust_differences_total{kind="would_refuse",reason="revoked"} 1',
      'ehi_gateway_candidate_trust_errors_total 2',
    )
    expect(describeCandidateCounts(readCandidateCounts(text))).toBe(
      '40 connections compared: 26 would_refuse (untrusted_issuer 25, revoked 1), 0 would_allow, 2 failed evaluations',
    )
  })
})

describe('candidateTrustCheck', () => {
  const admin = 'http://127.0.0.1:8442'
  const readiness = { ok: true, detail: 'loaded (reported only, never enforced): 1 CAs' }
  it.each<[string, AdminObservation, string, RegExp]>([
    [
      'an unreachable admin server fails (optional)',
      { ok: false, problem: 'ECONNREFUSED' },
      'fail',
      /ECONNREFUSED/,
    ],
    [
      'no candidate loaded is skipped',
      {
        ok: true,
        metricsText: metrics('ehi_gateway_candidate_trust_connections_total 0'),
        readiness: undefined,
      },
      'skip',
      /^no candidate trust loaded/,
    ],
    [
      'a candidate without traffic passes',
      { ok: true, metricsText: metrics(LOADED), readiness },
      'pass',
      /^candidate loaded; no connection compared yet$/,
    ],
    [
      'a candidate that agrees passes',
      {
        ok: true,
        metricsText: metrics(LOADED, 'ehi_gateway_candidate_trust_connections_total 12'),
        readiness,
      },
      'pass',
      /^the candidate agrees with the live trust on all 12 connections$/,
    ],
    [
      'differences warn',
      {
        ok: true,
        metricsText: metrics(
          LOADED,
          'ehi_gateway_candidate_trust_connections_total 12',
          'ehi_gateway_candidate_trust_differences_total{kind="would_refuse",reason="untrusted_issuer"} 12',
        ),
        readiness,
      },
      'warn',
      /^12 would_refuse, 0 would_allow over 12 connections$/,
    ],
    [
      'failed evaluations warn',
      {
        ok: true,
        metricsText: metrics(
          LOADED,
          'ehi_gateway_candidate_trust_connections_total 3',
          'ehi_gateway_candidate_trust_errors_total 3',
        ),
        readiness,
      },
      'warn',
      /, 3 failed evaluations$/,
    ],
  ])('%s', (_name, observation, status, summary) => {
    const check = candidateTrustCheck(admin, observation)
    expect(check).toMatchObject({ id: 'gateway.candidate-trust', required: false, status })
    expect(check.summary).toMatch(summary)
  })

  it('gives the hash, the readiness detail and one line per difference as evidence', () => {
    const check = candidateTrustCheck(admin, {
      ok: true,
      metricsText: metrics(
        LOADED,
        'ehi_gateway_candidate_trust_connections_total 5',
        'ehi_gateway_candidate_trust_differences_total{kind="would_allow",reason="untrusted_issuer"} 5',
      ),
      readiness,
    })
    expect(check.evidence).toEqual([
      'candidate hash ab12',
      `/readyz candidate_trust: ${readiness.detail}`,
      '5 connections compared: 0 would_refuse, 5 would_allow (untrusted_issuer 5)',
      'would_allow untrusted_issuer: 5',
    ])
  })
})
