/**
 * The client-identity policy, compiled once from config into a pure function. It runs only for
 * certificates that already passed chain validation: pins and subject rules add to the chain
 * check, they never replace it.
 */
import type { ConfigIssue } from '../../config/config-issues.ts'
import type { GatewayConfig } from '../../config/config-schema.ts'
import type { Reason } from '../../reasons.ts'
import { CLIENT_AUTH_EKU, type PeerIdentity } from './peer-identity.ts'

export type PolicyDecision = { allow: true } | { allow: false; reason: Reason; detail: string }
export type PeerPolicy = (peer: PeerIdentity) => PolicyDecision

type ClientAuthConfig = GatewayConfig['clientAuth']

const ALLOW: PolicyDecision = Object.freeze({ allow: true })

export function compilePeerPolicy(config: ClientAuthConfig): { policy: PeerPolicy; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = []
  const spkiPins = new Set<string>()
  config.pins.spkiSha256.forEach((pin, i) => {
    const decoded = decodeSpkiPin(pin)
    if (decoded) spkiPins.add(decoded)
    else {
      issues.push({
        path: `clientAuth.pins.spkiSha256[${i}]`,
        message: 'is not a base64 SHA-256 hash (44 characters ending in "=", decoding to 32 bytes)',
      })
    }
  })
  const certPins = new Set<string>()
  config.pins.certSha256.forEach((pin, i) => {
    const decoded = decodeCertPin(pin)
    if (decoded) certPins.add(decoded)
    else {
      issues.push({
        path: `clientAuth.pins.certSha256[${i}]`,
        message: 'is not a hex SHA-256 fingerprint (64 hex digits, colons allowed)',
      })
    }
  })
  const pinned = spkiPins.size + certPins.size > 0
  const subjects = config.allowedSubjects
  /**
   * `every`: each value on the certificate must be listed. CN and O name who the certificate is
   * for, and a host or log that reads "the" CN may take either one, so `CN=evil, CN=<allowed>`
   * must not pass. `some`: one listed value is enough (a certificate legitimately carries
   * several OUs and SANs). Either way a certificate without any value for the attribute fails.
   */
  type Rule = {
    name: string
    match: 'every' | 'some'
    allowed: Set<string>
    values: (p: PeerIdentity) => readonly string[]
  }
  const candidates: Rule[] = [
    { name: 'CN', match: 'every', allowed: new Set(subjects.cn), values: (p) => p.subject.cn },
    { name: 'O', match: 'every', allowed: new Set(subjects.o), values: (p) => p.subject.o },
    { name: 'OU', match: 'some', allowed: new Set(subjects.ou), values: (p) => p.subject.ou },
    {
      name: 'DNS SAN',
      match: 'some',
      allowed: new Set(subjects.sanDns.map((d) => d.toLowerCase())),
      values: (p) => p.san.dns.map((d) => d.toLowerCase()),
    },
    { name: 'URI SAN', match: 'some', allowed: new Set(subjects.sanUri), values: (p) => p.san.uri },
    { name: 'e-mail SAN', match: 'some', allowed: new Set(subjects.sanEmail), values: (p) => p.san.email },
  ]
  const rules = candidates.filter((rule) => rule.allowed.size > 0)
  const requireEku = config.requireClientAuthEku

  const policy: PeerPolicy = (peer) => {
    if (requireEku && !peer.extKeyUsage?.includes(CLIENT_AUTH_EKU)) {
      return {
        allow: false,
        reason: 'bad_eku',
        detail: peer.extKeyUsage ? `EKU is ${peer.extKeyUsage.join(', ')}` : 'no EKU extension',
      }
    }
    if (pinned && !spkiPins.has(peer.spkiSha256) && !certPins.has(peer.certSha256)) {
      return { allow: false, reason: 'pin_mismatch', detail: `SPKI sha256 ${peer.spkiSha256}` }
    }
    for (const rule of rules) {
      const values = rule.values(peer)
      const listed = (value: string) => rule.allowed.has(value)
      const passes = rule.match === 'every' ? values.length > 0 && values.every(listed) : values.some(listed)
      if (!passes) {
        const several = rule.match === 'every' && values.length > 1 ? ` (all ${values.length} must be)` : ''
        return {
          allow: false,
          reason: 'subject_not_allowed',
          detail: `${rule.name} not in the allow-list${several}`,
        }
      }
    }
    return ALLOW
  }
  return { policy, issues }
}

/** Returns the canonical base64 of a 32-byte SPKI hash, or undefined. */
export function decodeSpkiPin(pin: string): string | undefined {
  const trimmed = pin.trim().replace(/^sha256\//, '')
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) return undefined
  const bytes = Buffer.from(trimmed, 'base64')
  return bytes.length === 32 ? bytes.toString('base64') : undefined
}

/** Returns lower-case hex of a SHA-256 certificate fingerprint, or undefined. */
export function decodeCertPin(pin: string): string | undefined {
  const hex = pin.trim().replace(/:/g, '').toLowerCase()
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined
}
