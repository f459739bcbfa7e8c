/**
 * One certificate described for people and for the config: names, key, validity, and the pin
 * and fingerprint values `clientAuth.pins` takes. Pure.
 */
import { createHash, type X509Certificate } from 'node:crypto'

const DAY = 86_400_000

/** Certificates expiring sooner than this get a warning. */
export const EXPIRY_WARNING_DAYS = 30

export interface Validity {
  subject: string
  notBefore: Date
  notAfter: Date
  daysLeft: number
  state: 'valid' | 'expiring' | 'expired' | 'not-yet-valid'
}

export interface CertificateInfo {
  index: number
  subject: string
  issuer: string
  serial: string
  key: string
  validity: Validity
  ca: boolean
  selfSigned: boolean
  subjectAltName: string | undefined
  /** Base64 SHA-256 of the SubjectPublicKeyInfo: the `clientAuth.pins.spkiSha256` format. */
  spkiSha256: string
  /** SHA-256 fingerprint, colon-separated hex: the `clientAuth.pins.certSha256` format. */
  sha256: string
}

export function subjectOf(cert: X509Certificate): string {
  return cert.subject.split('\n').join(', ')
}

export function issuerOf(cert: X509Certificate): string {
  return cert.issuer.split('\n').join(', ')
}

export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && verifies(cert, cert)
}

export function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && verifies(child, parent)
}

function verifies(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.verify(parent.publicKey)
  } catch {
    return false
  }
}

export function validityOf(cert: X509Certificate, now: Date, warnDays = EXPIRY_WARNING_DAYS): Validity {
  const daysLeft = Math.trunc((cert.validToDate.getTime() - now.getTime()) / DAY)
  let state: Validity['state'] = 'valid'
  if (cert.validFromDate > now) state = 'not-yet-valid'
  else if (cert.validToDate < now) state = 'expired'
  else if (daysLeft < warnDays) state = 'expiring'
  return {
    subject: subjectOf(cert),
    notBefore: cert.validFromDate,
    notAfter: cert.validToDate,
    daysLeft,
    state,
  }
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }

/** "RSA 2048", "EC P-256", "ED25519". */
export function describeKey(cert: X509Certificate): string {
  const key = cert.publicKey
  const details = key.asymmetricKeyDetails ?? {}
  if (key.asymmetricKeyType === 'rsa') return `RSA ${details.modulusLength ?? '?'}`
  if (key.asymmetricKeyType === 'ec')
    return `EC ${CURVES[details.namedCurve ?? ''] ?? details.namedCurve ?? '?'}`
  return String(key.asymmetricKeyType ?? 'unknown').toUpperCase()
}

export function spkiPin(cert: X509Certificate): string {
  return createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64')
}

export function certificateInfo(cert: X509Certificate, index: number, now: Date): CertificateInfo {
  return {
    index,
    subject: subjectOf(cert),
    issuer: issuerOf(cert),
    serial: cert.serialNumber,
    key: describeKey(cert),
    validity: validityOf(cert, now),
    ca: cert.ca,
    selfSigned: isSelfSigned(cert),
    subjectAltName: cert.subjectAltName,
    spkiSha256: spkiPin(cert),
    sha256: cert.fingerprint256,
  }
}
