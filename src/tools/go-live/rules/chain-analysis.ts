/**
 * What a certificate chain looks like to a client: is it in order, is it complete (leaf plus
 * intermediates up to a trusted root), and does it verify at every depth. Used by `check` (the chain a server sends) and `verify-config` (the chain
 * file the gateway will send). Pure: certificates and trust anchors in, findings out.
 */
import type { X509Certificate } from 'node:crypto'
import { issuedBy, isSelfSigned, subjectOf } from '../../pki/rules/certificate-info.ts'

export type Completeness = 'complete' | 'leaf-only' | 'incomplete'

export interface DepthResult {
  depth: number
  subject: string
  /** Where the certificate came from: sent by the server / in the file, or a trust anchor. */
  from: 'chain' | 'trust anchor'
  ok: boolean
  /** OpenSSL-style reason when not ok, e.g. "unable to get local issuer certificate". */
  error?: string
}

export interface ChainAnalysis {
  /** Each certificate is issued by the next one (leaf first). */
  inOrder: boolean
  orderProblems: string[]
  completeness: Completeness
  /** The trust anchor the chain ends at, when there is one. */
  anchor: X509Certificate | undefined
  /** The top of the chain was a self-signed root (sending it is unnecessary, not wrong). */
  rootSent: boolean
  /** Verification result at each depth of the path a client builds, leaf at depth 0. */
  depths: DepthResult[]
}

/**
 * Analyses `chain` (leaf first, as sent) against `anchors` (the trusted roots). The path for the
 * per-depth verification is built the way OpenSSL does it: each issuer is looked for among the
 * certificates sent, then among the anchors, so a wrong order still verifies but is reported.
 */
export function analyseChain(
  chain: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  now: Date,
): ChainAnalysis {
  const orderProblems: string[] = []
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!issuedBy(chain[i]!, chain[i + 1]!)) {
      orderProblems.push(
        `certificate #${i + 1} (${subjectOf(chain[i]!)}) is not issued by #${i + 2} (${subjectOf(chain[i + 1]!)})`,
      )
    }
  }

  const leaf = chain[0]
  const depths: DepthResult[] = []
  let anchor: X509Certificate | undefined
  let rootSent = false
  let completeness: Completeness = 'incomplete'
  if (!leaf) return { inOrder: false, orderProblems, completeness, anchor, rootSent, depths }

  const trusted = (cert: X509Certificate) => anchors.some((a) => a.fingerprint256 === cert.fingerprint256)
  const path: { cert: X509Certificate; from: DepthResult['from'] }[] = [{ cert: leaf, from: 'chain' }]
  const used = new Set<string>([leaf.fingerprint256])
  for (;;) {
    const current = path[path.length - 1]!.cert
    if (isSelfSigned(current)) {
      if (path[path.length - 1]!.from === 'chain') rootSent = true
      break
    }
    const fromChain = chain.find((c) => !used.has(c.fingerprint256) && issuedBy(current, c))
    const fromAnchors = anchors.find((c) => issuedBy(current, c))
    // A trusted anchor wins over a sent copy of the same root (as OpenSSL prefers the store).
    const next = fromAnchors ?? fromChain
    if (!next) break
    path.push({ cert: next, from: fromAnchors ? 'trust anchor' : 'chain' })
    used.add(next.fingerprint256)
    if (fromAnchors) break
  }
  const top = path[path.length - 1]!
  if (top.from === 'trust anchor' || (isSelfSigned(top.cert) && trusted(top.cert))) anchor = top.cert

  path.forEach(({ cert, from }, depth) => {
    const issuer = path[depth + 1]?.cert
    let error: string | undefined
    if (cert.validFromDate > now) error = 'certificate is not yet valid'
    else if (cert.validToDate < now) error = 'certificate has expired'
    else if (depth > 0 && !cert.ca)
      error = 'issuer certificate is not a CA (basicConstraints CA:TRUE missing)'
    else if (!issuer) {
      if (isSelfSigned(cert)) {
        if (!trusted(cert))
          error = depth === 0 ? 'self-signed certificate' : 'self-signed certificate in certificate chain'
      } else {
        error = 'unable to get local issuer certificate'
      }
    }
    depths.push({
      depth,
      subject: subjectOf(cert),
      from,
      ok: error === undefined,
      ...(error ? { error } : {}),
    })
  })

  if (anchor) completeness = 'complete'
  else if (chain.length === 1 && !isSelfSigned(leaf)) completeness = 'leaf-only'
  return { inOrder: orderProblems.length === 0, orderProblems, completeness, anchor, rootSent, depths }
}
