/**
 * Reads CRLs at load time. node:crypto cannot parse CRLs, so node-forge's ASN.1 reader does:
 * the gateway needs the issuer, the update window and the revoked serials to check coverage,
 * freshness and (on resumed TLS sessions, which skip OpenSSL's check) revocation itself.
 */
import { verify, type KeyObject } from 'node:crypto'
import forge from 'node-forge'
import { readDer } from './der.ts'

type Asn1 = forge.asn1.Asn1
const asn1 = forge.asn1

export interface CrlInfo {
  /** DER of the issuer Name, compared byte for byte with CA subjects. */
  issuerDer: Buffer
  thisUpdate: Date
  nextUpdate: Date | undefined
  /** Revoked serials as upper-case hex without leading zeros (X509Certificate.serialNumber form). */
  revokedSerials: Set<string>
  tbsDer: Buffer
  signatureAlgorithmOid: string
  signature: Buffer
}

const HASH_BY_SIGNATURE_OID: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
}

export function parseCrl(der: Buffer): CrlInfo {
  const root = readDer(der)
  const [tbs, algorithm, signatureBits] = root.value as Asn1[]
  if (!tbs || !algorithm || !signatureBits) throw new Error('not a CRL (CertificateList)')
  const fields = tbs.value as Asn1[]
  let i = 0
  // version is optional (v1 CRLs omit it)
  if (fields[i]?.type === asn1.Type.INTEGER) i++
  i++ // signature AlgorithmIdentifier
  const issuer = fields[i++]!
  const thisUpdate = readTime(fields[i++]!)
  let nextUpdate: Date | undefined
  const maybeNext = fields[i]
  if (maybeNext && (maybeNext.type === asn1.Type.UTCTIME || maybeNext.type === asn1.Type.GENERALIZEDTIME)) {
    nextUpdate = readTime(maybeNext)
    i++
  }
  const revokedSerials = new Set<string>()
  const maybeList = fields[i]
  if (maybeList && maybeList.tagClass === asn1.Class.UNIVERSAL && maybeList.type === asn1.Type.SEQUENCE) {
    for (const entry of maybeList.value as Asn1[]) {
      const serial = (entry.value as Asn1[])[0]!.value as string
      revokedSerials.add(normaliseSerial(Buffer.from(serial, 'binary').toString('hex')))
    }
  }
  const signatureValue = signatureBits.value as string
  return {
    issuerDer: Buffer.from(asn1.toDer(issuer).getBytes(), 'binary'),
    thisUpdate,
    nextUpdate,
    revokedSerials,
    tbsDer: Buffer.from(asn1.toDer(tbs).getBytes(), 'binary'),
    signatureAlgorithmOid: asn1.derToOid((algorithm.value as Asn1[])[0]!.value as string),
    // BIT STRING: the first byte counts unused bits (always 0 for signatures).
    signature: Buffer.from(signatureValue.slice(1), 'binary'),
  }
}

export function verifyCrlSignature(crl: CrlInfo, issuerKey: KeyObject): boolean {
  const hash = HASH_BY_SIGNATURE_OID[crl.signatureAlgorithmOid]
  if (!hash) return false
  try {
    return verify(hash, crl.tbsDer, issuerKey, crl.signature)
  } catch {
    return false
  }
}

/** Serial hex as node:crypto prints it: upper case, no leading zero bytes. */
export function normaliseSerial(hex: string): string {
  const upper = hex.toUpperCase().replace(/^(00)+(?=..)/, '')
  return upper.length % 2 ? `0${upper}` : upper
}

/** DER of the subject Name of a certificate (to match CRL issuers exactly). */
export function certificateSubjectDer(certDer: Buffer): Buffer {
  const cert = readDer(certDer)
  const tbs = (cert.value as Asn1[])[0]!.value as Asn1[]
  const offset = tbs[0]!.tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0
  return Buffer.from(asn1.toDer(tbs[offset + 4]!).getBytes(), 'binary')
}

function readTime(node: Asn1): Date {
  const text = node.value as string
  return node.type === asn1.Type.UTCTIME ? asn1.utcTimeToDate(text) : asn1.generalizedTimeToDate(text)
}
