/**
 * `ehi-gateway verify-config FILE`: everything that can be checked without traffic, as
 * `nginx -t` does for nginx. The configuration goes through the same loaders `serve` uses
 * (loadConfig, compileRuntime, so every startup error is an error here too), and on top of them
 * this reports what a startup does not refuse but Thredd's go-live check would: a server chain
 * sent without its intermediate, an expired CRL (a startup warning: the gateway then refuses
 * Thredd with crl_expired), certificates and CRLs close to expiry, and an inventory of the
 * certificates, CRLs, pins, allowlist and effective TLS policy.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { compileIpAllowlist } from '../../plane/accept/ip-allowlist.ts'
import { ConfigError, type ConfigIssue } from '../../config/config-issues.ts'
import type { GatewayConfig } from '../../config/config-schema.ts'
import { hasIssueUnder, loadConfig } from '../../config/load-config.ts'
import { compileRuntime } from '../../runtime/compile-runtime.ts'
import { decodeCertPin, decodeSpkiPin } from '../../plane/identity/peer-policy.ts'
import { formatNameDer } from '../pki/rules/x509-name.ts'
import { certificateSubjectDer, parseCrl } from '../../plane/tls/crl.ts'
import { splitPem } from '../../plane/tls/pem.ts'
import {
  certificateInfo,
  issuerOf,
  subjectOf,
  validityOf,
  type CertificateInfo,
} from '../pki/rules/certificate-info.ts'
import { analyseChain } from '../go-live/rules/chain-analysis.ts'
import { classifySuite, concreteSuites } from '../go-live/rules/cipher-suites.ts'

const DAY = 86_400_000
/** A CRL this close to its nextUpdate gets a warning: refresh it before Thredd is refused. */
export const CRL_WARNING_DAYS = 2

export interface Finding {
  path: string
  message: string
}

export interface ServerChainInfo {
  path: string
  file: string
  certificates: CertificateInfo[]
  completeness: string
  /** The root the chain builds to, when it does. */
  root: string | undefined
}

export interface CrlSummary {
  path: string
  file: string
  issuer: string
  /** The CA of tls.clientCa that issued it, when there is one. */
  ca: string | undefined
  thisUpdate: string
  nextUpdate: string | undefined
  daysLeft: number | undefined
  revoked: number
}

export interface PinSummary {
  path: string
  value: string
  decodes: boolean
  /** Certificates of the client CA bundle this pin matches. */
  matches: string[]
}

export interface VerifyReport {
  file: string
  ok: boolean
  errors: Finding[]
  warnings: Finding[]
  serverChains: ServerChainInfo[]
  clientCas: (CertificateInfo & { file: string; crls: number })[]
  crls: CrlSummary[]
  pins: PinSummary[]
  allowlist: { entry: string; ok: boolean }[]
  tlsPolicy: Record<string, string | number | boolean> | undefined
}

export interface VerifyOptions {
  file: string
  env?: Record<string, string | undefined>
  now?: Date
  /** Roots a server chain may build to besides the system roots (--ca). */
  extraRoots?: readonly X509Certificate[]
  systemRoots?: readonly X509Certificate[]
}

export function verifyConfig(options: VerifyOptions): VerifyReport {
  const now = options.now ?? new Date()
  const loaded = loadConfig({ file: options.file, ...(options.env ? { env: options.env } : {}) })
  const report: VerifyReport = {
    file: options.file,
    ok: false,
    errors: [],
    warnings: [],
    serverChains: [],
    clientCas: [],
    crls: [],
    pins: [],
    allowlist: [],
    tlsPolicy: undefined,
  }
  const errors = new Findings()
  const warnings = new Findings()
  if (loaded.issues.some((i) => i.path === '(file)')) {
    errors.addIssues(loaded.issues)
    return finish(report, errors, warnings)
  }

  // The same compilation `serve` runs: every startup error is an error here.
  let runtimeWarnings: string[] | undefined
  try {
    runtimeWarnings = compileRuntime(loaded.config, loaded.issues, now).warnings
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    errors.addIssues(error.issues)
  }

  const config = loaded.config
  const skip = (prefix: string) => hasIssueUnder(loaded.issues, prefix)
  const anchors = [...(options.systemRoots ?? []), ...(options.extraRoots ?? [])]
  const anchorsLabel = options.extraRoots?.length ? 'a system root nor in --ca' : 'a system root'
  if (!skip('tls')) {
    report.serverChains = inspectServerChains(config, anchors, anchorsLabel, now, errors, warnings)
    const cas = inspectClientCas(config, now, warnings)
    report.crls = inspectCrls(config, cas, now, errors, warnings)
    report.clientCas = cas.map(({ info, file, crls }) => ({ ...info, file, crls }))
    report.tlsPolicy = tlsPolicy(config, warnings)
    if (!skip('clientAuth')) report.pins = inspectPins(config, cas, warnings)
  }
  if (!skip('network')) {
    report.allowlist = config.network.allowlist.map((entry) => ({
      entry,
      ok: compileIpAllowlist([entry]).issues.length === 0,
    }))
  }

  if (runtimeWarnings) {
    for (const message of runtimeWarnings) {
      // Raised to errors above (the gateway starts, but Thredd's check or traffic would fail).
      if (/holds the leaf only/.test(message) || /^the CRL of .* expired on/.test(message)) continue
      const path = pathOf(message)
      warnings.add({ path, message: path === 'warning' ? message : message.slice(path.length).trim() })
    }
  } else if (!skip('network') && config.network.allowlist.length === 0) {
    warnings.add({
      path: 'network.allowlist',
      message: "is empty: any source address may connect; list Thredd's egress address in production",
    })
  }
  return finish(report, errors, warnings)
}

function finish(report: VerifyReport, errors: Findings, warnings: Findings): VerifyReport {
  report.errors = errors.list
  report.warnings = warnings.list
  report.ok = report.errors.length === 0
  return report
}

/** Findings without duplicates (the same problem can be found by the loader and by us). */
class Findings {
  readonly list: Finding[] = []
  add(finding: Finding): void {
    if (!this.list.some((f) => f.path === finding.path && f.message === finding.message))
      this.list.push(finding)
  }
  addIssues(issues: readonly ConfigIssue[]): void {
    for (const i of issues)
      this.add({ path: i.path, message: `${i.message}${i.source ? ` [from ${i.source}]` : ''}` })
  }
}

/** Runtime warnings are sentences that start with the key they concern, when they concern one. */
function pathOf(message: string): string {
  return /^([a-zA-Z]+(?:\.[a-zA-Z]+|\[\d+\])+)/.exec(message)?.[1] ?? 'warning'
}

function readCerts(file: string): X509Certificate[] {
  try {
    return splitPem(readFileSync(file, 'utf8'))
      .filter((b) => b.label === 'CERTIFICATE')
      .map((b) => new X509Certificate(b.der))
  } catch {
    // Unreadable or unparsable files are reported by loadTlsMaterial with their field.
    return []
  }
}

function inspectServerChains(
  config: GatewayConfig,
  anchors: readonly X509Certificate[],
  anchorsLabel: string,
  now: Date,
  errors: Findings,
  warnings: Findings,
): ServerChainInfo[] {
  return config.tls.serverCertificates.map((pair, i) => {
    const path = `tls.serverCertificates[${i}].cert`
    const certs = readCerts(pair.cert)
    const analysis = analyseChain(certs, anchors, now)
    if (certs.length > 0) {
      if (analysis.completeness === 'leaf-only') {
        errors.add({
          path,
          message: `${pair.cert} holds the leaf only: the intermediate certificate is missing (put the leaf, then its intermediate(s), in this file; without it clients fail and SSL Labs grades B)`,
        })
      } else if (analysis.completeness === 'incomplete' && analysis.inOrder) {
        const top = certs[certs.length - 1]!
        warnings.add({
          path,
          message: `the chain ends at ${subjectOf(top)}, issued by ${issuerOf(top)}, which is not ${anchorsLabel}: Thredd needs a chain to a public root`,
        })
      }
      certs.forEach((cert, n) => {
        const v = validityOf(cert, now)
        // The leaf's expiry is a loader error already; intermediates are checked here.
        if (n > 0 && (v.state === 'expired' || v.state === 'not-yet-valid')) {
          errors.add({
            path,
            message: `certificate #${n + 1} (${v.subject}) is ${v.state === 'expired' ? `expired since ${v.notAfter.toISOString()}` : `not valid before ${v.notBefore.toISOString()}`}`,
          })
        } else if (v.state === 'expiring') {
          warnings.add({
            path,
            message: `certificate #${n + 1} (${v.subject}) expires in ${v.daysLeft} days (${v.notAfter.toISOString()})`,
          })
        }
      })
    }
    return {
      path: `tls.serverCertificates[${i}]`,
      file: pair.cert,
      certificates: certs.map((c, n) => certificateInfo(c, n + 1, now)),
      completeness: analysis.completeness,
      root: analysis.anchor ? subjectOf(analysis.anchor) : undefined,
    }
  })
}

interface CaRecord {
  info: CertificateInfo
  cert: X509Certificate
  file: string
  subjectDer: Buffer
  crls: number
}

function inspectClientCas(config: GatewayConfig, now: Date, warnings: Findings): CaRecord[] {
  const cas: CaRecord[] = []
  config.tls.clientCa.forEach((file, i) => {
    for (const cert of readCerts(file)) {
      if (cas.some((c) => c.cert.fingerprint256 === cert.fingerprint256)) continue
      const info = certificateInfo(cert, cas.length + 1, now)
      if (info.validity.state === 'expiring') {
        warnings.add({
          path: `tls.clientCa[${i}]`,
          message: `CA ${info.subject} expires in ${info.validity.daysLeft} days`,
        })
      }
      cas.push({ info, cert, file, subjectDer: certificateSubjectDer(cert.raw), crls: 0 })
    }
  })
  return cas
}

function inspectCrls(
  config: GatewayConfig,
  cas: CaRecord[],
  now: Date,
  errors: Findings,
  warnings: Findings,
): CrlSummary[] {
  const out: CrlSummary[] = []
  const enabled = config.tls.crl.enabled
  config.tls.crl.files.forEach((file, i) => {
    const path = `tls.crl.files[${i}]`
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      return // reported by the loader
    }
    for (const block of splitPem(text).filter((b) => b.label === 'X509 CRL')) {
      let crl
      try {
        crl = parseCrl(block.der)
      } catch {
        continue // reported by the loader
      }
      const ca = cas.find((c) => c.subjectDer.equals(crl.issuerDer))
      if (ca) ca.crls++
      const issuer = safeName(crl.issuerDer)
      const daysLeft = crl.nextUpdate
        ? Math.trunc((crl.nextUpdate.getTime() - now.getTime()) / DAY)
        : undefined
      const report = enabled ? errors : warnings
      if (crl.nextUpdate && crl.nextUpdate < now) {
        report.add({
          path,
          message: `the CRL of ${issuer} (${file}) expired on ${crl.nextUpdate.toISOString()} (nextUpdate): ${enabled ? "the gateway refuses that CA's clients, Thredd included, with crl_expired until a fresh CRL is loaded" : 'stale (CRL checking is off)'}`,
        })
      } else if (crl.thisUpdate > now) {
        report.add({
          path,
          message: `the CRL of ${issuer} (${file}) is not valid before ${crl.thisUpdate.toISOString()} (thisUpdate)`,
        })
      } else if (daysLeft !== undefined && daysLeft < CRL_WARNING_DAYS) {
        warnings.add({
          path,
          message: `the CRL of ${issuer} (${file}) expires in under ${CRL_WARNING_DAYS} days (${crl.nextUpdate!.toISOString()}): refresh it`,
        })
      }
      out.push({
        path,
        file,
        issuer,
        ca: ca?.info.subject,
        thisUpdate: crl.thisUpdate.toISOString(),
        nextUpdate: crl.nextUpdate?.toISOString(),
        daysLeft,
        revoked: crl.revokedSerials.size,
      })
    }
  })
  return out
}

function safeName(der: Buffer): string {
  try {
    return formatNameDer(der)
  } catch {
    return '(undecodable issuer name)'
  }
}

function inspectPins(config: GatewayConfig, cas: CaRecord[], warnings: Findings): PinSummary[] {
  const pins: PinSummary[] = []
  const { spkiSha256, certSha256 } = config.clientAuth.pins
  spkiSha256.forEach((value, i) => {
    const decoded = decodeSpkiPin(value)
    const matches = decoded ? cas.filter((c) => c.info.spkiSha256 === decoded).map((c) => c.info.subject) : []
    pins.push({ path: `clientAuth.pins.spkiSha256[${i}]`, value, decodes: decoded !== undefined, matches })
  })
  certSha256.forEach((value, i) => {
    const decoded = decodeCertPin(value)
    const matches = decoded
      ? cas
          .filter((c) => c.info.sha256.replace(/:/g, '').toLowerCase() === decoded)
          .map((c) => c.info.subject)
      : []
    pins.push({ path: `clientAuth.pins.certSha256[${i}]`, value, decodes: decoded !== undefined, matches })
  })
  for (const pin of pins) {
    if (pin.matches.length > 0) {
      warnings.add({
        path: pin.path,
        message: `matches the CA ${pin.matches.join(', ')}: pins are compared with Thredd's transport certificate itself, never its CAs, so this pin alone matches no client`,
      })
    }
  }
  return pins
}

function tlsPolicy(config: GatewayConfig, warnings: Findings): Record<string, string | number | boolean> {
  const tls = config.tls
  for (const [path, list] of [
    ['tls.ciphers', tls.ciphers],
    ['tls.ciphersuites', tls.ciphersuites],
  ] as const) {
    for (const suite of concreteSuites(list)) {
      const verdict = classifySuite(suite)
      if (verdict.level === 'weak') {
        warnings.add({
          path,
          message: `${suite} is weak (${verdict.reasons.join('; ')}); \`ehi-gateway check\` fails on it`,
        })
      }
    }
  }
  return {
    versions: `${tls.minVersion}..TLSv1.3`,
    ciphers: tls.ciphers,
    ciphersuites: tls.ciphersuites,
    groups: tls.ecdhCurves,
    rejectMode: config.clientAuth.rejectMode,
    requireClientAuthEku: config.clientAuth.requireClientAuthEku,
    crlChecking: tls.crl.enabled,
    sessionTimeoutSeconds: tls.sessionTimeoutSeconds,
    handshakeTimeoutMs: tls.handshakeTimeoutMs,
  }
}

export function renderVerifyText(report: VerifyReport): string {
  const lines: string[] = [`ehi-gateway verify-config ${report.file}`]
  const section = (title: string) => lines.push('', title)
  const cert = (c: CertificateInfo, indent: string) => {
    const v = c.validity
    const state = v.state === 'valid' ? '' : ` ${v.state.toUpperCase()}`
    lines.push(`${indent}#${c.index} ${c.subject}`)
    lines.push(
      `${indent}   issuer ${c.issuer}${c.selfSigned ? ' (self-signed)' : ''}; ${c.key}; ${c.ca ? 'CA' : 'end entity'}`,
    )
    lines.push(
      `${indent}   valid ${v.notBefore.toISOString()} .. ${v.notAfter.toISOString()} (${v.daysLeft} days left)${state}`,
    )
  }
  if (report.serverChains.length > 0) {
    section('Server certificates (what Thredd receives):')
    for (const chain of report.serverChains) {
      lines.push(`  ${chain.path}: ${chain.file}`)
      for (const c of chain.certificates) cert(c, '    ')
      const state =
        chain.completeness === 'complete'
          ? `complete, builds to ${chain.root}`
          : chain.completeness === 'leaf-only'
            ? 'LEAF ONLY: the intermediate is missing'
            : 'does not build to a trusted root'
      lines.push(`    chain: ${state}`)
    }
  }
  if (report.clientCas.length > 0) {
    section('Client CAs (tls.clientCa, who may connect):')
    for (const c of report.clientCas) {
      cert(c, '  ')
      lines.push(`     SPKI pin ${c.spkiSha256}; CRLs loaded: ${c.crls}`)
    }
  }
  if (report.crls.length > 0) {
    section('CRLs:')
    for (const c of report.crls) {
      lines.push(`  ${c.path}: ${c.file}`)
      lines.push(`    issuer ${c.issuer}${c.ca ? '' : ' (no CA of tls.clientCa)'}; ${c.revoked} revoked`)
      lines.push(
        `    thisUpdate ${c.thisUpdate}, nextUpdate ${c.nextUpdate ?? '(none)'}${c.daysLeft === undefined ? '' : ` (${c.daysLeft} days left)`}`,
      )
    }
  }
  if (report.pins.length > 0) {
    section('Pins:')
    for (const p of report.pins) {
      const match =
        p.matches.length > 0
          ? `matches CA ${p.matches.join(', ')}`
          : 'matches no certificate of tls.clientCa (expected: pins name the transport certificate)'
      lines.push(`  ${p.path}: ${p.value} ${p.decodes ? `decodes; ${match}` : 'does NOT decode'}`)
    }
  }
  if (report.allowlist.length > 0) {
    section('Source allowlist:')
    for (const a of report.allowlist) lines.push(`  ${a.entry}: ${a.ok ? 'ok' : 'INVALID'}`)
  }
  if (report.tlsPolicy) {
    section('Effective TLS policy:')
    for (const [key, value] of Object.entries(report.tlsPolicy)) lines.push(`  ${key}: ${String(value)}`)
  }
  section(`Errors (${report.errors.length}):`)
  for (const e of report.errors) lines.push(`  - ${e.path}: ${e.message}`)
  section(`Warnings (${report.warnings.length}):`)
  for (const w of report.warnings) lines.push(`  - ${w.path === 'warning' ? '' : `${w.path}: `}${w.message}`)
  lines.push(
    '',
    report.ok
      ? `configuration ${report.file} is ok${report.warnings.length ? ` (${report.warnings.length} warning${report.warnings.length > 1 ? 's' : ''})` : ''}`
      : `configuration ${report.file} test failed: ${report.errors.length} error${report.errors.length > 1 ? 's' : ''}`,
    '',
  )
  return lines.join('\n')
}
