/**
 * The per-connection verdict. OpenSSL's `authorized` is necessary, not sufficient: a resumed TLS
 * session replays the verdict stored at the first handshake, so revocation, CRL freshness and
 * validity are re-checked against the current trust on every call, cached certificate or not.
 */
import { X509Certificate } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { createPeerEvaluator } from '../../../../src/plane/identity/peer-evaluator.ts'
import { compilePeerPolicy, type PeerPolicy } from '../../../../src/plane/identity/peer-policy.ts'
import { validateConfig } from '../../../../src/config/load-config.ts'
import {
  caEntry,
  DAY,
  days,
  makeCa,
  makeCrl,
  makeLeaf,
  NOW,
  serialOf,
  trustOf,
} from '../../../support/unit-certs.ts'

const root = makeCa('Root CA')
const issuing = makeCa('Issuing CA', root)
const otherRoot = makeCa('Other Root CA')
const good = makeLeaf(issuing)
const revoked = makeLeaf(issuing)

const trust = trustOf(
  [caEntry(root, [makeCrl(root)]), caEntry(issuing, [makeCrl(issuing, { revoked: [serialOf(revoked)] })])],
  true,
)
const defaults = validateConfig({}).config.clientAuth
const defaultPolicy = compilePeerPolicy(defaults).policy

function evaluator(policy: PeerPolicy = defaultPolicy, maxCached?: number) {
  return createPeerEvaluator(trust, policy, maxCached)
}

describe('createPeerEvaluator', () => {
  it('refuses a connection without a certificate as no_client_cert', () => {
    expect(
      evaluator()({ cert: undefined, authorized: false, opensslCode: undefined, now: NOW }),
    ).toMatchObject({
      allow: false,
      reason: 'no_client_cert',
    })
  })

  it('admits an authorized, valid, unrevoked certificate with identity headers', () => {
    const verdict = evaluator()({ cert: good.cert, authorized: true, opensslCode: undefined, now: NOW })
    expect(verdict.allow).toBe(true)
    if (!verdict.allow) return
    expect(verdict.peer.identity.serial).toBe(good.cert.serialNumber)
    expect(verdict.peer.headers).toMatchObject({
      'x-ehi-client-verified': 'SUCCESS',
      'x-ehi-client-serial': good.cert.serialNumber,
      'x-ehi-client-spki-sha256': verdict.peer.identity.spkiSha256,
    })
    expect(verdict.peer.headers['x-forwarded-client-cert']).toContain(
      `Hash=${verdict.peer.identity.certSha256}`,
    )
  })

  // The resumed-session defence: OpenSSL says authorized, the current CRL says revoked.
  it('refuses an authorized certificate whose serial is in the current CRL as revoked', () => {
    const verdict = evaluator()({ cert: revoked.cert, authorized: true, opensslCode: undefined, now: NOW })
    expect(verdict).toMatchObject({ allow: false, reason: 'revoked' })
  })

  it.each([
    { name: 'its issuer CRL has passed nextUpdate', now: NOW + 8 * DAY, reason: 'crl_expired' },
    { name: 'it has expired since', now: NOW + 400 * DAY, reason: 'expired' },
  ])('refuses an authorized certificate when $name', ({ now, reason }) => {
    expect(evaluator()({ cert: good.cert, authorized: true, opensslCode: undefined, now })).toMatchObject({
      allow: false,
      reason,
    })
  })

  it('refuses an authorized certificate that does not chain to the current trust as untrusted_issuer', () => {
    const stranger = makeLeaf(otherRoot)
    expect(
      evaluator()({ cert: stranger.cert, authorized: true, opensslCode: undefined, now: NOW }),
    ).toMatchObject({
      allow: false,
      reason: 'untrusted_issuer',
    })
  })

  it('classifies an unauthorized certificate, keeping its identity for the log', () => {
    const verdict = evaluator()({
      cert: good.cert,
      authorized: false,
      opensslCode: 'PATH_LENGTH_EXCEEDED',
      now: NOW,
    })
    expect(verdict).toMatchObject({ allow: false, reason: 'invalid_chain' })
    expect(!verdict.allow && verdict.identity?.serial).toBe(good.cert.serialNumber)
  })

  it.each([
    {
      name: 'pin_mismatch',
      policy: compilePeerPolicy({
        ...defaults,
        pins: { spkiSha256: [Buffer.alloc(32).toString('base64')], certSha256: [] },
      }).policy,
    },
    {
      name: 'subject_not_allowed',
      policy: compilePeerPolicy({
        ...defaults,
        allowedSubjects: { ...defaults.allowedSubjects, cn: ['someone-else'] },
      }).policy,
    },
    {
      name: 'bad_eku',
      policy: defaultPolicy,
      cert: makeLeaf(issuing, { extKeyUsage: ['serverAuth'] }).cert,
    },
  ])('passes the policy refusal $name through', ({ name, policy, cert }) => {
    const verdict = evaluator(policy)({
      cert: cert ?? good.cert,
      authorized: true,
      opensslCode: undefined,
      now: NOW,
    })
    expect(verdict).toMatchObject({ allow: false, reason: name })
  })

  it('returns the same peer object for the same certificate and runs the policy once', () => {
    const policy = vi.fn(defaultPolicy)
    const evaluate = evaluator(policy)
    // Two parses of the same DER, as two TLS connections would give.
    const first = evaluate({
      cert: new X509Certificate(good.der),
      authorized: true,
      opensslCode: undefined,
      now: NOW,
    })
    const second = evaluate({
      cert: new X509Certificate(good.der),
      authorized: true,
      opensslCode: undefined,
      now: NOW,
    })
    expect(first.allow && second.allow).toBe(true)
    if (!first.allow || !second.allow) return
    expect(second.peer).toBe(first.peer)
    expect(policy).toHaveBeenCalledTimes(1)
  })

  // Serial numbers are unique per issuer only: two trusted CAs may well issue the same one. The
  // cache must tell the certificates apart, or the second inherits the first one's verdict.
  it('keeps separate verdicts for two certificates of different CAs with the same serial', () => {
    const serial = Buffer.from('0badc0de0badc0de', 'hex')
    const caA = makeCa('CA A')
    const caB = makeCa('CA B')
    const leafA = makeLeaf(caA, { serial })
    const leafB = makeLeaf(caB, { serial })
    expect(leafB.cert.serialNumber).toBe(leafA.cert.serialNumber)
    const twoCas = trustOf([caEntry(caA), caEntry(caB)], false)
    const pinnedToA = compilePeerPolicy({
      ...defaults,
      pins: { spkiSha256: [], certSha256: [leafA.cert.fingerprint256] },
    }).policy
    const evaluate = createPeerEvaluator(twoCas, pinnedToA)
    const input = (cert: X509Certificate) => ({ cert, authorized: true, opensslCode: undefined, now: NOW })

    const first = evaluate(input(leafA.cert))
    expect(first.allow).toBe(true)
    const second = evaluate(input(leafB.cert))
    expect(second).toMatchObject({ allow: false, reason: 'pin_mismatch' })
    expect(!second.allow && second.identity?.issuerText).toContain('CN=CA B')
  })

  it('re-runs the time-dependent checks on a cached certificate', () => {
    const leaf = makeLeaf(issuing, days(-10, 1))
    const evaluate = evaluator()
    expect(evaluate({ cert: leaf.cert, authorized: true, opensslCode: undefined, now: NOW }).allow).toBe(true)
    expect(
      evaluate({ cert: leaf.cert, authorized: true, opensslCode: undefined, now: NOW + 2 * DAY }),
    ).toMatchObject({
      reason: 'expired',
    })
  })

  it('recomputes an entry after the bounded cache was cleared', () => {
    const policy = vi.fn(defaultPolicy)
    const evaluate = evaluator(policy, 1)
    const other = makeLeaf(issuing)
    for (const cert of [good.cert, other.cert, good.cert]) {
      expect(evaluate({ cert, authorized: true, opensslCode: undefined, now: NOW }).allow).toBe(true)
    }
    expect(policy).toHaveBeenCalledTimes(3)
  })
})
