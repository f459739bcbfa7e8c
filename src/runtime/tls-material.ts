/**
 * Loads and validates the TLS material the config names, as a whole, before anything listens
 * (and, later, before a reload swaps it in): the server chains and keys, the client CA bundle
 * and the CRLs. Every problem is reported with the config field it belongs to.
 */
import { constants, createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createSecureContext, type SecureContextOptions } from 'node:tls'
import { hasIssueAt, hasIssueOver, type ConfigIssue } from '../config/config-issues.ts'
import type { GatewayConfig } from '../config/config-schema.ts'
import type { FileReader } from './config-snapshot.ts'
import { certificateSubjectDer, parseCrl, verifyCrlSignature, type CrlInfo } from '../plane/tls/crl.ts'
import { crlFetchEnabled, crlFetchIssues } from './rules/crl-fetch-settings.ts'
import { splitPem, toPem } from '../plane/tls/pem.ts'

/** A CRL that comes from elsewhere than tls.crl.files: fetched over HTTP or read from the cache. */
export interface ExtraCrl {
  /** PEM text with one "X509 CRL" block. */
  pem: string
  /** Where it came from, for messages: its URL, or the cache file. */
  source: string
}

export interface CaEntry {
  cert: X509Certificate
  file: string
  subjectDer: Buffer
  selfSigned: boolean
  /** CRLs issued by this CA (empty when CRL checking is off). */
  crls: CrlInfo[]
  /** Listed in its parent's CRL. */
  revoked: boolean
}

/** The client trust configuration, as data the identity checks read. */
export interface TrustStore {
  cas: CaEntry[]
  crlEnabled: boolean
}

export interface ServerChain {
  file: string
  leaf: X509Certificate
  chain: X509Certificate[]
  keyType: string
}

export interface TlsMaterial {
  /** The reloadable part of the TLS server options (certificates, keys, trust, CRLs, policy). */
  secureContextOptions: SecureContextOptions
  serverChains: ServerChain[]
  trust: TrustStore
  /** SHA-256 over the trusted CAs and CRLs: changes exactly when who may connect changes. */
  trustHash: string
  warnings: string[]
}

type TlsConfig = GatewayConfig['tls']

/**
 * `extraCrls` are CRLs fetched over HTTP (crl-refresh.ts), checked like those of tls.crl.files;
 * one whose issuer is no longer in tls.clientCa is left out with a warning. `schemaIssues`: the
 * schema's problems; what reads a field among them is not checked (and no material is made),
 * everything else is, so one run names every bad field it can. The `tls` section itself must be
 * an object.
 */
export function loadTlsMaterial(
  tls: TlsConfig,
  now = new Date(),
  extraCrls: readonly ExtraCrl[] = [],
  read: FileReader = readFromDisk,
  schemaIssues: readonly ConfigIssue[] = [],
): { material?: TlsMaterial; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = []
  const warnings: string[] = []
  const usable = (...fields: string[]) => !fields.some((field) => hasIssueAt(schemaIssues, field))

  const serverChains: ServerChain[] = []
  const certPems: string[] = []
  const keyPems: KeyObject[] = []
  // A bad pair leaves the others to check, as long as the list itself is a list.
  const pairs = hasIssueOver(schemaIssues, 'tls.serverCertificates') ? [] : tls.serverCertificates
  pairs.forEach((pair, index) => {
    if (!usable(`tls.serverCertificates[${index}]`)) return
    const loaded = loadServerPair(pair, `tls.serverCertificates[${index}]`, now, issues, warnings, read)
    if (loaded) {
      serverChains.push(loaded.chain)
      certPems.push(loaded.chain.chain.map((c) => c.toString()).join(''))
      keyPems.push(loaded.key)
    }
  })
  const keyTypes = serverChains.map((c) => c.keyType)
  if (new Set(keyTypes).size !== keyTypes.length) {
    issues.push({
      path: 'tls.serverCertificates',
      message: `holds two certificates of the same key type (${keyTypes.join(', ')}); give at most one RSA and one ECDSA`,
    })
  }

  const crlUsable = usable('tls.crl.enabled', 'tls.crl.files', 'tls.crl.fetch')
  if (crlUsable) {
    const fetchChecks = crlFetchIssues(tls.crl)
    issues.push(...fetchChecks.issues)
    warnings.push(...fetchChecks.warnings)
  }
  // With the CRL settings in doubt, the CA bundle is still checked on its own.
  const { trust, crlPems, trustHash } = usable('tls.clientCa')
    ? loadClientTrust(
        crlUsable ? tls : { clientCa: tls.clientCa, crl: { enabled: false, files: [] } },
        now,
        issues,
        warnings,
        read,
        'tls',
        { extra: extraCrls, fetching: crlUsable && crlFetchEnabled(tls.crl) },
      )
    : { trust: { cas: [], crlEnabled: false }, crlPems: [], trustHash: '' }
  const { cas } = trust

  const policy = {
    minVersion: tls.minVersion,
    maxVersion: 'TLSv1.3',
    // Node splits TLS_* names into the TLS 1.3 suite list and the rest into the TLS 1.2 list.
    ciphers: `${tls.ciphersuites}:${tls.ciphers}`,
    ecdhCurve: tls.ecdhCurves,
    honorCipherOrder: true,
    sessionTimeout: tls.sessionTimeoutSeconds,
    // Client-initiated renegotiation is a CPU-exhaustion vector and never needed by Thredd.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION | (tls.sessionTickets ? 0 : constants.SSL_OP_NO_TICKET),
  } as const
  if (usable('tls.ciphers', 'tls.ciphersuites', 'tls.ecdhCurves')) checkPolicy(tls, policy, issues)

  // Material only from settings that all passed the schema.
  if (issues.length > 0 || hasIssueAt(schemaIssues, 'tls')) return { issues }

  const secureContextOptions: SecureContextOptions = {
    ...policy,
    cert: certPems,
    key: keyPems.map((k) => k.export({ type: 'pkcs8', format: 'pem' }) as string),
    ca: cas.map((ca) => ca.cert.toString()),
    ...(tls.crl.enabled ? { crl: crlPems } : {}),
  }
  // Last check: OpenSSL must accept the whole context as built.
  try {
    createSecureContext(secureContextOptions)
  } catch (error) {
    return {
      issues: [{ path: 'tls', message: `OpenSSL refused the TLS settings: ${(error as Error).message}` }],
    }
  }

  return { issues, material: { secureContextOptions, serverChains, trust, trustHash, warnings } }
}

/** What a client trust is configured from: tls (the live trust) and candidateTrust share it. */
export interface ClientTrustConfig {
  clientCa: readonly string[]
  crl: { enabled: boolean; files: readonly string[] }
}

/**
 * Loads a client trust: the CA bundle and, when CRL checking is on, the CRLs of those CAs, with
 * every problem reported under `section` (`tls` for the live trust, `candidateTrust` for the
 * candidate). `crlPems` are the CRLs as OpenSSL takes them; `trustHash` changes exactly when
 * who the trust admits changes.
 */
export function loadClientTrust(
  config: ClientTrustConfig,
  now: Date,
  issues: ConfigIssue[],
  warnings: string[],
  read: FileReader,
  section = 'tls',
  fetched: FetchedCrls = NOT_FETCHING,
): { trust: TrustStore; crlPems: string[]; trustHash: string } {
  const cas = loadClientCas(config.clientCa, now, issues, read, section)
  const crlPems = config.crl.enabled
    ? loadCrls(config.crl.files, cas, now, issues, warnings, read, section, fetched)
    : []
  if (!config.crl.enabled && config.crl.files.length > 0) {
    warnings.push(
      `${section}.crl.files are set but ${section}.crl.enabled is false: client certificates are not checked for revocation`,
    )
  }
  const hash = createHash('sha256')
  for (const ca of cas) hash.update(ca.cert.raw)
  for (const pem of crlPems) hash.update(pem)
  hash.update(String(config.crl.enabled))
  return { trust: { cas, crlEnabled: config.crl.enabled }, crlPems, trustHash: hash.digest('hex') }
}

function loadServerPair(
  pair: { cert: string; key: string },
  path: string,
  now: Date,
  issues: ConfigIssue[],
  warnings: string[],
  read: FileReader,
): { chain: ServerChain; key: KeyObject } | undefined {
  const certs = readCertificates(pair.cert, `${path}.cert`, issues, read)
  const key = readPrivateKey(pair.key, `${path}.key`, issues, read)
  if (!certs || !key) return undefined
  const leaf = certs[0]!
  let ok = true
  if (!leaf.checkPrivateKey(key)) {
    issues.push({ path: `${path}.key`, message: `does not match the certificate in ${pair.cert}` })
    ok = false
  }
  for (let i = 0; i + 1 < certs.length; i++) {
    const child = certs[i]!
    const parent = certs[i + 1]!
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      issues.push({
        path: `${path}.cert`,
        message: `certificate #${i + 2} did not issue certificate #${i + 1}: the chain must be leaf first, then each issuer`,
      })
      ok = false
    }
  }
  if (leaf.ca) {
    issues.push({
      path: `${path}.cert`,
      message: 'the first certificate is a CA certificate, not a server certificate',
    })
    ok = false
  }
  if (leaf.validToDate < now) {
    issues.push({
      path: `${path}.cert`,
      message: `the server certificate expired on ${leaf.validToDate.toISOString()}`,
    })
    ok = false
  } else if (leaf.validFromDate > now) {
    issues.push({
      path: `${path}.cert`,
      message: `the server certificate is not valid before ${leaf.validFromDate.toISOString()}`,
    })
    ok = false
  }
  const ekus = leaf.keyUsage
  if (ekus && !ekus.includes('1.3.6.1.5.5.7.3.1')) {
    issues.push({
      path: `${path}.cert`,
      message: 'the server certificate lacks the serverAuth extended key usage',
    })
    ok = false
  }
  const last = certs[certs.length - 1]!
  if (certs.length === 1 && !isSelfSigned(last)) {
    warnings.push(
      `${path}.cert holds the leaf only: add the intermediate certificate, or clients that lack it (and SSL Labs) fail`,
    )
  }
  if (!ok) return undefined
  return { chain: { file: pair.cert, leaf, chain: certs, keyType: String(key.asymmetricKeyType) }, key }
}

export function loadClientCas(
  files: readonly string[],
  now: Date,
  issues: ConfigIssue[],
  read: FileReader = readFromDisk,
  section = 'tls',
): CaEntry[] {
  const cas: CaEntry[] = []
  const seen = new Set<string>()
  files.forEach((file, index) => {
    const path = `${section}.clientCa[${index}]`
    for (const cert of readCertificates(file, path, issues, read) ?? []) {
      if (seen.has(cert.fingerprint256)) continue
      seen.add(cert.fingerprint256)
      if (!cert.ca) {
        issues.push({
          path,
          message: `${subjectLine(cert)} is not a CA certificate (basicConstraints CA:TRUE)`,
        })
        continue
      }
      if (cert.validToDate < now) {
        issues.push({ path, message: `CA ${subjectLine(cert)} expired on ${cert.validToDate.toISOString()}` })
        continue
      }
      cas.push({
        cert,
        file,
        subjectDer: certificateSubjectDer(cert.raw),
        selfSigned: isSelfSigned(cert),
        crls: [],
        revoked: false,
      })
    }
  })
  // No partial chains: each CA must lead to a self-signed root that is in the bundle too.
  for (const ca of cas) {
    if (!ca.selfSigned && !cas.some((other) => other !== ca && issuedBy(ca.cert, other.cert))) {
      issues.push({
        path: `${section}.clientCa`,
        message: `the issuer of ${subjectLine(ca.cert)} is not in the bundle: add the root CA (partial chains are not trusted)`,
      })
    }
  }
  if (cas.length > 0 && !cas.some((ca) => ca.selfSigned)) {
    issues.push({ path: `${section}.clientCa`, message: 'holds no self-signed root CA certificate' })
  }
  return cas
}

/** CRLs fetched over HTTP (tls.crl.fetch), and whether fetching is on. */
interface FetchedCrls {
  extra: readonly ExtraCrl[]
  fetching: boolean
}
const NOT_FETCHING: FetchedCrls = { extra: [], fetching: false }

function loadCrls(
  files: readonly string[],
  cas: CaEntry[],
  now: Date,
  issues: ConfigIssue[],
  warnings: string[],
  read: FileReader,
  section = 'tls',
  fetched: FetchedCrls = NOT_FETCHING,
): string[] {
  const pems: string[] = []
  if (files.length === 0 && !fetched.fetching) {
    issues.push({
      path: `${section}.crl.files`,
      message:
        section === 'tls'
          ? 'is empty but tls.crl.enabled is true (and tls.crl.fetch is off)'
          : `is empty but ${section}.crl.enabled is true`,
    })
    return pems
  }
  const add = (der: Buffer, path: string, origin: string, fromFetch: boolean) => {
    const where = `${fromFetch ? 'from' : 'in'} ${origin}`
    let crl: CrlInfo
    try {
      crl = parseCrl(der)
    } catch (error) {
      issues.push({ path, message: `a CRL ${where} cannot be parsed: ${(error as Error).message}` })
      return
    }
    const named = cas.filter((ca) => ca.subjectDer.equals(crl.issuerDer))
    if (named.length === 0) {
      // A fetched CRL of a CA just removed from tls.clientCa is no error: it is simply not needed.
      if (fromFetch) warnings.push(`the CRL ${where} is left out: its issuer is not in ${section}.clientCa`)
      else
        issues.push({ path, message: `a CRL ${where} is issued by a CA that is not in ${section}.clientCa` })
      return
    }
    // Two CAs may share a name (a re-keyed CA next to the old one): the signature decides.
    const issuer = named.find((ca) => verifyCrlSignature(crl, ca.cert.publicKey))
    if (!issuer) {
      issues.push({
        path,
        message: `the CRL of ${subjectLine(named[0]!.cert)} ${where} has an invalid signature`,
      })
      return
    }
    if (crl.nextUpdate && crl.nextUpdate < now) {
      const expired = `the CRL of ${subjectLine(issuer.cert)} (${origin}) expired on ${crl.nextUpdate.toISOString()}`
      warnings.push(
        section === 'tls'
          ? `${expired}: its clients are refused with crl_expired until a fresh CRL is loaded`
          : `${path}: ${expired}: the candidate would refuse its clients with crl_expired`,
      )
    }
    issuer.crls.push(crl)
    pems.push(toPem(der, 'X509 CRL'))
  }
  files.forEach((file, index) => {
    const path = `${section}.crl.files[${index}]`
    const text = readText(file, path, issues, read)
    if (text === undefined) return
    const blocks = splitPem(text).filter((b) => b.label === 'X509 CRL')
    if (blocks.length === 0) issues.push({ path, message: `${file} holds no PEM "X509 CRL" block` })
    for (const block of blocks) add(block.der, path, file, false)
  })
  for (const crl of fetched.extra) {
    const blocks = splitPem(crl.pem).filter((b) => b.label === 'X509 CRL')
    if (blocks.length === 0)
      issues.push({ path: `${section}.crl.fetch`, message: `${crl.source} holds no PEM "X509 CRL" block` })
    for (const block of blocks) add(block.der, `${section}.crl.fetch`, crl.source, true)
  }
  // OpenSSL with CRL checking refuses every client whose chain has a CA without a CRL.
  for (const ca of cas) {
    if (ca.crls.length === 0) {
      issues.push({
        path: `${section}.crl.files`,
        message: fetched.fetching
          ? `no CRL for CA ${subjectLine(ca.cert)}: none in ${section}.crl.files, and none fetched (${section}.crl.fetch) or in the cache; with CRL checking on, every CA in ${section}.clientCa needs one`
          : `no CRL for CA ${subjectLine(ca.cert)}: with CRL checking on, every CA in ${section}.clientCa needs one`,
      })
    }
  }
  for (const ca of cas) {
    const parent = cas.find((other) => other !== ca && issuedBy(ca.cert, other.cert))
    if (parent?.crls.some((crl) => crl.revokedSerials.has(ca.cert.serialNumber))) ca.revoked = true
  }
  return pems
}

function checkPolicy(
  tls: TlsConfig,
  policy: { ciphers: string; ecdhCurve: string },
  issues: ConfigIssue[],
): void {
  try {
    createSecureContext({ ciphers: policy.ciphers })
  } catch {
    issues.push({
      path: 'tls.ciphers',
      message: 'OpenSSL accepts none of these cipher suites (or tls.ciphersuites)',
    })
  }
  try {
    createSecureContext({ ecdhCurve: policy.ecdhCurve })
  } catch {
    issues.push({
      path: 'tls.ecdhCurves',
      message: `OpenSSL does not know one of the groups "${tls.ecdhCurves}"`,
    })
  }
}

const readFromDisk: FileReader = (file) => readFileSync(file)

function readText(file: string, path: string, issues: ConfigIssue[], read: FileReader): string | undefined {
  try {
    return read(file).toString('utf8')
  } catch (error) {
    issues.push({
      path,
      message: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    })
    return undefined
  }
}

function readCertificates(
  file: string,
  path: string,
  issues: ConfigIssue[],
  read: FileReader,
): X509Certificate[] | undefined {
  const text = readText(file, path, issues, read)
  if (text === undefined) return undefined
  const blocks = splitPem(text).filter((b) => b.label === 'CERTIFICATE')
  if (blocks.length === 0) {
    issues.push({ path, message: `${file} holds no PEM certificate` })
    return undefined
  }
  const certs: X509Certificate[] = []
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block.der))
    } catch {
      issues.push({ path, message: `certificate #${i + 1} in ${file} cannot be parsed` })
      return undefined
    }
  }
  return certs
}

function readPrivateKey(
  file: string,
  path: string,
  issues: ConfigIssue[],
  read: FileReader,
): KeyObject | undefined {
  const text = readText(file, path, issues, read)
  if (text === undefined) return undefined
  if (/ENCRYPTED/.test(text)) {
    issues.push({
      path,
      message: `${file} holds an encrypted key; give an unencrypted key on a protected volume`,
    })
    return undefined
  }
  try {
    return createPrivateKey(text)
  } catch {
    // Never quote the file: it is key material.
    issues.push({ path, message: `${file} holds no readable PEM private key` })
    return undefined
  }
}

export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey)
}

export function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey)
}

/** One-line subject for messages: "CN=Thredd Issuing CA, O=Thredd". */
export function subjectLine(cert: X509Certificate): string {
  return cert.subject.split('\n').join(', ')
}
