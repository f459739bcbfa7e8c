/**
 * The demo PKI: a stand-in for Thredd's EHI trust chain and transport certificate, and a server
 * chain for the gateway. Generated on demand into certs/dev/ (git-ignored), never committed.
 * The file names are a contract the demo config, the checker, the bench and the tests rely on.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { createCertificate, createCrl, generateKeyPair, type NameAttribute } from './x509-builder.ts'
import { splitPem } from '../../plane/tls/pem.ts'
import { parseCrl } from '../../plane/tls/crl.ts'

export const DEV_PKI_FILES = {
  threddRootCa: 'thredd-root-ca.pem',
  threddIssuingCa: 'thredd-issuing-ca.pem',
  threddRootCrl: 'thredd-root-ca.crl.pem',
  threddIssuingCrl: 'thredd-issuing-ca.crl.pem',
  threddClientCert: 'thredd-client.pem',
  threddClientKey: 'thredd-client.key',
  serverRootCa: 'server-root-ca.pem',
  serverChain: 'server-chain.pem',
  serverKey: 'server.key',
  serverEcdsaChain: 'server-ecdsa-chain.pem',
  serverEcdsaKey: 'server-ecdsa.key',
} as const

const DAY = 86_400_000
/** Where the dev certificates say their CRLs live (never fetched: the gateway reads CRL files). */
const DEV_CRL_BASE = 'http://crl.ehi-gateway.invalid/dev'
const ORG: NameAttribute = { type: 'O', value: 'ehi-gateway dev PKI (not Thredd)' }

export interface DevPkiResult {
  dir: string
  generated: boolean
  reason: string
}

/** Generates the dev PKI when a file is missing or something expires within a week. */
export function ensureDevPki(dir: string, options: { force?: boolean; now?: Date } = {}): DevPkiResult {
  const now = options.now ?? new Date()
  const stale = options.force ? 'forced' : whyStale(dir, now)
  if (!stale) return { dir, generated: false, reason: 'up to date' }
  generateDevPki(dir, now)
  return { dir, generated: true, reason: stale }
}

function whyStale(dir: string, now: Date): string | undefined {
  for (const name of Object.values(DEV_PKI_FILES)) {
    if (!existsSync(join(dir, name))) return `${name} is missing`
  }
  const horizon = now.getTime() + 7 * DAY
  for (const name of Object.values(DEV_PKI_FILES)) {
    const text = readFileSync(join(dir, name), 'utf8')
    for (const block of splitPem(text)) {
      if (block.label === 'CERTIFICATE' && new X509Certificate(block.der).validToDate.getTime() < horizon) {
        return `${name} expires within a week`
      }
      if (block.label === 'X509 CRL') {
        const next = parseCrl(block.der).nextUpdate
        if (next && next.getTime() < now.getTime() + 2 * DAY) return `${name} is due for renewal`
      }
    }
  }
  return undefined
}

export function generateDevPki(dir: string, now = new Date()): void {
  mkdirSync(dir, { recursive: true })
  const t = now.getTime()
  const from = new Date(t - DAY)

  // Thredd side: Root -> Issuing -> transport (client) certificate, RSA as Thredd's are.
  const threddRootKey = generateKeyPair({ type: 'rsa', bits: 2048 })
  const threddRoot = createCertificate({
    subject: [{ type: 'C', value: 'GB' }, ORG, { type: 'CN', value: 'Thredd Dev Root CA - G1' }],
    publicKey: threddRootKey.publicKey,
    selfKey: threddRootKey.privateKey,
    notBefore: from,
    notAfter: new Date(t + 3650 * DAY),
    ca: {},
    keyUsage: ['keyCertSign', 'cRLSign'],
  })
  const threddIssuingKey = generateKeyPair({ type: 'rsa', bits: 2048 })
  const threddIssuing = createCertificate({
    subject: [{ type: 'C', value: 'GB' }, ORG, { type: 'CN', value: 'Thredd Dev Issuing CA - G1' }],
    publicKey: threddIssuingKey.publicKey,
    issuer: { certDer: threddRoot.der, key: threddRootKey.privateKey },
    notBefore: from,
    notAfter: new Date(t + 1825 * DAY),
    ca: { pathLength: 0 },
    keyUsage: ['keyCertSign', 'cRLSign'],
  })
  const clientKey = generateKeyPair({ type: 'rsa', bits: 2048 })
  const client = createCertificate({
    subject: [
      { type: 'C', value: 'GB' },
      ORG,
      { type: 'OU', value: 'EHI' },
      { type: 'CN', value: 'thredd-ehi-transport-dev' },
    ],
    publicKey: clientKey.publicKey,
    issuer: { certDer: threddIssuing.der, key: threddIssuingKey.privateKey },
    notBefore: from,
    notAfter: new Date(t + 397 * DAY),
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extKeyUsage: ['clientAuth'],
    crlDistributionPoints: [`${DEV_CRL_BASE}/thredd-issuing.crl`],
  })
  const crlWindow = { thisUpdate: from, nextUpdate: new Date(t + 30 * DAY) }
  const rootCrl = createCrl({
    issuer: { certDer: threddRoot.der, key: threddRootKey.privateKey },
    ...crlWindow,
  })
  const issuingCrl = createCrl({
    issuer: { certDer: threddIssuing.der, key: threddIssuingKey.privateKey },
    ...crlWindow,
  })

  // Server side: a stand-in for the public CA: Root -> Issuing -> gateway certificates.
  const serverRootKey = generateKeyPair({ type: 'rsa', bits: 2048 })
  const serverRoot = createCertificate({
    subject: [ORG, { type: 'CN', value: 'ehi-gateway Dev Server Root CA' }],
    publicKey: serverRootKey.publicKey,
    selfKey: serverRootKey.privateKey,
    notBefore: from,
    notAfter: new Date(t + 3650 * DAY),
    ca: {},
    keyUsage: ['keyCertSign', 'cRLSign'],
  })
  const serverIssuingKey = generateKeyPair({ type: 'rsa', bits: 2048 })
  const serverIssuing = createCertificate({
    subject: [ORG, { type: 'CN', value: 'ehi-gateway Dev Server Issuing CA' }],
    publicKey: serverIssuingKey.publicKey,
    issuer: { certDer: serverRoot.der, key: serverRootKey.privateKey },
    notBefore: from,
    notAfter: new Date(t + 1825 * DAY),
    ca: { pathLength: 0 },
    keyUsage: ['keyCertSign', 'cRLSign'],
    crlDistributionPoints: [`${DEV_CRL_BASE}/server-root.crl`],
  })
  const serverSan = { dns: ['localhost', 'ehi-gateway.local'], ip: ['127.0.0.1', '::1'] }
  const leafFor = (key: ReturnType<typeof generateKeyPair>) =>
    createCertificate({
      subject: [ORG, { type: 'CN', value: 'localhost' }],
      publicKey: key.publicKey,
      issuer: { certDer: serverIssuing.der, key: serverIssuingKey.privateKey },
      notBefore: from,
      notAfter: new Date(t + 397 * DAY),
      keyUsage:
        key.publicKey.asymmetricKeyType === 'rsa'
          ? ['digitalSignature', 'keyEncipherment']
          : ['digitalSignature'],
      extKeyUsage: ['serverAuth'],
      san: serverSan,
      // A public CA always names where its CRL is; scanners (testssl, SSL Labs) flag a leaf without.
      crlDistributionPoints: [`${DEV_CRL_BASE}/server-issuing.crl`],
    })
  const serverRsaKey = generateKeyPair({ type: 'rsa', bits: 2048 })
  const serverEcKey = generateKeyPair({ type: 'ec', curve: 'P-256' })

  const pem = (key: ReturnType<typeof generateKeyPair>) =>
    key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const write = (name: string, text: string, secret = false) =>
    writeFileSync(join(dir, name), text, { mode: secret ? 0o600 : 0o644 })
  write(DEV_PKI_FILES.threddRootCa, threddRoot.pem)
  write(DEV_PKI_FILES.threddIssuingCa, threddIssuing.pem)
  write(DEV_PKI_FILES.threddRootCrl, rootCrl.pem)
  write(DEV_PKI_FILES.threddIssuingCrl, issuingCrl.pem)
  write(DEV_PKI_FILES.threddClientCert, client.pem)
  write(DEV_PKI_FILES.threddClientKey, pem(clientKey), true)
  write(DEV_PKI_FILES.serverRootCa, serverRoot.pem)
  write(DEV_PKI_FILES.serverChain, leafFor(serverRsaKey).pem + serverIssuing.pem)
  write(DEV_PKI_FILES.serverKey, pem(serverRsaKey), true)
  write(DEV_PKI_FILES.serverEcdsaChain, leafFor(serverEcKey).pem + serverIssuing.pem)
  write(DEV_PKI_FILES.serverEcdsaKey, pem(serverEcKey), true)
}
