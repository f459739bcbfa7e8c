/**
 * The demo PKI: a stand-in for Thredd's EHI trust chain and transport certificate, and a server
 * chain for the gateway. Generated on demand into certs/dev/ (git-ignored), never committed.
 * The file names are a contract the demo config, the checker, the bench and the tests rely on.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { PkiBuilder, type Issued } from './pki-builder.ts'
import type { NameAttribute } from './x509-builder.ts'
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
  // RSA, as Thredd's and most public CAs' keys are; CAs live longer than the leaves' 397 days.
  const pki = new PkiBuilder({
    key: { type: 'rsa', bits: 2048 },
    notBefore: from,
    notAfter: new Date(t + 397 * DAY),
  })
  const rootWindow = { notAfter: new Date(t + 3650 * DAY) }
  const issuingWindow = { notAfter: new Date(t + 1825 * DAY) }

  // Thredd side: Root -> Issuing -> transport (client) certificate.
  const threddRoot = pki.root({
    subject: [{ type: 'C', value: 'GB' }, ORG, { type: 'CN', value: 'Thredd Dev Root CA - G1' }],
    ...rootWindow,
  })
  const threddIssuing = threddRoot.intermediate({
    subject: [{ type: 'C', value: 'GB' }, ORG, { type: 'CN', value: 'Thredd Dev Issuing CA - G1' }],
    ...issuingWindow,
    ca: { pathLength: 0 },
  })
  const client = threddIssuing.issue({
    subject: [
      { type: 'C', value: 'GB' },
      ORG,
      { type: 'OU', value: 'EHI' },
      { type: 'CN', value: 'thredd-ehi-transport-dev' },
    ],
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extKeyUsage: ['clientAuth'],
    crlDistributionPoints: [`${DEV_CRL_BASE}/thredd-issuing.crl`],
  })
  const crlWindow = { thisUpdate: from, nextUpdate: new Date(t + 30 * DAY) }
  const rootCrl = threddRoot.crl(crlWindow)
  const issuingCrl = threddIssuing.crl(crlWindow)

  // Server side: a stand-in for the public CA: Root -> Issuing -> gateway certificates.
  const serverRoot = pki.root({
    subject: [ORG, { type: 'CN', value: 'ehi-gateway Dev Server Root CA' }],
    ...rootWindow,
  })
  const serverIssuing = serverRoot.intermediate({
    subject: [ORG, { type: 'CN', value: 'ehi-gateway Dev Server Issuing CA' }],
    ...issuingWindow,
    ca: { pathLength: 0 },
    crlDistributionPoints: [`${DEV_CRL_BASE}/server-root.crl`],
  })
  const leafFor = (key: 'rsa' | 'ec') =>
    serverIssuing.issue({
      subject: [ORG, { type: 'CN', value: 'localhost' }],
      key: key === 'rsa' ? { type: 'rsa', bits: 2048 } : { type: 'ec', curve: 'P-256' },
      keyUsage: key === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature'],
      extKeyUsage: ['serverAuth'],
      san: { dns: ['localhost', 'ehi-gateway.local'], ip: ['127.0.0.1', '::1'] },
      // A public CA always names where its CRL is; scanners (testssl, SSL Labs) flag a leaf without.
      crlDistributionPoints: [`${DEV_CRL_BASE}/server-issuing.crl`],
    })
  const serverRsa = leafFor('rsa')
  const serverEc = leafFor('ec')

  const write = (name: string, text: string, secret = false) =>
    writeFileSync(join(dir, name), text, { mode: secret ? 0o600 : 0o644 })
  const chain = (leaf: Issued) => leaf.pem + serverIssuing.pem
  write(DEV_PKI_FILES.threddRootCa, threddRoot.pem)
  write(DEV_PKI_FILES.threddIssuingCa, threddIssuing.pem)
  write(DEV_PKI_FILES.threddRootCrl, rootCrl.pem)
  write(DEV_PKI_FILES.threddIssuingCrl, issuingCrl.pem)
  write(DEV_PKI_FILES.threddClientCert, client.pem)
  write(DEV_PKI_FILES.threddClientKey, client.keyPem, true)
  write(DEV_PKI_FILES.serverRootCa, serverRoot.pem)
  write(DEV_PKI_FILES.serverChain, chain(serverRsa))
  write(DEV_PKI_FILES.serverKey, serverRsa.keyPem, true)
  write(DEV_PKI_FILES.serverEcdsaChain, chain(serverEc))
  write(DEV_PKI_FILES.serverEcdsaKey, serverEc.keyPem, true)
}
