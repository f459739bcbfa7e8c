/**
 * Builds X.509 certificates and CRLs for the dev and test PKI.
 *
 * node-forge's certificate API only handles RSA keys, so we use its ASN.1/DER layer to
 * encode the structures and node:crypto to make keys and signatures. That gives one code
 * path for RSA and ECDSA certificates, CRLs (which forge cannot make at all) and, later, CSRs.
 * Never used at run time on the request path.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto'
import { isIP } from 'node:net'
import forge from 'node-forge'
import { readDer } from '../../plane/tls/der.ts'

const asn1 = forge.asn1
type Asn1 = forge.asn1.Asn1
const { UNIVERSAL, CONTEXT_SPECIFIC } = asn1.Class
const T = asn1.Type

export type KeySpec = { type: 'rsa'; bits?: number } | { type: 'ec'; curve?: 'P-256' | 'P-384' }
export type HashName = 'sha256' | 'sha384' | 'sha1'

export interface NameAttribute {
  /** Short name: CN, O, OU, C, L, ST, emailAddress, serialNumber. */
  type: keyof typeof NAME_OIDS
  value: string
}

export interface SubjectAltNames {
  dns?: string[]
  ip?: string[]
  uri?: string[]
  email?: string[]
}

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'

export interface Issuer {
  /** DER of the issuer certificate (its subject and key identifier are copied). */
  certDer: Buffer
  key: KeyObject
}

export interface CertificateSpec {
  subject: NameAttribute[]
  publicKey: KeyObject
  /** Absent = self-signed with `selfKey`. */
  issuer?: Issuer
  /** Private key of a self-signed certificate. */
  selfKey?: KeyObject
  notBefore: Date
  notAfter: Date
  serial?: Buffer
  /** `false` or absent = end entity. */
  ca?: false | { pathLength?: number }
  /** Write basicConstraints CA:false on end-entity certificates (default true). */
  basicConstraintsOnLeaf?: boolean
  keyUsage?: KeyUsageName[]
  extKeyUsage?: (keyof typeof EKU_OIDS)[]
  san?: SubjectAltNames
  crlDistributionPoints?: string[]
  /** OCSP responder URLs, written to the authorityInfoAccess extension (RFC 5280 §4.2.2.1). */
  ocspUrls?: string[]
  hash?: HashName
}

export interface RevokedEntry {
  serial: Buffer
  date: Date
}

export interface CrlSpec {
  issuer: Issuer
  thisUpdate: Date
  nextUpdate: Date
  revoked?: RevokedEntry[]
  /** The CRL number extension (default 1); null leaves the extension out (as a v1-style CRL would). */
  crlNumber?: number | bigint | null
  /** Adds a delta CRL indicator naming this base CRL number. */
  deltaOf?: number
  /** Adds an Issuing Distribution Point naming this URL (a partitioned CRL's scope). */
  issuingDistributionPoint?: string
  hash?: HashName
}

export interface CsrSpec {
  subject: NameAttribute[]
  key: KeyObject
  publicKey: KeyObject
  san?: SubjectAltNames
  hash?: HashName
}

const NAME_OIDS = {
  CN: '2.5.4.3',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  serialNumber: '2.5.4.5',
  emailAddress: '1.2.840.113549.1.9.1',
} as const

const EKU_OIDS = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
} as const

const KEY_USAGE_BITS: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
}

const SIGNATURE_OIDS: Record<'rsa' | 'ec', Record<HashName, string>> = {
  rsa: { sha256: '1.2.840.113549.1.1.11', sha384: '1.2.840.113549.1.1.12', sha1: '1.2.840.113549.1.1.5' },
  ec: { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha1: '1.2.840.10045.4.1' },
}

/** Generates a key pair with node:crypto (native, fast), not forge's JavaScript RSA. */
export function generateKeyPair(spec: KeySpec): { privateKey: KeyObject; publicKey: KeyObject } {
  if (spec.type === 'rsa') return generateKeyPairSync('rsa', { modulusLength: spec.bits ?? 2048 })
  return generateKeyPairSync('ec', { namedCurve: spec.curve ?? 'P-256' })
}

/** A positive, non-zero 128-bit serial number, as RFC 5280 §4.1.2.2 asks. */
export function randomSerial(): Buffer {
  const serial = randomBytes(16)
  serial[0] = (serial[0]! & 0x7f) | 0x01
  return serial
}

export function createCertificate(spec: CertificateSpec): { der: Buffer; pem: string } {
  const signingKey = spec.issuer?.key ?? spec.selfKey
  if (!signingKey) throw new Error('a self-signed certificate needs selfKey')
  const hash = spec.hash ?? 'sha256'
  const sigAlg = signatureAlgorithm(signingKey, hash)
  const spkiDer = spec.publicKey.export({ type: 'spki', format: 'der' })
  const subjectKeyId = keyIdentifier(spkiDer)
  const issuerInfo = spec.issuer ? readIssuer(spec.issuer.certDer) : undefined

  const extensions: Asn1[] = []
  const isCa = spec.ca !== undefined && spec.ca !== false
  if (isCa || spec.basicConstraintsOnLeaf !== false) {
    const bc: Asn1[] = []
    if (isCa) {
      bc.push(asn1.create(UNIVERSAL, T.BOOLEAN, false, String.fromCharCode(0xff)))
      const pathLength = (spec.ca as { pathLength?: number }).pathLength
      if (pathLength !== undefined) bc.push(integer(pathLength))
    }
    extensions.push(extension('2.5.29.19', true, seq(bc)))
  }
  if (spec.keyUsage?.length) extensions.push(extension('2.5.29.15', true, keyUsageBits(spec.keyUsage)))
  if (spec.extKeyUsage?.length) {
    extensions.push(extension('2.5.29.37', false, seq(spec.extKeyUsage.map((u) => oid(EKU_OIDS[u])))))
  }
  if (spec.san && hasNames(spec.san)) extensions.push(extension('2.5.29.17', false, generalNames(spec.san)))
  extensions.push(extension('2.5.29.14', false, octets(subjectKeyId)))
  const authorityKeyId = issuerInfo?.subjectKeyId ?? subjectKeyId
  extensions.push(
    extension(
      '2.5.29.35',
      false,
      seq([asn1.create(CONTEXT_SPECIFIC, 0, false, authorityKeyId.toString('binary'))]),
    ),
  )
  if (spec.crlDistributionPoints?.length) {
    const points = spec.crlDistributionPoints.map((url) =>
      seq([
        asn1.create(CONTEXT_SPECIFIC, 0, true, [
          asn1.create(CONTEXT_SPECIFIC, 0, true, [asn1.create(CONTEXT_SPECIFIC, 6, false, url)]),
        ]),
      ]),
    )
    extensions.push(extension('2.5.29.31', false, seq(points)))
  }
  if (spec.ocspUrls?.length) {
    // AccessDescription: id-ad-ocsp with a uniformResourceIdentifier location.
    const access = spec.ocspUrls.map((url) =>
      seq([oid('1.3.6.1.5.5.7.48.1'), asn1.create(CONTEXT_SPECIFIC, 6, false, url)]),
    )
    extensions.push(extension('1.3.6.1.5.5.7.1.1', false, seq(access)))
  }

  const subjectName = encodeName(spec.subject)
  const tbs = seq([
    asn1.create(CONTEXT_SPECIFIC, 0, true, [integer(2)]),
    integerFromBytes(spec.serial ?? randomSerial()),
    sigAlg,
    issuerInfo ? fromDer(issuerInfo.subjectDer) : subjectName,
    seq([time(spec.notBefore), time(spec.notAfter)]),
    subjectName,
    fromDer(spkiDer),
    asn1.create(CONTEXT_SPECIFIC, 3, true, [seq(extensions)]),
  ])
  return signed(tbs, sigAlg, signingKey, hash, 'CERTIFICATE')
}

export function createCrl(spec: CrlSpec): { der: Buffer; pem: string } {
  const hash = spec.hash ?? 'sha256'
  const sigAlg = signatureAlgorithm(spec.issuer.key, hash)
  const issuerInfo = readIssuer(spec.issuer.certDer)
  const fields: Asn1[] = [
    integer(1),
    sigAlg,
    fromDer(issuerInfo.subjectDer),
    time(spec.thisUpdate),
    time(spec.nextUpdate),
  ]
  // RFC 5280 §5.1.2.6: an empty list is omitted, never encoded as an empty SEQUENCE.
  if (spec.revoked?.length) {
    fields.push(seq(spec.revoked.map((r) => seq([integerFromBytes(r.serial), time(r.date)]))))
  }
  const crlExtensions: Asn1[] = []
  if (spec.crlNumber !== null)
    crlExtensions.push(extension('2.5.29.20', false, bigInteger(spec.crlNumber ?? 1)))
  if (spec.deltaOf !== undefined) crlExtensions.push(extension('2.5.29.27', true, integer(spec.deltaOf)))
  if (spec.issuingDistributionPoint) {
    // IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] { fullName [0] { URI [6] } } }
    const uri = asn1.create(CONTEXT_SPECIFIC, 6, false, spec.issuingDistributionPoint)
    const point = asn1.create(CONTEXT_SPECIFIC, 0, true, [asn1.create(CONTEXT_SPECIFIC, 0, true, [uri])])
    crlExtensions.push(extension('2.5.29.28', true, seq([point])))
  }
  crlExtensions.push(
    extension(
      '2.5.29.35',
      false,
      seq([asn1.create(CONTEXT_SPECIFIC, 0, false, issuerInfo.subjectKeyId.toString('binary'))]),
    ),
  )
  fields.push(asn1.create(CONTEXT_SPECIFIC, 0, true, [seq(crlExtensions)]))
  return signed(seq(fields), sigAlg, spec.issuer.key, hash, 'X509 CRL')
}

/** PKCS#10 certification request, for the public CA that issues the server certificate. */
export function createCsr(spec: CsrSpec): { der: Buffer; pem: string } {
  const hash = spec.hash ?? 'sha256'
  const sigAlg = signatureAlgorithm(spec.key, hash)
  const attributes: Asn1[] = []
  if (spec.san && hasNames(spec.san)) {
    const extensionRequest = seq([
      oid('1.2.840.113549.1.9.14'),
      asn1.create(UNIVERSAL, T.SET, true, [seq([extension('2.5.29.17', false, generalNames(spec.san))])]),
    ])
    attributes.push(extensionRequest)
  }
  const info = seq([
    integer(0),
    encodeName(spec.subject),
    fromDer(spec.publicKey.export({ type: 'spki', format: 'der' })),
    asn1.create(CONTEXT_SPECIFIC, 0, true, attributes),
  ])
  return signed(info, sigAlg, spec.key, hash, 'CERTIFICATE REQUEST')
}

export function toPem(der: Buffer, label: string): string {
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n')
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`
}

function signed(tbs: Asn1, sigAlg: Asn1, key: KeyObject, hash: HashName, label: string) {
  const tbsDer = toDer(tbs)
  const signature = sign(hash, tbsDer, key)
  const der = toDer(
    seq([tbs, sigAlg, asn1.create(UNIVERSAL, T.BITSTRING, false, '\x00' + signature.toString('binary'))]),
  )
  return { der, pem: toPem(der, label) }
}

function signatureAlgorithm(key: KeyObject, hash: HashName): Asn1 {
  const keyType = key.asymmetricKeyType
  if (keyType === 'rsa')
    return seq([oid(SIGNATURE_OIDS.rsa[hash]), asn1.create(UNIVERSAL, T.NULL, false, '')])
  if (keyType === 'ec') return seq([oid(SIGNATURE_OIDS.ec[hash])])
  throw new Error(`unsupported signing key type ${String(keyType)}`)
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bit string. */
function keyIdentifier(spkiDer: Buffer): Buffer {
  const spki = readDer(spkiDer)
  const bitString = (spki.value as Asn1[])[1]!.value as string
  return createHash('sha1')
    .update(Buffer.from(bitString.slice(1), 'binary'))
    .digest()
}

function readIssuer(certDer: Buffer): { subjectDer: Buffer; subjectKeyId: Buffer } {
  const cert = readDer(certDer)
  const tbs = (cert.value as Asn1[])[0]!.value as Asn1[]
  const subject = tbs[5]!
  const spki = tbs[6]!
  let subjectKeyId: Buffer | undefined
  const extWrapper = tbs.find((node) => node.tagClass === CONTEXT_SPECIFIC && node.type === 3)
  for (const ext of ((extWrapper?.value as Asn1[] | undefined)?.[0]?.value as Asn1[] | undefined) ?? []) {
    const parts = ext.value as Asn1[]
    if (asn1.derToOid(parts[0]!.value as string) === '2.5.29.14') {
      const inner = readDer(Buffer.from(parts[parts.length - 1]!.value as string, 'binary'))
      subjectKeyId = Buffer.from(inner.value as string, 'binary')
    }
  }
  return {
    subjectDer: toDer(subject),
    subjectKeyId: subjectKeyId ?? keyIdentifier(Buffer.from(asn1.toDer(spki).getBytes(), 'binary')),
  }
}

function encodeName(attributes: NameAttribute[]): Asn1 {
  return seq(
    attributes.map((a) => {
      const stringType = a.type === 'C' ? T.PRINTABLESTRING : a.type === 'emailAddress' ? T.IA5STRING : T.UTF8
      const value = stringType === T.UTF8 ? forge.util.encodeUtf8(a.value) : a.value
      return asn1.create(UNIVERSAL, T.SET, true, [
        seq([oid(NAME_OIDS[a.type]), asn1.create(UNIVERSAL, stringType, false, value)]),
      ])
    }),
  )
}

function generalNames(san: SubjectAltNames): Asn1 {
  const names: Asn1[] = []
  for (const email of san.email ?? []) names.push(asn1.create(CONTEXT_SPECIFIC, 1, false, email))
  for (const dns of san.dns ?? []) names.push(asn1.create(CONTEXT_SPECIFIC, 2, false, dns))
  for (const uri of san.uri ?? []) names.push(asn1.create(CONTEXT_SPECIFIC, 6, false, uri))
  for (const ip of san.ip ?? []) names.push(asn1.create(CONTEXT_SPECIFIC, 7, false, ipBytes(ip)))
  return seq(names)
}

function ipBytes(ip: string): string {
  const family = isIP(ip)
  if (family === 4) return String.fromCharCode(...ip.split('.').map(Number))
  if (family === 6) {
    // The URL parser canonicalises IPv6, including a dotted IPv4 tail (::ffff:192.0.2.1).
    const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1)
    const [head = '', tail = ''] = canonical.split('::')
    const h = head ? head.split(':') : []
    const t = tail ? tail.split(':') : []
    const groups = canonical.includes('::')
      ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
      : h
    return groups.map((g) => String.fromCharCode(parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff)).join('')
  }
  throw new Error(`invalid IP address in SAN: ${ip}`)
}

function hasNames(san: SubjectAltNames): boolean {
  return Boolean(san.dns?.length || san.ip?.length || san.uri?.length || san.email?.length)
}

function keyUsageBits(usages: KeyUsageName[]): Asn1 {
  let bits = 0
  let highest = 0
  for (const usage of usages) {
    const bit = KEY_USAGE_BITS[usage]
    bits |= 0x80 >> bit
    highest = Math.max(highest, bit)
  }
  // DER: a named bit list drops trailing zero bits (X.690 §11.2.2).
  const unused = 7 - highest
  return asn1.create(UNIVERSAL, T.BITSTRING, false, String.fromCharCode(unused, bits))
}

function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  const parts: Asn1[] = [oid(id)]
  if (critical) parts.push(asn1.create(UNIVERSAL, T.BOOLEAN, false, String.fromCharCode(0xff)))
  parts.push(asn1.create(UNIVERSAL, T.OCTETSTRING, false, asn1.toDer(value).getBytes()))
  return seq(parts)
}

function time(date: Date): Asn1 {
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050
    ? asn1.create(UNIVERSAL, T.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(UNIVERSAL, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date))
}

function seq(items: Asn1[]): Asn1 {
  return asn1.create(UNIVERSAL, T.SEQUENCE, true, items)
}

function oid(id: string): Asn1 {
  return asn1.create(UNIVERSAL, T.OID, false, asn1.oidToDer(id).getBytes())
}

function octets(bytes: Buffer): Asn1 {
  return asn1.create(UNIVERSAL, T.OCTETSTRING, false, bytes.toString('binary'))
}

function integer(n: number): Asn1 {
  return asn1.create(UNIVERSAL, T.INTEGER, false, asn1.integerToDer(n).getBytes())
}

/** A non-negative INTEGER of any size (CRL numbers may take up to 20 octets). */
function bigInteger(n: number | bigint): Asn1 {
  const hex = BigInt(n).toString(16)
  return integerFromBytes(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'))
}

function integerFromBytes(bytes: Buffer): Asn1 {
  // Keep the INTEGER positive: a leading 1 bit needs a 0x00 prefix.
  const value = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes
  return asn1.create(UNIVERSAL, T.INTEGER, false, value.toString('binary'))
}

function fromDer(der: Buffer): Asn1 {
  return readDer(der)
}

function toDer(node: Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary')
}

/** The public key of a private key, for self-signed specs. */
export function publicKeyOf(key: KeyObject): KeyObject {
  return createPublicKey(key)
}
