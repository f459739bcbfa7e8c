/**
 * Chain building, validity, revocation and CRL freshness against an in-memory trust store, at a
 * fixed `now`. classifyVerifyFailure must give the same reason for the same certificate whatever
 * error OpenSSL happened to report last, so the cases here set one cause at a time.
 */
import { describe, expect, it } from 'vitest'
import {
  buildChain,
  classifyVerifyFailure,
  currentStatus,
} from '../../../../src/plane/identity/certificate-status.ts'
import { toPeerIdentity } from '../../../../src/plane/identity/peer-identity.ts'
import type { CaEntry } from '../../../../src/runtime/tls-material.ts'
import {
  caEntry,
  DAY,
  days,
  issue,
  LEAF_SUBJECT,
  makeCa,
  makeCrl,
  makeLeaf,
  NOW,
  serialOf,
  trustOf,
  type TestCert,
} from '../../../support/unit-certs.ts'

const root = makeCa('Root CA')
const issuing = makeCa('Issuing CA', root)
const otherRoot = makeCa('Other Root CA')
const good = makeLeaf(issuing)
const revokedLeaf = makeLeaf(issuing)

const stale = { thisUpdate: new Date(NOW - 10 * DAY), nextUpdate: new Date(NOW - DAY) }
const future = { thisUpdate: new Date(NOW + DAY), nextUpdate: new Date(NOW + 8 * DAY) }

/** Root and issuing CA with fresh CRLs; the issuing CRL revokes `revokedLeaf`. */
function entries(
  options: {
    issuingCrls?: Buffer[]
    rootCrls?: Buffer[]
    issuingRevoked?: boolean
    issuingCa?: TestCert
  } = {},
): { rootEntry: CaEntry; issuingEntry: CaEntry } {
  return {
    rootEntry: caEntry(root, options.rootCrls ?? [makeCrl(root)]),
    issuingEntry: caEntry(
      options.issuingCa ?? issuing,
      options.issuingCrls ?? [makeCrl(issuing, { revoked: [serialOf(revokedLeaf)] })],
      options.issuingRevoked ?? false,
    ),
  }
}

function statusOf(leaf: TestCert, options: Parameters<typeof entries>[0] = {}, crlEnabled = true, now = NOW) {
  const { rootEntry, issuingEntry } = entries(options)
  const trust = trustOf([rootEntry, issuingEntry], crlEnabled)
  const chain = buildChain(leaf.cert, trust)
  expect(chain).toBeDefined()
  return currentStatus(toPeerIdentity(leaf.cert), chain!, trust, now)
}

describe('buildChain', () => {
  const { rootEntry, issuingEntry } = entries()
  const trust = trustOf([rootEntry, issuingEntry, caEntry(otherRoot)], false)

  it('walks from the leaf issuer up to the self-signed root', () => {
    expect(buildChain(good.cert, trust)).toEqual([issuingEntry, rootEntry])
  })

  it('stops at a root that issued the leaf directly', () => {
    expect(buildChain(makeLeaf(root).cert, trust)).toEqual([rootEntry])
  })

  it.each([
    { name: 'a leaf of a CA outside the store', leaf: () => makeLeaf(makeCa('Stranger CA')) },
    // Same issuer name (and key identifier), different key: the signature must decide.
    {
      name: 'a leaf signed by an impostor key under the issuing CA name',
      leaf: () => makeLeaf(issuing, { signingKey: makeCa('x').key }),
    },
    { name: 'a self-signed leaf copying the real subject', leaf: () => issue({ subject: LEAF_SUBJECT }) },
  ])('finds no chain for $name', ({ leaf }) => {
    expect(buildChain(leaf().cert, trust)).toBeUndefined()
  })

  it('finds no chain when the intermediate root is missing (no partial chains)', () => {
    expect(buildChain(good.cert, trustOf([issuingEntry], false))).toBeUndefined()
  })

  it('finds the other root for its own leaf', () => {
    const chain = buildChain(makeLeaf(otherRoot).cert, trust)
    expect(chain?.map((ca) => ca.cert)).toEqual([otherRoot.cert])
  })
})

describe('currentStatus', () => {
  it('accepts a valid leaf with fresh CRLs for every CA', () => {
    expect(statusOf(good)).toBeUndefined()
  })

  it.each([
    { name: 'an expired leaf', leaf: () => makeLeaf(issuing, days(-60, -1)), reason: 'expired' },
    { name: 'a leaf not valid yet', leaf: () => makeLeaf(issuing, days(1, 60)), reason: 'not_yet_valid' },
  ])('refuses $name as $reason', ({ leaf, reason }) => {
    expect(statusOf(leaf())?.reason).toBe(reason)
  })

  it('accepts a leaf at the last second of its validity', () => {
    const leaf = makeLeaf(issuing, days(-10, 0))
    expect(statusOf(leaf, {}, true, NOW)).toBeUndefined()
    expect(statusOf(leaf, {}, true, NOW + 1000)?.reason).toBe('expired')
  })

  it.each([
    { name: 'an expired CA in the path', window: days(-400, -1), reason: 'expired' },
    { name: 'a CA in the path not valid yet', window: days(1, 400), reason: 'not_yet_valid' },
  ])('refuses a valid leaf under $name as $reason', ({ window, reason }) => {
    const ca = makeCa('Issuing CA', root, window)
    const leaf = makeLeaf(ca)
    const status = statusOf(leaf, { issuingCa: ca, issuingCrls: [makeCrl(ca)] })
    expect(status?.reason).toBe(reason)
    expect(status?.detail).toContain('CA ')
  })

  // On a resumed session OpenSSL does not look at the chain again, so this is the only check of
  // the root's window: every CA up to the trust anchor counts, not just the leaf's issuer.
  it.each([
    { name: 'has expired', window: days(-4000, -1), reason: 'expired' },
    { name: 'is not valid yet', window: days(1, 4000), reason: 'not_yet_valid' },
  ])('refuses a valid leaf under a valid issuing CA when only the root $name', ({ window, reason }) => {
    const oddRoot = makeCa('Root CA', undefined, window)
    const validIssuing = makeCa('Issuing CA', oddRoot)
    const leaf = makeLeaf(validIssuing)
    const trust = trustOf(
      [caEntry(oddRoot, [makeCrl(oddRoot)]), caEntry(validIssuing, [makeCrl(validIssuing)])],
      true,
    )
    const chain = buildChain(leaf.cert, trust)
    expect(chain?.map((ca) => ca.cert)).toEqual([validIssuing.cert, oddRoot.cert])
    const status = currentStatus(toPeerIdentity(leaf.cert), chain!, trust, NOW)
    expect(status?.reason).toBe(reason)
    expect(status?.detail).toContain('Root CA')
  })

  it('refuses a leaf whose serial is in its issuer CRL as revoked', () => {
    expect(statusOf(revokedLeaf)).toMatchObject({ reason: 'revoked' })
  })

  it('refuses a leaf under a CA flagged revoked by its parent', () => {
    expect(statusOf(good, { issuingRevoked: true })?.reason).toBe('revoked')
  })

  it('finds the revoked serial in any of several CRLs of the issuer', () => {
    const crls = [makeCrl(issuing), makeCrl(issuing, { revoked: [serialOf(good)] })]
    expect(statusOf(good, { issuingCrls: crls })?.reason).toBe('revoked')
  })

  it.each([
    {
      name: 'the issuing CRL is past nextUpdate',
      options: { issuingCrls: [makeCrl(issuing, stale)] },
      reason: 'crl_expired',
    },
    {
      name: 'the root CRL is past nextUpdate',
      options: { rootCrls: [makeCrl(root, stale)] },
      reason: 'crl_expired',
    },
    {
      name: 'the issuing CRL is not valid yet',
      options: { issuingCrls: [makeCrl(issuing, future)] },
      reason: 'crl_unavailable',
    },
    { name: 'the issuing CA has no CRL', options: { issuingCrls: [] }, reason: 'crl_unavailable' },
    { name: 'the root CA has no CRL', options: { rootCrls: [] }, reason: 'crl_unavailable' },
  ])('refuses a valid leaf when $name as $reason', ({ options, reason }) => {
    expect(statusOf(good, options)?.reason).toBe(reason)
  })

  it('accepts when one of several CRLs of a CA is fresh', () => {
    expect(statusOf(good, { issuingCrls: [makeCrl(issuing, stale), makeCrl(issuing)] })).toBeUndefined()
  })

  it('reports revoked rather than crl_expired when the stale CRL lists the leaf', () => {
    const crls = [makeCrl(issuing, { ...stale, revoked: [serialOf(good)] })]
    expect(statusOf(good, { issuingCrls: crls })?.reason).toBe('revoked')
  })

  it('reports expired before revoked', () => {
    const leaf = makeLeaf(issuing, days(-60, -1))
    expect(statusOf(leaf, { issuingCrls: [makeCrl(issuing, { revoked: [serialOf(leaf)] })] })?.reason).toBe(
      'expired',
    )
  })

  it.each([
    { name: 'a revoked leaf', leaf: revokedLeaf, options: {} },
    { name: 'a stale CRL', leaf: good, options: { issuingCrls: [makeCrl(issuing, stale)] } },
    { name: 'a missing CRL', leaf: good, options: { rootCrls: [] } },
    { name: 'a revoked CA', leaf: good, options: { issuingRevoked: true } },
  ])('skips CRL checks when crlEnabled is false ($name)', ({ leaf, options }) => {
    expect(statusOf(leaf, options, false)).toBeUndefined()
  })
})

describe('classifyVerifyFailure', () => {
  const { rootEntry, issuingEntry } = entries()
  const trust = trustOf([rootEntry, issuingEntry], true)
  const classify = (leaf: TestCert, opensslCode: string | undefined) =>
    classifyVerifyFailure({
      peer: toPeerIdentity(leaf.cert),
      chain: buildChain(leaf.cert, trust),
      trust,
      opensslCode,
      now: NOW,
    }).reason

  it.each([
    {
      name: 'a leaf of another root',
      leaf: () => makeLeaf(otherRoot),
      code: 'UNABLE_TO_GET_CRL',
      reason: 'untrusted_issuer',
    },
    {
      name: 'a self-signed leaf',
      leaf: () => issue({ subject: LEAF_SUBJECT }),
      code: 'UNABLE_TO_GET_CRL',
      reason: 'untrusted_issuer',
    },
    // No chain wins over everything else, even an expired leaf.
    {
      name: 'an expired leaf of another root',
      leaf: () => makeLeaf(otherRoot, days(-9, -1)),
      code: 'CERT_HAS_EXPIRED',
      reason: 'untrusted_issuer',
    },
    {
      name: 'an expired leaf',
      leaf: () => makeLeaf(issuing, days(-9, -1)),
      code: 'UNABLE_TO_GET_CRL',
      reason: 'expired',
    },
    {
      name: 'a leaf not valid yet',
      leaf: () => makeLeaf(issuing, days(1, 9)),
      code: undefined,
      reason: 'not_yet_valid',
    },
    { name: 'a revoked leaf', leaf: () => revokedLeaf, code: 'CERT_HAS_EXPIRED', reason: 'revoked' },
    {
      name: 'a serverAuth-only leaf',
      leaf: () => makeLeaf(issuing, { extKeyUsage: ['serverAuth'] }),
      code: 'INVALID_PURPOSE',
      reason: 'bad_eku',
    },
  ])('classifies $name as $reason (OpenSSL said $code)', ({ leaf, code, reason }) => {
    expect(classify(leaf(), code)).toBe(reason)
  })

  it('classifies a stale issuer CRL as crl_expired', () => {
    const stalerTrust = trustOf(Object.values(entries({ issuingCrls: [makeCrl(issuing, stale)] })), true)
    const problem = classifyVerifyFailure({
      peer: toPeerIdentity(good.cert),
      chain: buildChain(good.cert, stalerTrust),
      trust: stalerTrust,
      opensslCode: 'CRL_HAS_EXPIRED',
      now: NOW,
    })
    expect(problem.reason).toBe('crl_expired')
  })

  it.each([
    { code: 'PATH_LENGTH_EXCEEDED', reason: 'invalid_chain' },
    { code: 'INVALID_CA', reason: 'invalid_chain' },
    { code: 'CERT_SIGNATURE_FAILURE', reason: 'invalid_chain' },
    { code: 'EE_KEY_TOO_SMALL', reason: 'weak_key' },
    { code: 'CA_MD_TOO_WEAK', reason: 'weak_key' },
    { code: 'CERT_REVOKED', reason: 'revoked' },
    { code: 'UNABLE_TO_GET_CRL', reason: 'crl_unavailable' },
    { code: 'SELF_SIGNED_CERT_IN_CHAIN', reason: 'untrusted_issuer' },
    { code: 'SOMETHING_NEW', reason: 'cert_invalid' },
    { code: undefined, reason: 'cert_invalid' },
  ])('maps OpenSSL code $code to $reason when nothing else explains the failure', ({ code, reason }) => {
    expect(classify(good, code)).toBe(reason)
  })

  it('names the OpenSSL code in the detail', () => {
    const problem = classifyVerifyFailure({
      peer: toPeerIdentity(good.cert),
      chain: buildChain(good.cert, trust),
      trust,
      opensslCode: 'PATH_LENGTH_EXCEEDED',
      now: NOW,
    })
    expect(problem.detail).toBe('OpenSSL: PATH_LENGTH_EXCEEDED')
  })

  it('does not refuse a leaf without any EKU extension as bad_eku (the policy decides that)', () => {
    expect(classify(makeLeaf(issuing, { extKeyUsage: [] }), 'SOMETHING_NEW')).toBe('cert_invalid')
  })
})
