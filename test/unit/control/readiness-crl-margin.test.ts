/**
 * Readiness and the CRLs: not ready when a CA has no current CRL, and (with
 * tls.crl.readinessMarginSeconds) already when its current CRL reaches nextUpdate within the
 * margin, so a load balancer or an operator acts before Thredd is refused with crl_expired.
 */
import { describe, expect, it } from 'vitest'
import { readinessChecks } from '../../../src/control/rules/readiness.ts'
import { caEntry, DAY, makeCa, makeCrl, materialOf, NOW, trustOf } from '../../support/unit-certs.ts'

const HOUR = 3_600_000
const root = makeCa('Ready Root CA')
const issuing = makeCa('Ready Issuing CA', root)
const rootCrl = makeCrl(root, { thisUpdate: new Date(NOW - DAY), nextUpdate: new Date(NOW + 30 * DAY) })
const issuingCrl = (nextUpdateIn: number | undefined, thisUpdateIn = -DAY) =>
  makeCrl(issuing, {
    thisUpdate: new Date(NOW + thisUpdateIn),
    nextUpdate: nextUpdateIn === undefined ? new Date(Date.UTC(2099, 0, 1)) : new Date(NOW + nextUpdateIn),
  })

function crlCheck(issuingCrls: Buffer[], marginSeconds?: number) {
  const material = materialOf(trustOf([caEntry(root, [rootCrl]), caEntry(issuing, issuingCrls)], true))
  const checks = readinessChecks({
    draining: false,
    material,
    hostReachable: true,
    hostProbeDetail: undefined,
    ...(marginSeconds === undefined ? {} : { crlMarginMs: marginSeconds * 1000 }),
    now: NOW,
  })
  return checks.find((c) => c.name === 'crls')!
}

describe('the crls readiness check', () => {
  it.each([
    { name: 'no margin, 1 minute left', crls: [issuingCrl(60_000)], margin: undefined, ok: true },
    { name: 'margin 0, 1 minute left', crls: [issuingCrl(60_000)], margin: 0, ok: true },
    { name: 'margin 1 h, 2 h left', crls: [issuingCrl(2 * HOUR)], margin: 3600, ok: true },
    { name: 'margin 1 h, 59 minutes left', crls: [issuingCrl(59 * 60_000)], margin: 3600, ok: false },
    { name: 'margin 1 h, expired', crls: [issuingCrl(-HOUR)], margin: 3600, ok: false },
    { name: 'no margin, expired', crls: [issuingCrl(-HOUR)], margin: undefined, ok: false },
    // The latest current CRL counts: a fresh one next to an expiring one covers the CA.
    {
      name: 'margin 1 h, one expiring and one fresh',
      crls: [issuingCrl(60_000), issuingCrl(7 * DAY)],
      margin: 3600,
      ok: true,
    },
    // A CRL not valid yet does not cover the CA now.
    { name: 'margin 1 h, only a future CRL', crls: [issuingCrl(7 * DAY, HOUR)], margin: 3600, ok: false },
  ])('$name: ok $ok', ({ crls, margin, ok }) => {
    expect(crlCheck(crls, margin).ok).toBe(ok)
  })

  it('names the CA and the time when a CRL expires within the margin', () => {
    const check = crlCheck([issuingCrl(30 * 60_000)], 3600)
    expect(check.detail).toBe(
      `the CRL of O=Unit Test, CN=Ready Issuing CA expires at ${new Date(NOW + 30 * 60_000).toISOString()}, within the readiness margin of 3600 s`,
    )
  })

  it('still names the CA without a current CRL', () => {
    expect(crlCheck([issuingCrl(-HOUR)], 3600).detail).toBe(
      'no current CRL for: O=Unit Test, CN=Ready Issuing CA (its clients are refused)',
    )
  })
})
