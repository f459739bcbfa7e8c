/**
 * Reads CRLs at load time. node:crypto cannot parse CRLs, so node-forge's ASN.1 reader does:
 * the gateway needs the issuer, the update window and the revoked serials to check coverage,
 * freshness and (on resumed TLS sessions, which skip OpenSSL's check) revocation itself, and the
 * CRL number to tell a newer CRL from an older one. Pure.
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
  /** The CRL number extension (RFC 5280 §5.2.3), monotonically increasing per CA; absent in v1 CRLs. */
  crlNumber: bigint | undefined
  /** Carries a delta CRL indicator (RFC 5280 §5.2.4): lists only changes since a base CRL. */
  delta: boolean
  /**
   * The Issuing Distribution Point extension (RFC 5280 §5.2.5) as hex DER, '' without one. A CA
   * that partitions its revocations publishes one CRL per scope, each with its own numbering:
   * CRLs are only ordered against CRLs of the same scope.
   */
  scope: string
  tbsDer: Buffer
  signatureAlgorithmOid: string
  signature: Buffer
}

const CRL_NUMBER_OID = '2.5.29.20'
const DELTA_CRL_INDICATOR_OID = '2.5.29.27'
const ISSUING_DISTRIBUTION_POINT_OID = '2.5.29.28'
const CRL_DISTRIBUTION_POINTS_OID = '2.5.29.31'

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
    i++
  }
  // crlExtensions [0] EXPLICIT Extensions
  const wrapper = fields[i]
  const extensions =
    wrapper?.tagClass === asn1.Class.CONTEXT_SPECIFIC && wrapper.type === 0
      ? readExtensions((wrapper.value as Asn1[])[0])
      : new Map<string, Buffer>()
  const numberDer = extensions.get(CRL_NUMBER_OID)
  const signatureValue = signatureBits.value as string
  return {
    issuerDer: Buffer.from(asn1.toDer(issuer).getBytes(), 'binary'),
    thisUpdate,
    nextUpdate,
    revokedSerials,
    crlNumber: numberDer ? readUnsignedInteger(readDer(numberDer)) : undefined,
    delta: extensions.has(DELTA_CRL_INDICATOR_OID),
    scope: extensions.get(ISSUING_DISTRIBUTION_POINT_OID)?.toString('hex') ?? '',
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

export type CrlOrder = 'newer' | 'same' | 'older'

/** What orders two CRLs of one CA. */
export type CrlOrderKey = Pick<CrlInfo, 'crlNumber' | 'thisUpdate'>

/**
 * How `candidate` compares with `current` (two CRLs of the same CA): by CRL number when both
 * carry one (RFC 5280 §5.2.3: it increases with every CRL the CA issues), otherwise by
 * thisUpdate. A CRL with the same number is the same CRL.
 */
export function compareCrls(candidate: CrlOrderKey, current: CrlOrderKey): CrlOrder {
  if (candidate.crlNumber !== undefined && current.crlNumber !== undefined) {
    if (candidate.crlNumber === current.crlNumber) return 'same'
    return candidate.crlNumber > current.crlNumber ? 'newer' : 'older'
  }
  const a = candidate.thisUpdate.getTime()
  const b = current.thisUpdate.getTime()
  return a === b ? 'same' : a > b ? 'newer' : 'older'
}

/** The newest of a CA's CRLs of one scope (the one in force), by compareCrls. */
export function newestCrl<T extends CrlOrderKey>(crls: readonly T[]): T | undefined {
  let best: T | undefined
  for (const crl of crls) if (!best || compareCrls(crl, best) === 'newer') best = crl
  return best
}

/** "CRL number 7, thisUpdate 2030-06-01T12:00:00.000Z", for messages. */
export function describeCrl(crl: CrlOrderKey): string {
  const number = crl.crlNumber === undefined ? 'no CRL number' : `CRL number ${crl.crlNumber}`
  return `${number}, thisUpdate ${crl.thisUpdate.toISOString()}`
}

/**
 * The http(s) URLs in a certificate's CRL Distribution Points extension (fullName URIs; LDAP
 * and relative names are left out). They locate the CRL that covers this certificate, which is
 * issued by the certificate's issuer.
 */
export function crlDistributionPointUrls(certDer: Buffer): string[] {
  const cert = readDer(certDer)
  const tbs = (cert.value as Asn1[])[0]!.value as Asn1[]
  const wrapper = tbs.find((node) => node.tagClass === asn1.Class.CONTEXT_SPECIFIC && node.type === 3)
  const der = wrapper
    ? readExtensions((wrapper.value as Asn1[])[0]).get(CRL_DISTRIBUTION_POINTS_OID)
    : undefined
  if (!der) return []
  const urls: string[] = []
  for (const point of readDer(der).value as Asn1[]) {
    // DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, ... }
    const name = (point.value as Asn1[]).find(
      (node) => node.tagClass === asn1.Class.CONTEXT_SPECIFIC && node.type === 0,
    )
    // DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] }
    const fullName = (name?.value as Asn1[] | undefined)?.find(
      (node) => node.tagClass === asn1.Class.CONTEXT_SPECIFIC && node.type === 0,
    )
    for (const general of (fullName?.value as Asn1[] | undefined) ?? []) {
      // GeneralName uniformResourceIdentifier [6] IA5String
      if (general.tagClass !== asn1.Class.CONTEXT_SPECIFIC || general.type !== 6) continue
      const url = general.value as string
      if (/^https?:\/\//i.test(url)) urls.push(url)
    }
  }
  return urls
}

/** Extensions ::= SEQUENCE OF Extension -> OID -> extnValue (the DER inside the OCTET STRING). */
function readExtensions(sequence: Asn1 | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (const extension of (sequence?.value as Asn1[] | undefined) ?? []) {
    const parts = extension.value as Asn1[]
    const oid = asn1.derToOid(parts[0]!.value as string)
    const value = parts[parts.length - 1]!.value as string
    out.set(oid, Buffer.from(value, 'binary'))
  }
  return out
}

function readUnsignedInteger(node: Asn1): bigint {
  if (node.type !== asn1.Type.INTEGER) throw new Error('the CRL number is not an INTEGER')
  const bytes = Buffer.from(node.value as string, 'binary')
  if (bytes.length === 0 || bytes[0]! & 0x80) throw new Error('the CRL number is negative')
  return BigInt(`0x${bytes.toString('hex')}`)
}

function readTime(node: Asn1): Date {
  const text = node.value as string
  return node.type === asn1.Type.UTCTIME ? asn1.utcTimeToDate(text) : asn1.generalizedTimeToDate(text)
}
