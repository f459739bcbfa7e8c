/**
 * What a reload may not do on its own. Pure.
 *
 * A reload must never widen access by accident: a half-written or truncated config file can
 * parse and yet drop a whole control (`network:` with its list cut off becomes "allow any
 * source"). So a reload that removes a control is refused; removing one is a deliberate change
 * that takes a restart. Adding entries (a new Thredd egress address, the next pin) reloads.
 * Settings bound to the listener or the process need a restart and are reported, not applied.
 */
import type { GatewayConfig } from '../config/config-schema.ts'
import { compareCrls, describeCrl, newestCrl } from '../tls/crl.ts'
import type { TrustStore } from '../tls/tls-material.ts'

export function wideningChanges(before: GatewayConfig, after: GatewayConfig): string[] {
  const changes: string[] = []
  if (before.network.allowlist.length > 0 && after.network.allowlist.length === 0) {
    changes.push('network.allowlist would become empty (any source address)')
  }
  const pins = (c: GatewayConfig) => c.clientAuth.pins.spkiSha256.length + c.clientAuth.pins.certSha256.length
  if (pins(before) > 0 && pins(after) === 0) changes.push('clientAuth.pins would become empty (no pinning)')
  for (const [key, list] of Object.entries(before.clientAuth.allowedSubjects)) {
    const next = after.clientAuth.allowedSubjects[key as keyof GatewayConfig['clientAuth']['allowedSubjects']]
    if (list.length > 0 && next.length === 0)
      changes.push(`clientAuth.allowedSubjects.${key} would become empty (any value)`)
  }
  if (before.tls.crl.enabled && !after.tls.crl.enabled)
    changes.push('tls.crl.enabled would turn revocation checking off')
  if (before.clientAuth.requireClientAuthEku && !after.clientAuth.requireClientAuthEku) {
    changes.push('clientAuth.requireClientAuthEku would stop requiring the clientAuth EKU')
  }
  return changes
}

/**
 * CAs whose CRL in force (the newest loaded, by CRL number or else thisUpdate) a reload would
 * replace with an older one. An older CRL, still unexpired, may no longer list a certificate
 * revoked since: loading it would admit that certificate again, so the reload is refused.
 * CAs are matched by certificate fingerprint; a CA new to the bundle has nothing to compare.
 */
export function crlRollbacks(before: TrustStore, after: TrustStore): string[] {
  if (!before.crlEnabled || !after.crlEnabled) return []
  const problems: string[] = []
  for (const ca of after.cas) {
    const previous = before.cas.find((b) => b.cert.fingerprint256 === ca.cert.fingerprint256)
    if (!previous) continue
    // Each scope (a partitioned CA's CRLs, told apart by their Issuing Distribution Point) is
    // numbered on its own; nearly every CA has one scope.
    for (const scope of new Set(ca.crls.map((crl) => crl.scope))) {
      const was = newestCrl(previous.crls.filter((crl) => crl.scope === scope))
      const next = newestCrl(ca.crls.filter((crl) => crl.scope === scope))
      if (!was || !next || compareCrls(next, was) !== 'older') continue
      problems.push(
        `the CRL of ${ca.cert.subject.split('\n').join(', ')} would go back from ${describeCrl(was)} to the older ${describeCrl(next)}: an older CRL may not list certificates revoked since; load a CRL at least as new`,
      )
    }
  }
  return problems
}

/** Settings a running listener cannot take; a reload keeps the old values and says so. */
const RESTART_ONLY = [
  'listen',
  'proxyProtocol',
  'admin',
  'workers',
  'routes',
  'limits',
  'shutdown',
  'reload',
  'referenceHost',
] as const

export function restartOnlyChanges(before: GatewayConfig, after: GatewayConfig): string[] {
  const changed: string[] = RESTART_ONLY.filter(
    (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  )
  if (before.tls.handshakeTimeoutMs !== after.tls.handshakeTimeoutMs) changed.push('tls.handshakeTimeoutMs')
  if (before.log.pretty !== after.log.pretty) changed.push('log.pretty')
  return changed
}
