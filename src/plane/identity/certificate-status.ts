/**
 * Certificate status against the configured trust: chain building, validity windows,
 * revocation and CRL freshness. Pure: reads certificates and the trust data, takes `now`.
 *
 * Two uses:
 * - classify a failed verification with a stable reason. OpenSSL reports the *last* error it
 *   met (Node's verify callback lets verification continue), so its code alone is not stable:
 *   a self-signed certificate comes back as UNABLE_TO_GET_CRL when CRL checking is on.
 * - re-check a passing certificate on every connection. A resumed TLS session skips the
 *   certificate exchange, and OpenSSL replays the verdict stored in the session; a CRL or clock
 *   change since then must still refuse the client.
 */
import type { X509Certificate } from 'node:crypto'
import type { Reason } from '../../reasons.ts'
import { issuedBy, type CaEntry, type TrustStore } from '../../runtime/tls-material.ts'
import { CLIENT_AUTH_EKU, type PeerIdentity } from './peer-identity.ts'

export interface StatusProblem {
  reason: Reason
  detail: string
}

/** The CA path from the leaf's issuer up to a self-signed root, all taken from the bundle. */
export function buildChain(leaf: X509Certificate, trust: TrustStore): CaEntry[] | undefined {
  const chain: CaEntry[] = []
  let current = leaf
  for (let depth = 0; depth < 8; depth++) {
    const parent = trust.cas.find((ca) => !chain.includes(ca) && issuedBy(current, ca.cert))
    if (!parent) return undefined
    chain.push(parent)
    if (parent.selfSigned) return chain
    current = parent.cert
  }
  return undefined
}

/** Validity, revocation and CRL freshness of a leaf and its CA path, at `now`. */
export function currentStatus(
  peer: PeerIdentity,
  chain: readonly CaEntry[],
  trust: TrustStore,
  now: number,
): StatusProblem | undefined {
  if (now > peer.notAfter)
    return { reason: 'expired', detail: `expired ${new Date(peer.notAfter).toISOString()}` }
  if (now < peer.notBefore)
    return { reason: 'not_yet_valid', detail: `valid from ${new Date(peer.notBefore).toISOString()}` }
  for (const ca of chain) {
    if (now > ca.cert.validToDate.getTime())
      return { reason: 'expired', detail: `CA ${ca.cert.subject} expired` }
    if (now < ca.cert.validFromDate.getTime())
      return { reason: 'not_yet_valid', detail: `CA ${ca.cert.subject} not valid yet` }
  }
  if (!trust.crlEnabled) return undefined
  // Revocation first: a listed certificate stays revoked even when the list has gone stale.
  const issuer = chain[0]
  if (issuer?.crls.some((crl) => crl.revokedSerials.has(peer.serial))) {
    return { reason: 'revoked', detail: `serial ${peer.serial} is in the CRL of ${issuer.cert.subject}` }
  }
  for (const ca of chain) {
    if (ca.revoked) return { reason: 'revoked', detail: `CA ${ca.cert.subject} is revoked` }
  }
  // Every CA that issued something in the path needs a CRL that is current now.
  for (const ca of chain) {
    if (ca.crls.length === 0) return { reason: 'crl_unavailable', detail: `no CRL for ${ca.cert.subject}` }
    const fresh = ca.crls.some(
      (crl) => crl.thisUpdate.getTime() <= now && (!crl.nextUpdate || crl.nextUpdate.getTime() >= now),
    )
    if (!fresh) {
      const stale = ca.crls.some((crl) => crl.nextUpdate && crl.nextUpdate.getTime() < now)
      return stale
        ? { reason: 'crl_expired', detail: `the CRL of ${ca.cert.subject} is past its nextUpdate` }
        : { reason: 'crl_unavailable', detail: `the CRL of ${ca.cert.subject} is not valid yet` }
    }
  }
  return undefined
}

const OPENSSL_REASONS: Record<string, Reason> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'not_yet_valid',
  CERT_REVOKED: 'revoked',
  CRL_HAS_EXPIRED: 'crl_expired',
  UNABLE_TO_GET_CRL: 'crl_unavailable',
  UNABLE_TO_GET_CRL_ISSUER: 'crl_unavailable',
  CRL_NOT_YET_VALID: 'crl_unavailable',
  CRL_SIGNATURE_FAILURE: 'crl_unavailable',
  INVALID_PURPOSE: 'bad_eku',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted_issuer',
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted_issuer',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted_issuer',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted_issuer',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted_issuer',
  CERT_UNTRUSTED: 'untrusted_issuer',
  CERT_SIGNATURE_FAILURE: 'invalid_chain',
  INVALID_CA: 'invalid_chain',
  INVALID_NON_CA: 'invalid_chain',
  PATH_LENGTH_EXCEEDED: 'invalid_chain',
  CERT_CHAIN_TOO_LONG: 'invalid_chain',
  INVALID_EXTENSION: 'invalid_chain',
  KEYUSAGE_NO_CERTSIGN: 'invalid_chain',
  KEYUSAGE_NO_DIGITAL_SIGNATURE: 'invalid_chain',
  EE_KEY_TOO_SMALL: 'weak_key',
  CA_KEY_TOO_SMALL: 'weak_key',
  CA_MD_TOO_WEAK: 'weak_key',
  EC_KEY_EXPLICIT_PARAMS: 'weak_key',
}

/**
 * The reason for a certificate OpenSSL did not authorise. Checks in a fixed order so the same
 * certificate always gets the same reason: trust path, validity, revocation, CRL freshness,
 * EKU, key usage and strength, then OpenSSL's own code.
 */
export function classifyVerifyFailure(input: {
  peer: PeerIdentity
  chain: readonly CaEntry[] | undefined
  trust: TrustStore
  opensslCode: string | undefined
  /** The leaf's key problem (key-strength.ts), when it has one. */
  keyProblem?: StatusProblem | undefined
  now: number
}): StatusProblem {
  const { peer, chain, trust, opensslCode, now } = input
  if (!chain)
    return { reason: 'untrusted_issuer', detail: `issuer ${peer.issuerText} is not a trusted client CA` }
  const status = currentStatus(peer, chain, trust, now)
  if (status) return status
  if (peer.extKeyUsage && !peer.extKeyUsage.includes(CLIENT_AUTH_EKU)) {
    return { reason: 'bad_eku', detail: `EKU is ${peer.extKeyUsage.join(', ')}` }
  }
  if (input.keyProblem) return input.keyProblem
  const mapped = opensslCode ? OPENSSL_REASONS[opensslCode] : undefined
  return { reason: mapped ?? 'cert_invalid', detail: `OpenSSL: ${opensslCode ?? 'unknown'}` }
}
