/**
 * In-memory certificates for unit tests, made with the project's builder at test time (never
 * committed). Status checks take `now` as an argument, so every window here is relative to a
 * fixed clock and no test depends on the wall clock.
 */
import type { KeyObject } from 'node:crypto'
import { PkiBuilder, type CertificateOptions, type Issued } from '../../src/tools/pki/pki-builder.ts'
import type { HashName, KeySpec, NameAttribute } from '../../src/tools/pki/x509-builder.ts'
import { certificateSubjectDer, parseCrl } from '../../src/plane/tls/crl.ts'
import {
  isSelfSigned,
  type CaEntry,
  type TlsMaterial,
  type TrustStore,
} from '../../src/runtime/tls-material.ts'
import { THREDD_CLIENT, THREDD_LEAF_SUBJECT } from './test-pki.ts'

export const DAY = 86_400_000
/** The fixed "now" of every status check (a whole second, as certificate times are). */
export const NOW = Date.UTC(2030, 5, 1, 12, 0, 0)

/** A certificate with its key (der, pem, cert, key, publicKey) that can issue and sign CRLs. */
export type TestCert = Issued

export type IssueOptions = Partial<Omit<CertificateOptions, 'key'>> & {
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

const unitPki = new PkiBuilder({ key: { type: 'ec' }, ...days(-30, 335) })

export function issue(options: IssueOptions & { subject: NameAttribute[] }): TestCert {
  const { keySpec, signer, ...rest } = options
  const spec: CertificateOptions = keySpec ? { ...rest, key: keySpec } : rest
  return signer ? signer.issue(spec) : unitPki.selfSigned(spec)
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

export const LEAF_SUBJECT: NameAttribute[] = THREDD_LEAF_SUBJECT

/** A Thredd transport certificate (the test PKI's client profile) of `signer`. */
export function makeLeaf(signer: TestCert, options: IssueOptions = {}): TestCert {
  return issue({ ...THREDD_CLIENT, signer, ...options })
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
  const {
    revoked = [],
    key,
    thisUpdate = new Date(NOW - DAY),
    nextUpdate = new Date(NOW + 7 * DAY),
    ...rest
  } = options
  return ca.crl({
    ...rest,
    thisUpdate,
    nextUpdate,
    revoked: revoked.map((serial) => ({ serial, date: new Date(NOW - 2 * DAY) })),
    ...(key ? { signingKey: key } : {}),
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

/** TLS material as the readiness rules read it: a trust store and, if given, one server leaf. */
export function materialOf(trust: TrustStore, server?: TestCert): TlsMaterial {
  return {
    serverChains: server ? [{ file: 'memory', leaf: server.cert, chain: [server.cert], keyType: 'ec' }] : [],
    trust,
  } as unknown as TlsMaterial
}

/** The serial bytes of a certificate, for CRLs that revoke it. */
export function serialOf(cert: TestCert): Buffer {
  return cert.serial
}
