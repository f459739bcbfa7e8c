/**
 * The bench PKI, made fresh for each run and key type (never committed): a Thredd-like client
 * chain (Root CA -> Issuing CA -> transport certificate with the clientAuth EKU), a CRL for each
 * Thredd CA, and a server chain (Root -> Issuing -> leaf for localhost / 127.0.0.1). Every key of
 * one variant is of the same type: RSA-2048 or ECDSA P-256.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PkiBuilder, type CertificateOptions } from '../../src/tools/pki/pki-builder.ts'
import type { KeyType } from './types.ts'

const DAY = 86_400_000

export interface BenchPki {
  keyType: KeyType
  dir: string
  threddRootCa: string
  threddIssuingCa: string
  /** Root + Issuing CA in one file (nginx's ssl_client_certificate). */
  threddCaBundle: string
  threddRootCrl: string
  threddIssuingCrl: string
  /** Both CRLs in one file (nginx's ssl_crl). */
  crlBundle: string
  serverChain: string
  serverKey: string
  serverRootCa: string
  clientCert: string
  clientKey: string
}

export function buildBenchPki(parent: string, keyType: KeyType, now = Date.now()): BenchPki {
  const dir = join(parent, `pki-${keyType}`)
  mkdirSync(dir, { recursive: true })
  const write = (name: string, text: string): string => {
    const file = join(dir, name)
    writeFileSync(file, text, { mode: 0o600 })
    return file
  }
  const pki = new PkiBuilder({
    key: keyType === 'rsa' ? { type: 'rsa', bits: 2048 } : { type: 'ec', curve: 'P-256' },
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 30 * DAY),
  })
  const leafUsage: CertificateOptions['keyUsage'] =
    keyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature']

  const org = { type: 'O', value: 'Thredd Bench' } as const
  const root = pki.root({ subject: [org, { type: 'CN', value: 'Bench Thredd Root CA' }] })
  const issuing = root.intermediate({
    subject: [org, { type: 'CN', value: 'Bench Thredd Issuing CA' }],
    ca: { pathLength: 0 },
  })
  const client = issuing.issue({
    subject: [org, { type: 'OU', value: 'EHI' }, { type: 'CN', value: 'thredd-ehi-transport' }],
    keyUsage: leafUsage,
    extKeyUsage: ['clientAuth'],
    san: { dns: ['ehi.thredd.bench'] },
  })
  const crlWindow = { thisUpdate: new Date(now - DAY), nextUpdate: new Date(now + 7 * DAY) }
  const rootCrl = root.crl(crlWindow).pem
  const issuingCrl = issuing.crl(crlWindow).pem

  const serverRoot = pki.root({ subject: [{ type: 'CN', value: 'Bench Server Root CA' }] })
  const serverIssuing = serverRoot.intermediate({
    subject: [{ type: 'CN', value: 'Bench Server Issuing CA' }],
    ca: { pathLength: 0 },
  })
  const serverLeaf = serverIssuing.issue({
    subject: [{ type: 'CN', value: 'localhost' }],
    keyUsage: leafUsage,
    extKeyUsage: ['serverAuth'],
    san: { dns: ['localhost'], ip: ['127.0.0.1'] },
  })

  return {
    keyType,
    dir,
    threddRootCa: write('thredd-root-ca.pem', root.pem),
    threddIssuingCa: write('thredd-issuing-ca.pem', issuing.pem),
    threddCaBundle: write('thredd-ca-bundle.pem', root.pem + issuing.pem),
    threddRootCrl: write('thredd-root-ca.crl.pem', rootCrl),
    threddIssuingCrl: write('thredd-issuing-ca.crl.pem', issuingCrl),
    crlBundle: write('thredd-crls.pem', rootCrl + issuingCrl),
    serverChain: write('server-chain.pem', serverLeaf.pem + serverIssuing.pem),
    serverKey: write('server.key', serverLeaf.keyPem),
    serverRootCa: write('server-root-ca.pem', serverRoot.pem),
    clientCert: write('client.pem', client.pem),
    clientKey: write('client.key', client.keyPem),
  }
}
