/**
 * In-memory certificates for unit tests, made with the project's builder at test time (never
 * committed). Status checks take `now` as an argument, so every window here is relative to a
 * fixed clock and no test depends on the wall clock.
 */
import { X509Certificate, type KeyObject } from 'node:crypto'
import {
  createCertificate,
  createCrl,
  generateKeyPair,
  type CertificateSpec,
  type HashName,
  type KeySpec,
  type NameAttribute,
} from '../../src/tools/pki/x509-builder.ts'
import { certificateSubjectDer, parseCrl } from '../../src/plane/tls/crl.ts'
import { isSelfSigned, type CaEntry, type TrustStore } from '../../src/runtime/tls-material.ts'

export const DAY = 86_400_000
/** The fixed "now" of every status check (a whole second, as certificate times are). */
export const NOW = Date.UTC(2030, 5, 1, 12, 0, 0)

export interface TestCert {
  der: Buffer
  pem: string
  cert: X509Certificate
  /** Private key of this certificate. */
  key: KeyObject
  publicKey: KeyObject
}

export type IssueOptions = Partial<Omit<CertificateSpec, 'publicKey' | 'issuer' | 'selfKey'>> & {
  keySpec?: KeySpec
  /** Absent = self-signed. */
  signer?: TestCert
  /** Signs with this key instead of the signer's own (an impostor that copies a CA's name). */
  signingKey?: KeyObject
}

/** A validity window in days relative to NOW. */
export function days(fromDays: number, toDays: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(NOW + fromDays * DAY), notAfter: new Date(NOW + toDays * DAY) }
}

export function issue(options: IssueOptions & { subject: NameAttribute[] }): TestCert {
  const { keySpec = { type: 'ec' }, signer, signingKey, ...rest } = options
  const pair = generateKeyPair(keySpec)
  const spec: CertificateSpec = { ...days(-30, 335), ...rest, publicKey: pair.publicKey }
  if (signer) spec.issuer = { certDer: signer.der, key: signingKey ?? signer.key }
  else spec.selfKey = signingKey ?? pair.privateKey
  const { der, pem } = createCertificate(spec)
  return { der, pem, cert: new X509Certificate(der), key: pair.privateKey, publicKey: pair.publicKey }
}

export function makeCa(cn: string, signer?: TestCert, options: IssueOptions = {}): TestCert {
  return issue({
    subject: [
      { type: 'O', value: 'Unit Test' },
      { type: 'CN', value: cn },
    ],
    ...days(-365, 3650),
    ca: {},
    keyUsage: ['keyCertSign', 'cRLSign'],
    ...(signer ? { signer } : {}),
    ...options,
  })
}

export const LEAF_SUBJECT: NameAttribute[] = [
  { type: 'O', value: 'Thredd Test' },
  { type: 'OU', value: 'EHI' },
  { type: 'OU', value: 'Transport' },
  { type: 'CN', value: 'thredd-ehi-transport' },
]

export function makeLeaf(signer: TestCert, options: IssueOptions = {}): TestCert {
  return issue({
    subject: LEAF_SUBJECT,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
    san: { dns: ['ehi.thredd.test'], uri: ['spiffe://thredd.test/ehi'] },
    signer,
    ...options,
  })
}

export function makeCrl(
  ca: TestCert,
  options: {
    revoked?: Buffer[]
    thisUpdate?: Date
    nextUpdate?: Date
    hash?: HashName
    key?: KeyObject
    /** Default 1; null leaves the CRL number extension out. */
    crlNumber?: number | bigint | null
    deltaOf?: number
    issuingDistributionPoint?: string
  } = {},
): Buffer {
  return createCrl({
    issuer: { certDer: ca.der, key: options.key ?? ca.key },
    thisUpdate: options.thisUpdate ?? new Date(NOW - DAY),
    nextUpdate: options.nextUpdate ?? new Date(NOW + 7 * DAY),
    revoked: (options.revoked ?? []).map((serial) => ({ serial, date: new Date(NOW - 2 * DAY) })),
    ...(options.hash ? { hash: options.hash } : {}),
    ...(options.crlNumber !== undefined ? { crlNumber: options.crlNumber } : {}),
    ...(options.deltaOf !== undefined ? { deltaOf: options.deltaOf } : {}),
    ...(options.issuingDistributionPoint
      ? { issuingDistributionPoint: options.issuingDistributionPoint }
      : {}),
  }).der
}

/** A trust-store entry as tls-material builds it, from in-memory certificates and CRLs. */
export function caEntry(ca: TestCert, crls: readonly Buffer[] = [], revoked = false): CaEntry {
  return {
    cert: ca.cert,
    file: 'memory',
    subjectDer: certificateSubjectDer(ca.der),
    selfSigned: isSelfSigned(ca.cert),
    crls: crls.map((der) => parseCrl(der)),
    revoked,
  }
}

export function trustOf(cas: CaEntry[], crlEnabled: boolean): TrustStore {
  return { cas, crlEnabled }
}

/** The serial bytes of a certificate, for CRLs that revoke it. */
export function serialOf(cert: TestCert): Buffer {
  return Buffer.from(cert.cert.serialNumber, 'hex')
}
