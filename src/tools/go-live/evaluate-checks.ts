/**
 * Turns probe results into check results. Pure: every decision of `ehi-gateway check` is here,
 * table-tested with hand-made probe results; the probes themselves (probes.ts) only observe.
 */
import { X509Certificate } from 'node:crypto'
import { checkServerIdentity } from 'node:tls'
import { normaliseNameText } from '../pki/rules/x509-name.ts'
import { describeKey, issuerOf, subjectOf, validityOf } from '../pki/rules/certificate-info.ts'
import { analyseChain, type ChainAnalysis } from './rules/chain-analysis.ts'
import {
  CHECKS,
  CONNECT_CHECK,
  type CheckId,
  type CheckResult,
  type CheckStatus,
  type HttpAttempt,
  type ProbeResults,
  type ServerView,
  type SuiteProbe,
} from './rules/checks.ts'
import { classifySuite } from './rules/cipher-suites.ts'
import { checkGetTransactionAnswer } from './rules/ehi-answer-shape.ts'

export interface EvaluateOptions {
  now: Date
  /** Trust anchors for the server chain: the --ca file, or the system roots. */
  anchors: readonly X509Certificate[]
  /** How to name the anchors in the evidence, e.g. "--ca server-root-ca.pem". */
  anchorsLabel: string
  /** Host name (or IP) the certificate must match. */
  hostname: string
  /** --expect-client-ca values: each must be found in the advertised CA names. */
  expectedCaNames: readonly string[]
  /** The issuer of the client certificate given with --cert, when there is one. */
  clientIssuer: { text: string; der: Buffer } | undefined
}

/** Six months: SSL Labs' minimum HSTS max-age for its best grade. */
export const HSTS_MIN_MAX_AGE = 15_768_000

export function evaluateChecks(probes: ProbeResults, options: EvaluateOptions): CheckResult[] {
  // Said once: the other checks each need a connection, so none of them was run.
  if (probes.unreachable) {
    return [
      {
        ...CONNECT_CHECK,
        required: true,
        status: 'fail',
        summary: `cannot reach the server: ${probes.unreachable}`,
        evidence: [`the other ${CHECKS.length} checks need a connection and were not run`],
      },
    ]
  }
  const notes = [...probes.viewNotes]
  const chains = probes.views.map((view) => ({ view, certs: parseCertificates(view.certificates, notes) }))
  const analyses = chains.map((c) => ({
    ...c,
    analysis: analyseChain(c.certs, options.anchors, options.now),
  }))
  return [
    protocolsLegacy(probes),
    protocolsModern(probes),
    ciphersTls12(probes),
    ciphersTls13(probes),
    chainSent(analyses, notes, options),
    chainTrusted(analyses, probes, options),
    chainExpiry(analyses, options),
    chainHostname(analyses, options),
    clientCaNames(probes, options),
    httpNoClientCert(probes.noClientCert),
    httpWithClientCert(probes.withClientCert, probes.sampleFormat),
    httpHsts(probes),
  ]
}

/** A server may send bytes that are not a certificate; they are noted, not fatal. */
function parseCertificates(ders: readonly Buffer[], notes: string[]): X509Certificate[] {
  const certs: X509Certificate[] = []
  ders.forEach((der, i) => {
    try {
      certs.push(new X509Certificate(der))
    } catch {
      notes.push(`certificate #${i + 1} sent by the server cannot be parsed (${der.length} bytes)`)
    }
  })
  return certs
}

/** True when every required check passed (a warning passes). */
export function allRequiredPass(results: readonly CheckResult[]): boolean {
  return results.every((r) => !r.required || r.status === 'pass' || r.status === 'warn')
}

function result(
  id: CheckId,
  status: CheckStatus,
  summary: string,
  evidence: string[],
  required = true,
): CheckResult {
  const title = CHECKS.find((c) => c.id === id)!.title
  return { id, title, required, status, summary, evidence }
}

const VERSION_LABEL: Record<string, string> = {
  TLSv1: 'TLS 1.0',
  'TLSv1.1': 'TLS 1.1',
  'TLSv1.2': 'TLS 1.2',
  'TLSv1.3': 'TLS 1.3',
}

function protocolsLegacy(probes: ProbeResults): CheckResult {
  const legacy = probes.protocols.filter((p) => p.version === 'TLSv1' || p.version === 'TLSv1.1')
  const evidence = legacy.map((p) =>
    p.result.ok
      ? `${VERSION_LABEL[p.version]}: ACCEPTED (${p.result.cipher})`
      : p.result.local
        ? `${VERSION_LABEL[p.version]}: not tested, this client cannot offer it (${p.result.code})`
        : `${VERSION_LABEL[p.version]}: refused (${p.result.code})`,
  )
  const accepted = legacy.filter((p) => p.result.ok).map((p) => VERSION_LABEL[p.version]!)
  if (accepted.length > 0)
    return result('protocols.legacy', 'fail', `${accepted.join(' and ')} accepted`, evidence)
  if (legacy.some((p) => !p.result.ok && p.result.local)) {
    return result('protocols.legacy', 'skip', 'could not offer every legacy version', evidence)
  }
  return result('protocols.legacy', 'pass', 'TLS 1.0 and 1.1 refused', evidence)
}

function protocolsModern(probes: ProbeResults): CheckResult {
  const modern = probes.protocols.filter((p) => p.version === 'TLSv1.2' || p.version === 'TLSv1.3')
  const evidence = modern.map((p) =>
    p.result.ok
      ? `${VERSION_LABEL[p.version]}: offered (${p.result.cipher})`
      : `${VERSION_LABEL[p.version]}: NOT offered (${p.result.code})`,
  )
  const missing = modern.filter((p) => !p.result.ok).map((p) => VERSION_LABEL[p.version]!)
  if (missing.length > 0)
    return result('protocols.modern', 'fail', `${missing.join(' and ')} not offered`, evidence)
  return result('protocols.modern', 'pass', 'TLS 1.2 and 1.3 offered', evidence)
}

function offered(probes: ProbeResults, version: 'TLSv1.2' | 'TLSv1.3'): boolean {
  return probes.protocols.some((p) => p.version === version && p.result.ok)
}

function suiteCheck(
  id: 'ciphers.tls12' | 'ciphers.tls13',
  suites: SuiteProbe[],
  isOffered: boolean,
): CheckResult {
  const label = id === 'ciphers.tls12' ? 'TLS 1.2' : 'TLS 1.3'
  if (!isOffered) return result(id, 'skip', `${label} not offered`, [], false)
  const accepted = suites.filter((s) => s.result.ok).map((s) => classifySuite(s.suite))
  const notProbed = suites.filter((s) => !s.result.ok && s.result.local).map((s) => s.suite)
  const evidence = accepted.map(
    (v) =>
      `accepted ${v.name}: ${v.level === 'ok' ? 'ok' : `${v.level.toUpperCase()}, ${v.reasons.join('; ')}`}`,
  )
  evidence.push(
    `refused: ${suites.filter((s) => !s.result.ok && !s.result.local).length} other suites probed`,
  )
  if (notProbed.length > 0) {
    evidence.push(
      `not probed, this Node.js/OpenSSL cannot offer them (use testssl.sh or sslscan): ${notProbed.join(' ')}`,
    )
  }
  const weak = accepted.filter((v) => v.level === 'weak')
  if (accepted.length === 0) return result(id, 'fail', `no ${label} suite accepted of those probed`, evidence)
  if (weak.length > 0) {
    const kinds = new Set<string>()
    for (const v of weak) {
      if (!v.forwardSecret) kinds.add('non-forward-secret')
      if (v.reasons.some((r) => r.startsWith('CBC'))) kinds.add('CBC')
      if (v.reasons.some((r) => !r.startsWith('CBC') && !r.includes('forward secrecy'))) kinds.add('weak')
    }
    return result(id, 'fail', `${weak.length} weak suite(s) accepted (${[...kinds].join(', ')})`, evidence)
  }
  const warn = accepted.filter((v) => v.level === 'warn')
  if (warn.length > 0)
    return result(
      id,
      'warn',
      `${accepted.length} suites; ${warn.length} not in the recommended set`,
      evidence,
    )
  return result(id, 'pass', `${accepted.length} suites, all forward secret AEAD`, evidence)
}

function ciphersTls12(probes: ProbeResults): CheckResult {
  return suiteCheck('ciphers.tls12', probes.tls12Suites, offered(probes, 'TLSv1.2'))
}

function ciphersTls13(probes: ProbeResults): CheckResult {
  return suiteCheck('ciphers.tls13', probes.tls13Suites, offered(probes, 'TLSv1.3'))
}

interface AnalysedView {
  view: ServerView
  certs: X509Certificate[]
  analysis: ChainAnalysis
}

function viewLabel(view: ServerView): string {
  if (view.source === 'tls1.2') return `${view.auth === 'ecdsa' ? 'ECDSA' : 'RSA'} certificate (TLS 1.2)`
  return view.source === 'openssl' ? 'certificate (TLS 1.3, via openssl s_client)' : 'certificate (node:tls)'
}

function chainSent(analyses: AnalysedView[], notes: string[], options: EvaluateOptions): CheckResult {
  if (analyses.length === 0) {
    return result('chain.sent', 'fail', 'could not read the chain the server sends', [...notes])
  }
  const evidence: string[] = [...notes]
  const failures: string[] = []
  const warnings: string[] = []
  for (const { view, certs, analysis } of analyses) {
    evidence.push(`${viewLabel(view)}: ${certs.length} certificate(s) sent`)
    certs.forEach((cert, i) => evidence.push(`  #${i + 1} ${subjectOf(cert)} (issuer: ${issuerOf(cert)})`))
    if (view.source === 'node')
      evidence.push('  (read through node:tls: the order as sent cannot be checked)')
    if (analysis.completeness === 'leaf-only') {
      failures.push('only the leaf certificate is sent: the intermediate is missing')
    } else if (analysis.completeness === 'incomplete') {
      const top = certs[certs.length - 1]!
      warnings.push(
        `the chain ends at ${subjectOf(top)}, whose issuer (${issuerOf(top)}) is not in ${options.anchorsLabel}: an intermediate may be missing`,
      )
    }
    if (!analysis.inOrder && view.source !== 'node')
      failures.push(...analysis.orderProblems.map((p) => `wrong order: ${p}`))
    if (analysis.rootSent) evidence.push('  the root is sent too (unnecessary, harmless)')
  }
  evidence.push(...failures.map((f) => `FAIL: ${f}`), ...warnings.map((w) => `WARN: ${w}`))
  if (failures.length > 0) return result('chain.sent', 'fail', failures[0]!, evidence)
  if (warnings.length > 0) return result('chain.sent', 'warn', 'chain may be incomplete', evidence)
  return result('chain.sent', 'pass', 'leaf and intermediate(s) sent, each issued by the next', evidence)
}

function chainTrusted(analyses: AnalysedView[], probes: ProbeResults, options: EvaluateOptions): CheckResult {
  const evidence: string[] = [`trust anchors: ${options.anchorsLabel}`]
  let failed = false
  for (const { view, analysis } of analyses) {
    evidence.push(`${viewLabel(view)}:`)
    for (const d of analysis.depths) {
      evidence.push(
        `  depth=${d.depth} ${d.subject}${d.from === 'trust anchor' ? ' (trust anchor)' : ''}: ${d.ok ? 'verify return:1' : `verify error: ${d.error}`}`,
      )
      if (!d.ok) failed = true
    }
  }
  if (probes.verification) {
    evidence.push(
      `Node.js/OpenSSL verification: ${probes.verification.authorized ? 'ok' : `FAILED (${probes.verification.error})`}`,
    )
    if (!probes.verification.authorized) failed = true
  }
  if (analyses.length === 0 && !probes.verification) {
    return result('chain.trusted', 'fail', 'could not read the chain', [...evidence, ...probes.viewNotes])
  }
  if (failed)
    return result('chain.trusted', 'fail', `does not verify against ${options.anchorsLabel}`, evidence)
  return result('chain.trusted', 'pass', 'verify return:1 at every depth', evidence)
}

function chainExpiry(analyses: AnalysedView[], options: EvaluateOptions): CheckResult {
  const seen = new Set<string>()
  const evidence: string[] = []
  let status: CheckStatus = 'pass'
  let summary = ''
  for (const { certs, analysis } of analyses) {
    for (const cert of analysis.anchor ? [...certs, analysis.anchor] : certs) {
      if (seen.has(cert.fingerprint256)) continue
      seen.add(cert.fingerprint256)
      const v = validityOf(cert, options.now)
      const until = v.notAfter.toISOString().slice(0, 10)
      const name = `${v.subject} (${describeKey(cert)})`
      if (v.state === 'expired' || v.state === 'not-yet-valid') {
        if (status !== 'fail')
          summary = `${v.subject} ${v.state === 'expired' ? 'has expired' : 'is not yet valid'}`
        status = 'fail'
        evidence.push(
          `${name}: ${v.state === 'expired' ? `EXPIRED on ${until}` : `NOT YET VALID (from ${v.notBefore.toISOString().slice(0, 10)})`}`,
        )
      } else {
        if (v.state === 'expiring' && status === 'pass') {
          status = 'warn'
          summary = `${v.subject} expires in ${v.daysLeft} days`
        }
        evidence.push(
          `${name}: valid until ${until} (${v.daysLeft} days left)${v.state === 'expiring' ? ' WARN: under 30 days' : ''}`,
        )
      }
    }
  }
  if (seen.size === 0) return result('chain.expiry', 'fail', 'no certificate to check', [])
  return result('chain.expiry', status, summary || 'every certificate valid for 30 days or more', evidence)
}

function chainHostname(analyses: AnalysedView[], options: EvaluateOptions): CheckResult {
  const leaves = new Map<string, X509Certificate>()
  for (const { certs } of analyses) if (certs[0]) leaves.set(certs[0].fingerprint256, certs[0])
  if (leaves.size === 0) return result('chain.hostname', 'fail', 'no certificate to check', [])
  const evidence: string[] = []
  let failed = false
  for (const leaf of leaves.values()) {
    const error = checkServerIdentity(options.hostname, leaf.toLegacyObject())
    const names = leaf.subjectAltName ?? '(no subjectAltName)'
    if (error) failed = true
    evidence.push(
      `${subjectOf(leaf)} (${describeKey(leaf)}) [${names}]: ${error ? `does NOT match ${options.hostname}` : `matches ${options.hostname}`}`,
    )
  }
  return failed
    ? result('chain.hostname', 'fail', `certificate does not match ${options.hostname}`, evidence)
    : result('chain.hostname', 'pass', `matches ${options.hostname}`, evidence)
}

function clientCaNames(probes: ProbeResults, options: EvaluateOptions): CheckResult {
  const view = probes.views.find((v) => v.certificateRequested !== undefined)
  if (!view) {
    return result('client-ca.names', 'skip', 'could not read the CertificateRequest', [...probes.viewNotes])
  }
  const evidence = view.caNames.map((n) => `advertised: ${n}`)
  if (!view.certificateRequested) {
    return result('client-ca.names', 'fail', 'the server does not ask for a client certificate', [
      'no CertificateRequest in the handshake: the server does not ask for a client certificate',
    ])
  }
  const missing: string[] = []
  const names = view.caNames.map(normaliseNameText)
  for (const expected of options.expectedCaNames) {
    const want = normaliseNameText(expected)
    const found = names.some((n) => n.includes(want))
    evidence.push(`expected ${JSON.stringify(expected)}: ${found ? 'found' : 'MISSING'}`)
    if (!found) missing.push(expected)
  }
  if (options.expectedCaNames.length === 0 && options.clientIssuer) {
    const issuer = options.clientIssuer
    const found = view.caNamesDer
      ? view.caNamesDer.some((der) => der.equals(issuer.der))
      : names.includes(normaliseNameText(issuer.text))
    evidence.push(`issuer of the client certificate (${issuer.text}): ${found ? 'found' : 'MISSING'}`)
    if (!found) missing.push(issuer.text)
  }
  if (missing.length > 0) {
    return result('client-ca.names', 'fail', `missing: ${missing.join('; ')}`, evidence)
  }
  if (view.caNames.length === 0) {
    evidence.push(
      'the server asks for a client certificate but names no CA (Thredd: not necessarily a failure)',
    )
    return result('client-ca.names', 'warn', 'no CA names sent', evidence)
  }
  return result('client-ca.names', 'pass', `${view.caNames.length} CA name(s) advertised`, evidence)
}

function describeAnswer(attempt: HttpAttempt): string {
  if (!attempt.ok) return `no HTTP answer (${attempt.code}: ${attempt.message})`
  const reason = attempt.headers['x-ehi-gateway-reason']
  const excerpt = attempt.body.replace(/\s+/g, ' ').trim().slice(0, 160)
  return `HTTP ${attempt.status}${reason ? ` (reason ${String(reason)})` : ''}: ${excerpt || '(empty body)'}`
}

function httpNoClientCert(attempt: HttpAttempt): CheckResult {
  const evidence = [describeAnswer(attempt)]
  if (!attempt.ok) {
    evidence.push('Thredd expects an HTTP 400 or 403, not a closed connection (clientAuth.rejectMode: http)')
    return result('http.no-client-cert', 'fail', 'no HTTP answer', evidence)
  }
  if (attempt.status === 400 || attempt.status === 403) {
    return result('http.no-client-cert', 'pass', `refused with ${attempt.status}`, evidence)
  }
  const why = attempt.status >= 200 && attempt.status < 300 ? ': the client certificate is optional' : ''
  return result('http.no-client-cert', 'fail', `got ${attempt.status}, not 400/403${why}`, evidence)
}

function httpWithClientCert(attempt: HttpAttempt | undefined, format: 'xml' | 'json'): CheckResult {
  if (!attempt) {
    return result(
      'http.with-client-cert',
      'skip',
      'no --cert/--key given',
      ['give --cert and --key to run it'],
      false,
    )
  }
  const evidence = [describeAnswer(attempt)]
  if (!attempt.ok) return result('http.with-client-cert', 'fail', 'no HTTP answer', evidence)
  if (attempt.status !== 200)
    return result('http.with-client-cert', 'fail', `got ${attempt.status}, not 200`, evidence)
  const shape = checkGetTransactionAnswer(attempt.body, format)
  evidence.push(
    `EHI answer (${shape.format}): ${shape.ok ? 'well-formed' : 'NOT well-formed'}, ${shape.detail}`,
  )
  if (!shape.ok)
    return result('http.with-client-cert', 'fail', `200 but not an EHI answer: ${shape.detail}`, evidence)
  return result('http.with-client-cert', 'pass', `200, GetTransactionResult with ${shape.detail}`, evidence)
}

export function parseHsts(value: string): { maxAge: number | undefined; includeSubDomains: boolean } {
  const directives = value.split(';').map((d) => d.trim().toLowerCase())
  const maxAge = directives.map((d) => /^max-age\s*=\s*"?(\d+)"?$/.exec(d)).find(Boolean)
  return {
    maxAge: maxAge ? Number(maxAge[1]) : undefined,
    includeSubDomains: directives.includes('includesubdomains'),
  }
}

function httpHsts(probes: ProbeResults): CheckResult {
  const answers = [
    { label: 'answer without a client certificate', attempt: probes.noClientCert },
    { label: 'answer with the client certificate', attempt: probes.withClientCert },
  ].filter((a): a is { label: string; attempt: HttpAttempt & { ok: true } } => a.attempt?.ok === true)
  if (answers.length === 0) return result('http.hsts', 'fail', 'no HTTP answer to inspect', [])
  const evidence: string[] = []
  let status: CheckStatus = 'pass'
  for (const { label, attempt } of answers) {
    const raw = attempt.headers['strict-transport-security']
    const value = Array.isArray(raw) ? raw[0] : raw
    if (!value) {
      status = 'fail'
      evidence.push(`${label} (HTTP ${attempt.status}): no strict-transport-security header`)
      continue
    }
    const { maxAge } = parseHsts(value)
    if (!maxAge) {
      status = 'fail'
      evidence.push(`${label}: strict-transport-security: ${value} (no positive max-age)`)
    } else if (maxAge < HSTS_MIN_MAX_AGE) {
      if (status === 'pass') status = 'warn'
      evidence.push(`${label}: strict-transport-security: ${value} (max-age under 6 months)`)
    } else {
      evidence.push(`${label}: strict-transport-security: ${value}`)
    }
  }
  const summary =
    status === 'fail'
      ? 'HSTS header missing or invalid'
      : status === 'warn'
        ? 'HSTS max-age under 6 months'
        : 'HSTS on every answer'
  return result('http.hsts', status, summary, evidence)
}
