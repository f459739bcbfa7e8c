/**
 * Readiness and the candidate trust: a candidate_trust check appears only when a candidate is
 * loaded, describes it and its differences, and never makes the gateway unready, whatever state
 * the candidate is in (expired CA, stale CRL).
 */
import { describe, expect, it } from 'vitest'
import { readinessChecks, type ReadinessInput } from '../../../src/control/rules/readiness.ts'
import {
  caEntry,
  DAY,
  days,
  makeCa,
  makeCrl,
  makeLeaf,
  materialOf,
  NOW,
  trustOf,
} from '../../support/unit-certs.ts'

const liveRoot = makeCa('Live Root CA')
const server = makeLeaf(liveRoot)
const material = materialOf(trustOf([caEntry(liveRoot)], false), server)
const newRoot = makeCa('New Root CA', undefined, days(-10, 100))
const newIssuing = makeCa('New Issuing CA', newRoot, days(-10, 50))

function checks(candidate?: ReadinessInput['candidate']) {
  return readinessChecks({
    draining: false,
    material,
    hostReachable: true,
    hostProbeDetail: undefined,
    ...(candidate ? { candidate } : {}),
    now: NOW,
  })
}

describe('readiness: candidate_trust', () => {
  it('is absent without a candidate', () => {
    expect(checks().map((c) => c.name)).not.toContain('candidate_trust')
  })

  it('describes the loaded candidate and its differences', () => {
    const check = checks({
      trust: trustOf(
        [caEntry(newRoot, [makeCrl(newRoot)]), caEntry(newIssuing, [makeCrl(newIssuing)])],
        true,
      ),
      pins: 1,
      subjectRules: 2,
      counts: {
        connections: 12,
        differences: [
          { kind: 'would_refuse', reason: 'untrusted_issuer', count: 7 },
          { kind: 'would_allow', reason: 'untrusted_issuer', count: 2 },
          { kind: 'would_refuse', reason: 'pin_mismatch', count: 1 },
        ],
        errors: 0,
      },
    }).find((c) => c.name === 'candidate_trust')
    expect(check).toEqual({
      name: 'candidate_trust',
      ok: true,
      detail: `loaded (reported only, never enforced): 2 CAs, first expiry ${new Date(NOW + 50 * DAY).toISOString()}; CRLs current for all 2 CAs; 1 pins, 2 subject rules; 12 connections compared: 8 would_refuse (untrusted_issuer 7, pin_mismatch 1), 2 would_allow (untrusted_issuer 2)`,
    })
  })

  it('never fails readiness: an expired candidate CA, a stale candidate CRL, counts not read yet', () => {
    const expired = makeCa('Expired Root CA', undefined, days(-100, -1))
    const all = checks({
      trust: trustOf(
        [caEntry(expired), caEntry(newRoot, [makeCrl(newRoot, { nextUpdate: new Date(NOW - DAY) })])],
        true,
      ),
      pins: 0,
      subjectRules: 0,
      counts: undefined,
    })
    const check = all.find((c) => c.name === 'candidate_trust')!
    expect(check.ok).toBe(true)
    expect(check.detail).toContain('(expired: O=Unit Test, CN=Expired Root CA)')
    expect(check.detail).toContain(
      'no current CRL for: O=Unit Test, CN=Expired Root CA; O=Unit Test, CN=New Root CA',
    )
    expect(check.detail).toContain('differences not read yet')
    expect(all.every((c) => c.ok)).toBe(true)
  })
})
