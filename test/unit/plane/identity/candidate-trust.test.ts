/**
 * Shadow trust: how a candidate verdict compares with the live one, the bounded once-per-
 * certificate log memory, and the candidate evaluator's own chain check (OpenSSL never saw the
 * candidate CAs, so the evaluator is called with `authorized: true` and its chain building decides).
 */
import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../../../src/config/load-config.ts'
import {
  compareVerdicts,
  createCandidateTrust,
  type TrustDifference,
} from '../../../../src/plane/identity/candidate-trust.ts'
import { createPeerEvaluator, type PeerVerdict } from '../../../../src/plane/identity/peer-evaluator.ts'
import { compilePeerPolicy } from '../../../../src/plane/identity/peer-policy.ts'
import {
  caEntry,
  DAY,
  makeCa,
  makeCrl,
  makeLeaf,
  NOW,
  serialOf,
  trustOf,
} from '../../../support/unit-certs.ts'

const allow = { allow: true, peer: {} } as PeerVerdict
const refuse = (reason: string, detail = `${reason} detail`) =>
  ({ allow: false, reason, detail }) as PeerVerdict

describe('compareVerdicts', () => {
  it.each<[string, PeerVerdict, PeerVerdict, TrustDifference | undefined]>([
    ['both admit', allow, allow, undefined],
    ['both refuse for the same reason', refuse('untrusted_issuer'), refuse('untrusted_issuer'), undefined],
    ['both refuse for different reasons', refuse('expired'), refuse('untrusted_issuer'), undefined],
    [
      'live admits, candidate refuses: the candidate reason',
      allow,
      refuse('pin_mismatch'),
      { kind: 'would_refuse', reason: 'pin_mismatch', detail: 'pin_mismatch detail' },
    ],
    [
      'live refuses, candidate admits: the live reason',
      refuse('untrusted_issuer'),
      allow,
      { kind: 'would_allow', reason: 'untrusted_issuer', detail: 'untrusted_issuer detail' },
    ],
  ])('%s', (_name, live, candidate, expected) => {
    expect(compareVerdicts(live, candidate)).toEqual(expected)
  })
})

describe('createCandidateTrust().firstSight', () => {
  const evaluate = () => allow
  it('is true once per certificate and kind', () => {
    const candidate = createCandidateTrust(evaluate)
    expect(candidate.firstSight('AA', 'would_refuse')).toBe(true)
    expect(candidate.firstSight('AA', 'would_refuse')).toBe(false)
    expect(candidate.firstSight('AA', 'would_allow')).toBe(true)
    expect(candidate.firstSight('BB', 'would_refuse')).toBe(true)
    expect(candidate.firstSight('AA', 'error')).toBe(true)
    expect(candidate.firstSight('AA', 'error')).toBe(false)
  })

  it('is fresh for each candidate (each configuration compiles its own)', () => {
    expect(createCandidateTrust(evaluate).firstSight('AA', 'would_refuse')).toBe(true)
    expect(createCandidateTrust(evaluate).firstSight('AA', 'would_refuse')).toBe(true)
  })

  it('stays bounded under a flood of distinct certificates', () => {
    const candidate = createCandidateTrust(evaluate, 3)
    for (const fp of ['1', '2', '3']) expect(candidate.firstSight(fp, 'would_allow')).toBe(true)
    expect(candidate.firstSight('3', 'would_allow')).toBe(false)
    // Full: it forgets all, so memory stays at most 3 entries and a certificate may log once more.
    expect(candidate.firstSight('4', 'would_allow')).toBe(true)
    expect(candidate.firstSight('1', 'would_allow')).toBe(true)
  })
})

describe('a candidate evaluator (authorized: true, its own chain building decides)', () => {
  const root = makeCa('Root CA')
  const issuing = makeCa('Issuing CA', root)
  const newRoot = makeCa('New Root CA')
  const fromNew = makeLeaf(newRoot)
  const fromOld = makeLeaf(issuing)
  // Copies the new root's name, signed with another key.
  const impostor = makeLeaf(makeCa('New Root CA'))
  const expiredFromNew = makeLeaf(newRoot, {
    notBefore: new Date(NOW - 10 * DAY),
    notAfter: new Date(NOW - DAY),
  })
  const revokedFromNew = makeLeaf(newRoot)
  const policy = compilePeerPolicy(validateConfig({}).config.clientAuth).policy
  const candidate = createPeerEvaluator(
    trustOf([caEntry(newRoot, [makeCrl(newRoot, { revoked: [serialOf(revokedFromNew)] })])], true),
    policy,
  )
  const evaluate = (cert: typeof fromNew) =>
    candidate({ cert: cert.cert, authorized: true, opensslCode: undefined, now: NOW })

  it.each([
    ['admits a certificate of a CA only the candidate trusts', fromNew, undefined],
    ['refuses one of a CA it does not trust as untrusted_issuer', fromOld, 'untrusted_issuer'],
    ["refuses one signed under the candidate CA's name with another key", impostor, 'untrusted_issuer'],
    ['refuses an expired one as expired', expiredFromNew, 'expired'],
    ["refuses one in the candidate's CRL as revoked", revokedFromNew, 'revoked'],
  ])('%s', (_name, cert, reason) => {
    const verdict = evaluate(cert)
    if (reason === undefined) expect(verdict.allow).toBe(true)
    else expect(verdict).toMatchObject({ allow: false, reason })
  })
})
