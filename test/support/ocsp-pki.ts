/**
 * Certificates for OCSP tests, made at test time with the project's builder and valid around the
 * real clock (openssl's responder stamps answers with the real time): an issuing CA (the test
 * PKI's Thredd Issuing CA when given, so the leaves chain to the gateway's trust), leaves that
 * are good, revoked, on hold and unknown to the responder, the responder certificates a CA may or
 * may not authorise, and a second CA that issued a leaf with the same serial as `good`.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createCertificate,
  generateKeyPair,
  type CertificateSpec,
  type KeySpec,
  type NameAttribute,
} from '../../src/tools/pki/x509-builder.ts'
import { writeOcspIndex, type SignerFiles } from './ocsp.ts'

const DAY = 86_400_000

export interface PkiCert {
  cert: X509Certificate
  der: Buffer
  file: string
  keyFile: string
  key: KeyObject
}

export interface OcspPki {
  dir: string
  issuer: PkiCert
  good: PkiCert
  revoked: PkiCert
  onHold: PkiCert
  /** Issued by `issuer`, absent from its index: the responder answers unknown. */
  unknown: PkiCert
  /** Responder certificate issued by `issuer` with the OCSPSigning EKU. */
  delegated: PkiCert
  /** Issued by `issuer`, without the OCSPSigning EKU. */
  delegatedNoEku: PkiCert
  /** Self-signed, with the OCSPSigning EKU: not authorised by `issuer`. */
  rogue: PkiCert
  otherCa: PkiCert
  /** Issued by `otherCa` with the same serial as `good`; revoked in `otherIndex`. */
  sameSerialOtherCa: PkiCert
  index: string
  otherIndex: string
  /** Signs answers as the issuing CA itself. */
  issuerSigner: SignerFiles
  delegatedSigner: SignerFiles
  otherSigner: SignerFiles
  /** A further leaf of `issuer` (or of `otherCa`), for example with an authorityInfoAccess OCSP URL. */
  mintLeaf(name: string, options?: LeafOptions): PkiCert
}

export interface LeafOptions {
  ocspUrls?: string[]
  serial?: Buffer
  /** Issued by otherCa instead of issuer. */
  byOtherCa?: boolean
}

export function buildOcspPki(
  dir: string,
  issuing?: { certFile: string; keyFile: string },
  keySpec: KeySpec = { type: 'ec' },
): OcspPki {
  mkdirSync(dir, { recursive: true })
  const now = Date.now()
  const window = { notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) }

  const save = (name: string, der: Buffer, pem: string, key: KeyObject): PkiCert => {
    const file = join(dir, `${name}.pem`)
    const keyFile = join(dir, `${name}.key`)
    writeFileSync(file, pem)
    writeFileSync(keyFile, key.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 })
    return { cert: new X509Certificate(der), der, file, keyFile, key }
  }
  const make = (
    name: string,
    subject: NameAttribute[],
    signer: PkiCert | undefined,
    spec: Partial<CertificateSpec> = {},
  ): PkiCert => {
    const pair = generateKeyPair(keySpec)
    const full: CertificateSpec = { subject, publicKey: pair.publicKey, ...window, ...spec }
    if (signer) full.issuer = { certDer: signer.der, key: signer.key }
    else full.selfKey = pair.privateKey
    const made = createCertificate(full)
    return save(name, made.der, made.pem, pair.privateKey)
  }
  const ca = (name: string, cn: string) =>
    make(name, [{ type: 'CN', value: cn }], undefined, { ca: {}, keyUsage: ['keyCertSign', 'cRLSign'] })

  let issuer: PkiCert
  if (issuing) {
    const pem = readFileSync(issuing.certFile, 'utf8')
    const cert = new X509Certificate(pem)
    issuer = {
      cert,
      der: cert.raw,
      file: issuing.certFile,
      keyFile: issuing.keyFile,
      key: createPrivateKey(readFileSync(issuing.keyFile)),
    }
  } else issuer = ca('issuing-ca', 'OCSP Test Issuing CA')

  const leafSubject: NameAttribute[] = [
    { type: 'O', value: 'Thredd Test' },
    { type: 'CN', value: 'thredd-ehi-transport' },
  ]
  const leafSpec: Partial<CertificateSpec> = { keyUsage: ['digitalSignature'], extKeyUsage: ['clientAuth'] }
  const otherCa = ca('other-ca', 'OCSP Test Other CA')
  const mintLeaf = (name: string, { byOtherCa, ...options }: LeafOptions = {}) =>
    make(name, leafSubject, byOtherCa ? otherCa : issuer, { ...leafSpec, ...options })

  const good = mintLeaf('leaf-good')
  const revoked = mintLeaf('leaf-revoked')
  const onHold = mintLeaf('leaf-on-hold')
  const unknown = mintLeaf('leaf-unknown')
  const responder = (cn: string) => [{ type: 'CN', value: cn }] as NameAttribute[]
  const delegated = make('responder-delegated', responder('OCSP Responder'), issuer, {
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['OCSPSigning'],
  })
  const delegatedNoEku = make('responder-no-eku', responder('OCSP Responder without EKU'), issuer, {
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  })
  const rogue = make('responder-rogue', responder('Rogue OCSP Responder'), undefined, {
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['OCSPSigning'],
  })
  const sameSerialOtherCa = mintLeaf('leaf-same-serial-other-ca', {
    byOtherCa: true,
    serial: Buffer.from(good.cert.serialNumber, 'hex'),
  })

  const index = writeOcspIndex(join(dir, 'index.txt'), [
    { cert: good.cert, status: 'good' },
    { cert: revoked.cert, status: 'revoked', reason: 'keyCompromise' },
    { cert: onHold.cert, status: 'revoked', reason: 'certificateHold' },
  ])
  const otherIndex = writeOcspIndex(join(dir, 'other-index.txt'), [
    { cert: sameSerialOtherCa.cert, status: 'revoked', reason: 'keyCompromise' },
  ])
  return {
    dir,
    issuer,
    good,
    revoked,
    onHold,
    unknown,
    delegated,
    delegatedNoEku,
    rogue,
    otherCa,
    sameSerialOtherCa,
    index,
    otherIndex,
    issuerSigner: { ca: issuer.file, rsigner: issuer.file, rkey: issuer.keyFile },
    delegatedSigner: { ca: issuer.file, rsigner: delegated.file, rkey: delegated.keyFile },
    otherSigner: { ca: otherCa.file, rsigner: otherCa.file, rkey: otherCa.keyFile },
    mintLeaf,
  }
}
