/**
 * Encodes X.509 certificates, CRLs and PKCS#10 requests for the dev, test and bench PKI (see
 * pki-builder.ts for the API the PKIs use). Never loaded on the request path.
 *
 * The structures are @peculiar/asn1-x509 and @peculiar/asn1-csr's typed RFC 5280 / RFC 2986
 * schemas, serialised by @peculiar/asn1-schema; keys and signatures are node:crypto's. Both are
 * synchronous, so a PKI is built in one call, and both handle RSA and EC keys alike (node-forge's
 * certificate API signs with RSA only, and makes no CRLs).
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
import { Attributes, CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr'
import { AsnConvert, AsnIntegerBigIntConverter, OctetString } from '@peculiar/asn1-schema'
import {
  AccessDescription,
  Attribute,
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BaseCRLNumber,
  BasicConstraints,
  Certificate,
  CertificateList,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  IssuingDistributionPoint,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  RevokedCertificate,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  TBSCertList,
  Time,
  Validity,
  Version,
  id_ad_ocsp,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_cRLNumber,
  id_ce_deltaCRLIndicator,
  id_ce_extKeyUsage,
  id_ce_issuingDistributionPoint,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_codeSigning,
  id_kp_emailProtection,
  id_kp_OCSPSigning,
  id_kp_serverAuth,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509'
import { toPem } from '../../plane/tls/pem.ts'

export type KeySpec = { type: 'rsa'; bits?: number } | { type: 'ec'; curve?: 'P-256' | 'P-384' | 'P-521' }
export type HashName = 'sha256' | 'sha384' | 'sha512' | 'sha1'

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
  serverAuth: id_kp_serverAuth,
  clientAuth: id_kp_clientAuth,
  codeSigning: id_kp_codeSigning,
  emailProtection: id_kp_emailProtection,
  OCSPSigning: id_kp_OCSPSigning,
} as const

// RFC 3279 / RFC 4055 / RFC 5758 signature algorithm identifiers.
const SIGNATURE_OIDS: Record<'rsa' | 'ec', Record<HashName, string>> = {
  rsa: {
    sha256: '1.2.840.113549.1.1.11',
    sha384: '1.2.840.113549.1.1.12',
    sha512: '1.2.840.113549.1.1.13',
    sha1: '1.2.840.113549.1.1.5',
  },
  ec: {
    sha256: '1.2.840.10045.4.3.2',
    sha384: '1.2.840.10045.4.3.3',
    sha512: '1.2.840.10045.4.3.4',
    sha1: '1.2.840.10045.4.1',
  },
}

/** PKCS#9 extensionRequest: the extensions a CSR asks the CA to write. */
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14'

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

/** The public key of a private key, for self-signed specs. */
export function publicKeyOf(key: KeyObject): KeyObject {
  return createPublicKey(key)
}

export function createCertificate(spec: CertificateSpec): { der: Buffer; pem: string } {
  const signingKey = spec.issuer?.key ?? spec.selfKey
  if (!signingKey) throw new Error('a self-signed certificate needs selfKey')
  const hash = spec.hash ?? 'sha256'
  const signature = signatureAlgorithm(signingKey, hash)
  const subjectPublicKeyInfo = AsnConvert.parse(
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    SubjectPublicKeyInfo,
  )
  const subjectKeyId = keyIdentifier(subjectPublicKeyInfo)
  const issuer = spec.issuer ? readIssuer(spec.issuer.certDer) : undefined
  const subject = encodeName(spec.subject)

  const extensions: Extension[] = []
  const isCa = spec.ca !== undefined && spec.ca !== false
  if (isCa || spec.basicConstraintsOnLeaf !== false) {
    const pathLength = isCa ? (spec.ca as { pathLength?: number }).pathLength : undefined
    const value = new BasicConstraints({ cA: isCa })
    if (pathLength !== undefined) value.pathLenConstraint = pathLength
    extensions.push(extension(id_ce_basicConstraints, true, value))
  }
  if (spec.keyUsage?.length) {
    const flags = spec.keyUsage.reduce((all, usage) => all | KeyUsageFlags[usage], 0)
    extensions.push(extension(id_ce_keyUsage, true, new KeyUsage(flags)))
  }
  if (spec.extKeyUsage?.length) {
    const purposes = new ExtendedKeyUsage(spec.extKeyUsage.map((usage) => EKU_OIDS[usage]))
    extensions.push(extension(id_ce_extKeyUsage, false, purposes))
  }
  if (spec.san && hasNames(spec.san)) {
    extensions.push(
      extension(id_ce_subjectAltName, false, new SubjectAlternativeName(generalNames(spec.san))),
    )
  }
  extensions.push(extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(subjectKeyId)))
  const authorityKeyId = issuer?.subjectKeyId ?? subjectKeyId
  extensions.push(
    extension(
      id_ce_authorityKeyIdentifier,
      false,
      new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(authorityKeyId) }),
    ),
  )
  if (spec.crlDistributionPoints?.length) {
    const points = spec.crlDistributionPoints.map(
      (url) => new DistributionPoint({ distributionPoint: uriPoint(url) }),
    )
    extensions.push(extension(id_ce_cRLDistributionPoints, false, new CRLDistributionPoints(points)))
  }
  if (spec.ocspUrls?.length) {
    const access = spec.ocspUrls.map(
      (url) =>
        new AccessDescription({
          accessMethod: id_ad_ocsp,
          accessLocation: new GeneralName({ uniformResourceIdentifier: url }),
        }),
    )
    extensions.push(extension(id_pe_authorityInfoAccess, false, new AuthorityInfoAccessSyntax(access)))
  }

  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: positiveInteger(spec.serial ?? randomSerial()),
    signature,
    issuer: issuer?.subject ?? subject,
    validity: new Validity({ notBefore: spec.notBefore, notAfter: spec.notAfter }),
    subject,
    subjectPublicKeyInfo,
    extensions: new Extensions(extensions),
  })
  const tbsDer = serialize(tbs)
  const certificate = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: signature,
    signatureValue: arrayBuffer(sign(hash, tbsDer, signingKey)),
  })
  return derAndPem(certificate, 'CERTIFICATE')
}

export function createCrl(spec: CrlSpec): { der: Buffer; pem: string } {
  const hash = spec.hash ?? 'sha256'
  const signature = signatureAlgorithm(spec.issuer.key, hash)
  const issuer = readIssuer(spec.issuer.certDer)
  const extensions: Extension[] = []
  if (spec.crlNumber !== null) {
    // CRL numbers may take up to 20 octets (RFC 5280 §5.2.3): the schema's CRLNumber holds a
    // JavaScript number, so the INTEGER comes from asn1-schema's bigint converter.
    const number = AsnIntegerBigIntConverter.toASN(BigInt(spec.crlNumber ?? 1)).toBER(false)
    extensions.push(
      new Extension({ extnID: id_ce_cRLNumber, critical: false, extnValue: new OctetString(number) }),
    )
  }
  if (spec.deltaOf !== undefined) {
    extensions.push(extension(id_ce_deltaCRLIndicator, true, new BaseCRLNumber(spec.deltaOf)))
  }
  if (spec.issuingDistributionPoint) {
    const point = new IssuingDistributionPoint({ distributionPoint: uriPoint(spec.issuingDistributionPoint) })
    extensions.push(extension(id_ce_issuingDistributionPoint, true, point))
  }
  extensions.push(
    extension(
      id_ce_authorityKeyIdentifier,
      false,
      new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(issuer.subjectKeyId) }),
    ),
  )
  const tbs = new TBSCertList({
    version: Version.v2,
    signature,
    issuer: issuer.subject,
    thisUpdate: new Time(spec.thisUpdate),
    nextUpdate: new Time(spec.nextUpdate),
    crlExtensions: extensions,
  })
  // RFC 5280 §5.1.2.6: an empty list is omitted, never encoded as an empty SEQUENCE.
  if (spec.revoked?.length) {
    tbs.revokedCertificates = spec.revoked.map(
      (entry) =>
        new RevokedCertificate({
          userCertificate: positiveInteger(entry.serial),
          revocationDate: new Time(entry.date),
        }),
    )
  }
  const list = new CertificateList({
    tbsCertList: tbs,
    signatureAlgorithm: signature,
    signature: arrayBuffer(sign(hash, serialize(tbs), spec.issuer.key)),
  })
  return derAndPem(list, 'X509 CRL')
}

/** PKCS#10 certification request, for the public CA that issues the server certificate. */
export function createCsr(spec: CsrSpec): { der: Buffer; pem: string } {
  const hash = spec.hash ?? 'sha256'
  const signature = signatureAlgorithm(spec.key, hash)
  const attributes = new Attributes()
  if (spec.san && hasNames(spec.san)) {
    const requested = new Extensions([
      extension(id_ce_subjectAltName, false, new SubjectAlternativeName(generalNames(spec.san))),
    ])
    attributes.push(new Attribute({ type: EXTENSION_REQUEST, values: [AsnConvert.serialize(requested)] }))
  }
  const info = new CertificationRequestInfo({
    version: 0,
    subject: encodeName(spec.subject),
    subjectPKInfo: AsnConvert.parse(
      spec.publicKey.export({ type: 'spki', format: 'der' }),
      SubjectPublicKeyInfo,
    ),
    attributes,
  })
  const request = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: signature,
    signature: arrayBuffer(sign(hash, serialize(info), spec.key)),
  })
  return derAndPem(request, 'CERTIFICATE REQUEST')
}

function derAndPem(value: object, label: string): { der: Buffer; pem: string } {
  const der = serialize(value)
  return { der, pem: toPem(der, label) }
}

function signatureAlgorithm(key: KeyObject, hash: HashName): AlgorithmIdentifier {
  const keyType = key.asymmetricKeyType
  // RFC 4055 §5: RSA signature algorithms carry NULL parameters; RFC 5758 §3.2: ECDSA ones none.
  if (keyType === 'rsa')
    return new AlgorithmIdentifier({ algorithm: SIGNATURE_OIDS.rsa[hash], parameters: null })
  if (keyType === 'ec') return new AlgorithmIdentifier({ algorithm: SIGNATURE_OIDS.ec[hash] })
  throw new Error(`unsupported signing key type ${String(keyType)}`)
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bit string. */
function keyIdentifier(spki: SubjectPublicKeyInfo): Buffer {
  return createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest()
}

function readIssuer(certDer: Buffer): { subject: Name; subjectKeyId: Buffer } {
  const tbs = AsnConvert.parse(certDer, Certificate).tbsCertificate
  const ski = tbs.extensions?.find((ext) => ext.extnID === id_ce_subjectKeyIdentifier)
  return {
    subject: tbs.subject,
    subjectKeyId: ski
      ? Buffer.from(AsnConvert.parse(ski.extnValue, SubjectKeyIdentifier).buffer)
      : keyIdentifier(tbs.subjectPublicKeyInfo),
  }
}

function encodeName(attributes: NameAttribute[]): Name {
  return new Name(
    attributes.map(
      (a) =>
        new RelativeDistinguishedName([
          new AttributeTypeAndValue({
            type: NAME_OIDS[a.type],
            // RFC 5280 §4.1.2.4: countryName is a PrintableString, emailAddress an IA5String;
            // everything else UTF8String.
            value: new AttributeValue(
              a.type === 'C'
                ? { printableString: a.value }
                : a.type === 'emailAddress'
                  ? { ia5String: a.value }
                  : { utf8String: a.value },
            ),
          }),
        ]),
    ),
  )
}

function generalNames(san: SubjectAltNames): GeneralName[] {
  return [
    ...(san.email ?? []).map((email) => new GeneralName({ rfc822Name: email })),
    ...(san.dns ?? []).map((dns) => new GeneralName({ dNSName: dns })),
    ...(san.uri ?? []).map((uri) => new GeneralName({ uniformResourceIdentifier: uri })),
    ...(san.ip ?? []).map((ip) => new GeneralName({ iPAddress: canonicalIp(ip) })),
  ]
}

/**
 * The schema's IP converter reads dotted IPv4 and hex-group IPv6; the URL parser rewrites any
 * other IPv6 spelling (a dotted IPv4 tail, ::ffff:192.0.2.1) into hex groups first.
 */
function canonicalIp(ip: string): string {
  const family = isIP(ip)
  if (family === 4) return ip
  if (family === 6) return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
  throw new Error(`invalid IP address in SAN: ${ip}`)
}

function uriPoint(url: string): DistributionPointName {
  return new DistributionPointName({ fullName: [new GeneralName({ uniformResourceIdentifier: url })] })
}

function hasNames(san: SubjectAltNames): boolean {
  return Boolean(san.dns?.length || san.ip?.length || san.uri?.length || san.email?.length)
}

function extension(id: string, critical: boolean, value: object): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) })
}

/**
 * A serial's INTEGER content in DER's one form (X.690 §8.3.2: no redundant leading zero, a 0x00
 * before a first 1 bit), by way of a bigint: the schema writes raw content bytes as given, and
 * OpenSSL refuses a certificate whose serial has a redundant zero.
 */
function positiveInteger(bytes: Buffer): ArrayBuffer {
  const value = BigInt(`0x${bytes.toString('hex') || '0'}`)
  return new Uint8Array(AsnIntegerBigIntConverter.toASN(value).valueBlock.valueHexView).buffer
}

function serialize(value: object): Buffer {
  return Buffer.from(AsnConvert.serialize(value))
}

function arrayBuffer(bytes: Buffer): ArrayBuffer {
  return new Uint8Array(bytes).buffer
}
