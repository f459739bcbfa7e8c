/**
 * What a reload may not do on its own. Pure.
 *
 * A reload must never widen access by accident: a half-written or truncated config file can
 * parse and yet drop a whole control (`network:` with its list cut off becomes "allow any
 * source"). So a reload that removes a control is refused; removing one is a deliberate change
 * that takes a restart. Adding entries (a new Thredd egress address, the next pin) reloads.
 * Settings bound to the listener or the process need a restart and are reported, not applied.
 * The candidate trust (candidateTrust) is neither: it admits and refuses nothing, so a reload may
 * add, change or remove it like any other trust data.
 */
import type { GatewayConfig } from '../config/config-schema.ts'

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
