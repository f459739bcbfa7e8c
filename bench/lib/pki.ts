/**
 * The bench PKI, made fresh for each run and key type (never committed): a Thredd-like client
 * chain (Root CA -> Issuing CA -> transport certificate with the clientAuth EKU), a CRL for each
 * Thredd CA, and a server chain (Root -> Issuing -> leaf for localhost / 127.0.0.1). Every key of
 * one variant is of the same type: RSA-2048 or ECDSA P-256.
 */
import type { KeyObject } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createCertificate,
  createCrl,
  generateKeyPair,
  type CertificateSpec,
  type KeySpec,
  type NameAttribute,
} from '../../src/tools/pki/x509-builder.ts'
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

interface Ca {
  der: Buffer
  pem: string
  key: KeyObject
}

export function buildBenchPki(parent: string, keyType: KeyType, now = Date.now()): BenchPki {
  const dir = join(parent, `pki-${keyType}`)
  mkdirSync(dir, { recursive: true })
  const write = (name: string, text: string): string => {
    const file = join(dir, name)
    writeFileSync(file, text, { mode: 0o600 })
    return file
  }
  const keySpec: KeySpec = keyType === 'rsa' ? { type: 'rsa', bits: 2048 } : { type: 'ec', curve: 'P-256' }
  const window = { notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) }
  const keyPem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string
  const makeCa = (subject: NameAttribute[], issuer?: Ca, pathLength?: number): Ca => {
    const key = generateKeyPair(keySpec)
    const spec: CertificateSpec = {
      subject,
      publicKey: key.publicKey,
      ...window,
      ca: pathLength === undefined ? {} : { pathLength },
      keyUsage: ['keyCertSign', 'cRLSign'],
    }
    if (issuer) spec.issuer = { certDer: issuer.der, key: issuer.key }
    else spec.selfKey = key.privateKey
    const cert = createCertificate(spec)
    return { der: cert.der, pem: cert.pem, key: key.privateKey }
  }
  const leafUsage: CertificateSpec['keyUsage'] =
    keyType === 'rsa' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature']

  const org = { type: 'O', value: 'Thredd Bench' } as const
  const root = makeCa([org, { type: 'CN', value: 'Bench Thredd Root CA' }])
  const issuing = makeCa([org, { type: 'CN', value: 'Bench Thredd Issuing CA' }], root, 0)
  const clientKey = generateKeyPair(keySpec)
  const client = createCertificate({
    subject: [org, { type: 'OU', value: 'EHI' }, { type: 'CN', value: 'thredd-ehi-transport' }],
    publicKey: clientKey.publicKey,
    issuer: { certDer: issuing.der, key: issuing.key },
    ...window,
    keyUsage: leafUsage,
    extKeyUsage: ['clientAuth'],
    san: { dns: ['ehi.thredd.bench'] },
  })
  const crl = (ca: Ca) =>
    createCrl({
      issuer: { certDer: ca.der, key: ca.key },
      thisUpdate: new Date(now - DAY),
      nextUpdate: new Date(now + 7 * DAY),
    }).pem
  const rootCrl = crl(root)
  const issuingCrl = crl(issuing)

  const serverRoot = makeCa([{ type: 'CN', value: 'Bench Server Root CA' }])
  const serverIssuing = makeCa([{ type: 'CN', value: 'Bench Server Issuing CA' }], serverRoot, 0)
  const serverKey = generateKeyPair(keySpec)
  const serverLeaf = createCertificate({
    subject: [{ type: 'CN', value: 'localhost' }],
    publicKey: serverKey.publicKey,
    issuer: { certDer: serverIssuing.der, key: serverIssuing.key },
    ...window,
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
    serverKey: write('server.key', keyPem(serverKey.privateKey)),
    serverRootCa: write('server-root-ca.pem', serverRoot.pem),
    clientCert: write('client.pem', client.pem),
    clientKey: write('client.key', keyPem(clientKey.privateKey)),
  }
}
