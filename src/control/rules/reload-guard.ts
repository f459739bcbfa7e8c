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
import { ConfigSchema, type GatewayConfig } from '../../config/config-schema.ts'
import { compareCrls, describeCrl, newestCrl } from '../../plane/tls/crl.ts'
import type { TrustStore } from '../../runtime/tls-material.ts'

/** One control a reload may not remove: `widens` compares the running and the new config. */
export interface WideningRule {
  /** The setting, as the refusal names it. */
  path: string
  widens(before: GatewayConfig, after: GatewayConfig): boolean
  /** What the change would do, after the path in the refusal. */
  effect: string
}

type Read<T> = (config: GatewayConfig) => T

/** An allow-list emptied: an empty list means "any". */
function emptied(path: string, list: Read<readonly unknown[]>, meaning: string): WideningRule {
  return {
    path,
    widens: (before, after) => list(before).length > 0 && list(after).length === 0,
    effect: `would become empty (${meaning})`,
  }
}

/** A check turned off. */
function turnedOff(path: string, on: Read<boolean>, effect: string): WideningRule {
  return { path, widens: (before, after) => on(before) && !on(after), effect }
}

/** A setting moved down `levels`, listed from the weakest to the strongest. */
function lowered<T>(path: string, read: Read<T>, levels: readonly T[], effect: string): WideningRule {
  return {
    path,
    widens: (before, after) => levels.indexOf(read(after)) < levels.indexOf(read(before)),
    effect,
  }
}

/** Every subject and SAN allow-list the schema has, so a new one is covered without an edit here. */
const SUBJECT_LISTS = Object.keys(
  ConfigSchema.properties.clientAuth.properties.allowedSubjects.properties,
) as (keyof GatewayConfig['clientAuth']['allowedSubjects'])[]

/**
 * Every control a reload may not remove, one line each. Pins count as one control: emptying one
 * kind while the other still pins narrows access and reloads. `clientAuth.rejectMode` is not
 * here on purpose: both modes refuse the same certificates and forward nothing from them; only
 * the shape of the refusal differs.
 */
export const WIDENING_RULES: readonly WideningRule[] = [
  emptied('network.allowlist', (c) => c.network.allowlist, 'any source address'),
  emptied(
    'clientAuth.pins',
    (c) => [...c.clientAuth.pins.spkiSha256, ...c.clientAuth.pins.certSha256],
    'no pinning',
  ),
  ...SUBJECT_LISTS.map((key) =>
    emptied(`clientAuth.allowedSubjects.${key}`, (c) => c.clientAuth.allowedSubjects[key], 'any value'),
  ),
  turnedOff('tls.crl.enabled', (c) => c.tls.crl.enabled, 'would turn revocation checking off'),
  turnedOff(
    'clientAuth.requireClientAuthEku',
    (c) => c.clientAuth.requireClientAuthEku,
    'would stop requiring the clientAuth EKU',
  ),
  lowered('tls.minVersion', (c) => c.tls.minVersion, ['TLSv1.2', 'TLSv1.3'], 'would accept TLS 1.2 again'),
  turnedOff('tls.ocsp.enabled', (c) => c.tls.ocsp.enabled, 'would stop asking the OCSP responder'),
  lowered(
    'tls.ocsp.policy',
    (c) => c.tls.ocsp.policy,
    ['soft', 'hard'],
    'would admit clients without a good OCSP answer',
  ),
]

/** What a reload from `before` to `after` would widen, one sentence per rule it breaks. */
export function wideningChanges(
  before: GatewayConfig,
  after: GatewayConfig,
  rules: readonly WideningRule[] = WIDENING_RULES,
): string[] {
  return rules.filter((rule) => rule.widens(before, after)).map((rule) => `${rule.path} ${rule.effect}`)
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
  // Each process opens its ledger once, at start.
  'ledger',
] as const

export function restartOnlyChanges(before: GatewayConfig, after: GatewayConfig): string[] {
  const changed: string[] = RESTART_ONLY.filter(
    (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  )
  if (before.tls.handshakeTimeoutMs !== after.tls.handshakeTimeoutMs) changed.push('tls.handshakeTimeoutMs')
  if (before.log.pretty !== after.log.pretty) changed.push('log.pretty')
  return changed
}
