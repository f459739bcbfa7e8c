/**
 * Decides, once per TLS connection, whether the client may send EHI messages.
 *
 * The expensive work (parsing the certificate, building its CA path, the policy decision, the
 * identity headers) depends only on the certificate and the configuration, so it is memoised by
 * the certificate's SHA-256: Thredd presents the same transport certificate on every connection,
 * and each one then costs a map lookup plus the time-dependent checks (validity, revocation,
 * CRL freshness), which run every time. A new evaluator is built for each trust configuration,
 * so a reload never sees stale entries.
 */
import type { X509Certificate } from 'node:crypto'
import type { Reason } from '../../reasons.ts'
import type { CaEntry, TrustStore } from '../../runtime/tls-material.ts'
import { buildChain, classifyVerifyFailure, currentStatus, type StatusProblem } from './certificate-status.ts'
import { clientCertHeadersOnce, toIdentityHeaders } from './identity-headers.ts'
import { keyProblem, readKeyStrength } from './key-strength.ts'
import { toPeerIdentity, type PeerIdentity } from './peer-identity.ts'
import type { PeerPolicy, PolicyDecision } from './peer-policy.ts'

export interface AllowedPeer {
  identity: PeerIdentity
  /** Headers that carry the verified identity to the host. */
  headers: Readonly<Record<string, string>>
  /** RFC 9440 Client-Cert and Client-Cert-Chain, built on first use (upstream.clientCertHeaders). */
  clientCertHeaders: () => Readonly<Record<string, string>>
  /** The trusted CA that issued the certificate (what OCSP asks about it with). */
  issuer: X509Certificate | undefined
}

export type PeerVerdict =
  | { allow: true; peer: AllowedPeer }
  | { allow: false; reason: Reason; detail: string; identity?: PeerIdentity }

export interface PeerInput {
  cert: X509Certificate | undefined
  /** OpenSSL's verdict (socket.authorized). */
  authorized: boolean
  opensslCode: string | undefined
  now: number
}

export type PeerEvaluator = (input: PeerInput) => PeerVerdict

interface CacheEntry {
  identity: PeerIdentity
  chain: CaEntry[] | undefined
  decision: PolicyDecision
  peer: AllowedPeer
  /** Why the leaf's key cannot authenticate a client (keyUsage, size, signature), if it cannot. */
  keyProblem: StatusProblem | undefined
}

const NO_CERT: PeerVerdict = Object.freeze({
  allow: false,
  reason: 'no_client_cert',
  detail: 'the client sent no certificate',
})

export function createPeerEvaluator(trust: TrustStore, policy: PeerPolicy, maxCached = 256): PeerEvaluator {
  const cache = new Map<string, CacheEntry>()

  function entryFor(cert: X509Certificate): CacheEntry {
    const key = cert.fingerprint256
    let entry = cache.get(key)
    if (!entry) {
      const identity = toPeerIdentity(cert)
      const chain = buildChain(cert, trust)
      entry = {
        identity,
        chain,
        decision: policy(identity),
        peer: {
          identity,
          headers: toIdentityHeaders(identity),
          clientCertHeaders: clientCertHeadersOnce(cert, trust),
          issuer: chain?.[0]?.cert,
        },
        keyProblem: leafKeyProblem(cert),
      }
      // Bounded: a flood of distinct certificates must not grow memory. Eviction only costs a
      // recomputation, so a full clear is good enough.
      if (cache.size >= maxCached) cache.clear()
      cache.set(key, entry)
    }
    return entry
  }

  return function evaluatePeer({ cert, authorized, opensslCode, now }) {
    if (!cert) return NO_CERT
    const entry = entryFor(cert)
    if (!authorized || !entry.chain) {
      const problem = classifyVerifyFailure({
        peer: entry.identity,
        chain: entry.chain,
        trust,
        opensslCode,
        keyProblem: entry.keyProblem,
        now,
      })
      return { allow: false, ...problem, identity: entry.identity }
    }
    const status = currentStatus(entry.identity, entry.chain, trust, now)
    if (status) return { allow: false, ...status, identity: entry.identity }
    if (entry.keyProblem) return { allow: false, ...entry.keyProblem, identity: entry.identity }
    if (!entry.decision.allow) {
      return {
        allow: false,
        reason: entry.decision.reason,
        detail: entry.decision.detail,
        identity: entry.identity,
      }
    }
    return { allow: true, peer: entry.peer }
  }
}

function leafKeyProblem(cert: X509Certificate): StatusProblem | undefined {
  try {
    return keyProblem(readKeyStrength(cert))
  } catch {
    // OpenSSL accepted the encoding but our reader did not: refuse rather than guess.
    return { reason: 'cert_invalid', detail: 'the certificate key usage could not be read' }
  }
}
