/**
 * OCSP messages (RFC 6960) for one client certificate: the request the gateway sends, and the
 * checks that turn a responder's answer into a verified status or a named error. Pure: takes
 * certificates, bytes and `now`; the HTTP exchange and the cache live in src/plane/io/ocsp-*.ts.
 *
 * The ASN.1 is encoded and decoded by @peculiar/asn1-ocsp (typed schemas, synchronous, no
 * WebCrypto engine); signatures are checked with node:crypto. A response is accepted only when
 * every check passes, in this order:
 *   1. responseStatus is successful and the body is a BasicOCSPResponse;
 *   2. the signer is the issuing CA itself, or a certificate in the response that the issuing CA
 *      signed, that carries the id-kp-OCSPSigning EKU and is valid now (RFC 6960 §4.2.2.2);
 *      anything else is `wrong_signer`, a signature that does not verify is `bad_signature`;
 *   3. with a nonce sent, the response echoes it (`nonce_mismatch`);
 *   4. a SingleResponse names this certificate: issuer name hash, issuer key hash and serial
 *      (`cert_id_mismatch`);
 *   5. thisUpdate is not in the future beyond the allowed skew (`not_yet_valid`), and nextUpdate
 *      (or thisUpdate + maxAge when the responder gives none) has not passed (`stale`).
 */
import { createHash, verify, X509Certificate, type KeyObject } from 'node:crypto'
import {
  BasicOCSPResponse,
  CertID,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  Request,
  TBSRequest,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  type ResponderID,
  type SingleResponse,
} from '@peculiar/asn1-ocsp'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  AuthorityInfoAccessSyntax,
  Certificate,
  Extension,
  id_ad_ocsp,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509'

/** Every way a response can fail, as bounded metric label values. */
export const OCSP_ERRORS = [
  'no_responder',
  'unreachable',
  'timeout',
  'http_status',
  'too_large',
  'malformed',
  'unsuccessful',
  'wrong_signer',
  'bad_signature',
  'nonce_mismatch',
  'cert_id_mismatch',
  'not_yet_valid',
  'stale',
  'older',
] as const
export type OcspError = (typeof OCSP_ERRORS)[number]

export type OcspCertStatus = 'good' | 'revoked' | 'unknown'

/** A response that passed every check: what the gateway caches for one certificate. */
export interface OcspAnswer {
  status: OcspCertStatus
  /** Unix ms. */
  thisUpdate: number
  /** Unix ms; undefined when the responder gave none (then `expiresAt` uses maxAge). */
  nextUpdate: number | undefined
  /** Until when the answer may be used: nextUpdate, or thisUpdate + maxAge. */
  expiresAt: number
  producedAt: number
  revocationTime?: number
  /** RFC 5280 CRLReason code, when the responder gave one (6 = certificateHold). */
  revocationReason?: number
  signer: 'issuer' | 'delegated'
}

export type OcspReadResult =
  { ok: true; answer: OcspAnswer } | { ok: false; error: OcspError; detail: string }

export interface OcspRequestMessage {
  der: Buffer
  /** The nonce extension value sent, to compare with the response's; undefined without nonce. */
  nonce: Buffer | undefined
}

export interface ReadOptions {
  leaf: X509Certificate
  issuer: X509Certificate
  /** The nonce sent with the request; the response must echo it. */
  nonce?: Buffer | undefined
  now: number
  /** How far in the future thisUpdate may be (clock skew between responder and gateway). */
  clockSkewMs: number
  /** How long a response without nextUpdate may be used after its thisUpdate. */
  maxAgeMs: number
}

export const OCSP_SIGNING_EKU = '1.3.6.1.5.5.7.3.9'
const SHA1 = '1.3.14.3.2.26'
const CERT_ID_HASHES: Record<string, string> = {
  [SHA1]: 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
}
/**
 * Signature algorithms accepted on responses. SHA-1 signatures are refused, as they are on the
 * certificate chain (a forged "good" is exactly what a collision would buy).
 */
const SIGNATURE_HASHES: Record<string, string | null> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null, // Ed25519: no separate digest
}

/** OCSP responder URLs from the certificate's authorityInfoAccess extension, http(s) only. */
export function responderUrlsOf(leaf: X509Certificate): string[] {
  const cert = AsnConvert.parse(leaf.raw, Certificate)
  const aia = cert.tbsCertificate.extensions?.find((e) => e.extnID === id_pe_authorityInfoAccess)
  if (!aia) return []
  const access = [...AsnConvert.parse(aia.extnValue, AuthorityInfoAccessSyntax)]
  return access
    .filter((a) => a.accessMethod === id_ad_ocsp)
    .map((a) => a.accessLocation.uniformResourceIdentifier)
    .filter((url): url is string => url !== undefined && /^https?:\/\//i.test(url))
}

/** The OCSP request for one certificate (SHA-1 CertID, as RFC 5019 responders expect). */
export function buildOcspRequest(
  leaf: X509Certificate,
  issuer: X509Certificate,
  nonce?: Buffer,
): OcspRequestMessage {
  const reqCert = certIdFor(leaf, issuer, SHA1)
  const tbsRequest = new TBSRequest({ requestList: [new Request({ reqCert })] })
  let nonceValue: Buffer | undefined
  if (nonce) {
    // RFC 8954: the extension value is an OCTET STRING holding the nonce OCTET STRING.
    nonceValue = Buffer.from(AsnConvert.serialize(new OctetString(nonce)))
    tbsRequest.requestExtensions = [
      new Extension({ extnID: id_pkix_ocsp_nonce, extnValue: new OctetString(nonceValue) }),
    ]
  }
  return { der: Buffer.from(AsnConvert.serialize(new OCSPRequest({ tbsRequest }))), nonce: nonceValue }
}

/** Reads and verifies a responder's answer for `leaf` issued by `issuer`. */
export function readOcspResponse(der: Buffer, options: ReadOptions): OcspReadResult {
  let basic: BasicOCSPResponse
  try {
    const outer = AsnConvert.parse(der, OCSPResponse)
    if (outer.responseStatus !== OCSPResponseStatus.successful) {
      const name = OCSPResponseStatus[outer.responseStatus] ?? String(outer.responseStatus)
      return fail('unsuccessful', `the responder answered ${name}`)
    }
    if (!outer.responseBytes || outer.responseBytes.responseType !== id_pkix_ocsp_basic)
      return fail('malformed', 'the response is not a BasicOCSPResponse')
    basic = AsnConvert.parse(outer.responseBytes.response.buffer, BasicOCSPResponse)
  } catch (error) {
    return fail('malformed', `the response is not valid DER: ${(error as Error).message}`)
  }
  const { leaf, issuer, now } = options

  const signer = findSigner(basic, issuer, now)
  if ('error' in signer) return fail(signer.error, signer.detail)
  const signatureProblem = checkSignature(basic, signer.key)
  if (signatureProblem) return fail('bad_signature', signatureProblem)

  if (options.nonce) {
    const echoed = basic.tbsResponseData.responseExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce)
    if (!echoed || !Buffer.from(echoed.extnValue.buffer).equals(options.nonce))
      return fail(
        'nonce_mismatch',
        echoed ? 'the response carries another nonce' : 'the response has no nonce',
      )
  }

  const single = basic.tbsResponseData.responses.find((r) => certIdMatches(r.certID, leaf, issuer))
  if (!single) return fail('cert_id_mismatch', 'the response does not name this certificate and issuer')

  const thisUpdate = single.thisUpdate.getTime()
  const nextUpdate = single.nextUpdate?.getTime()
  if (thisUpdate > now + options.clockSkewMs)
    return fail('not_yet_valid', `thisUpdate ${iso(thisUpdate)} is in the future`)
  const expiresAt = nextUpdate ?? thisUpdate + options.maxAgeMs
  if (now > expiresAt)
    return fail(
      'stale',
      nextUpdate === undefined
        ? `thisUpdate ${iso(thisUpdate)} is older than maxAge and there is no nextUpdate`
        : `nextUpdate ${iso(nextUpdate)} has passed`,
    )
  return {
    ok: true,
    answer: {
      ...statusOf(single),
      thisUpdate,
      nextUpdate,
      expiresAt,
      producedAt: basic.tbsResponseData.producedAt.getTime(),
      signer: signer.kind,
    },
  }
}

function statusOf(
  single: SingleResponse,
): Pick<OcspAnswer, 'status' | 'revocationTime' | 'revocationReason'> {
  const status = single.certStatus
  if (status.revoked) {
    return {
      status: 'revoked',
      revocationTime: status.revoked.revocationTime.getTime(),
      ...(status.revoked.revocationReason !== undefined
        ? { revocationReason: Number(status.revoked.revocationReason.reason) }
        : {}),
    }
  }
  if (status.good !== undefined) return { status: 'good' }
  return { status: 'unknown' }
}

type Signer = { kind: 'issuer' | 'delegated'; key: KeyObject } | { error: OcspError; detail: string }

/** RFC 6960 §4.2.2.2: the CA itself, or a responder certificate the CA issued for OCSP signing. */
function findSigner(basic: BasicOCSPResponse, issuer: X509Certificate, now: number): Signer {
  const responderId = basic.tbsResponseData.responderID
  if (responderIdNames(responderId, issuer)) return { kind: 'issuer', key: issuer.publicKey }
  const named = (basic.certs ?? [])
    .map((c) => new X509Certificate(Buffer.from(AsnConvert.serialize(c))))
    .find((c) => responderIdNames(responderId, c))
  if (!named)
    return {
      error: 'wrong_signer',
      detail: 'the response is signed by neither the issuing CA nor a certificate it carries',
    }
  if (!named.checkIssued(issuer) || !named.verify(issuer.publicKey))
    return {
      error: 'wrong_signer',
      detail: `the responder certificate ${oneLine(named.subject)} is not issued by the client's CA`,
    }
  if (!(named.keyUsage ?? []).includes(OCSP_SIGNING_EKU))
    return {
      error: 'wrong_signer',
      detail: `the responder certificate ${oneLine(named.subject)} lacks the OCSPSigning extended key usage`,
    }
  if (now < named.validFromDate.getTime() || now > named.validToDate.getTime())
    return {
      error: 'wrong_signer',
      detail: `the responder certificate ${oneLine(named.subject)} is outside its validity period`,
    }
  return { kind: 'delegated', key: named.publicKey }
}

function responderIdNames(id: ResponderID, cert: X509Certificate): boolean {
  const parsed = AsnConvert.parse(cert.raw, Certificate).tbsCertificate
  if (id.byKey) {
    const keyHash = createHash('sha1')
      .update(Buffer.from(parsed.subjectPublicKeyInfo.subjectPublicKey))
      .digest()
    return keyHash.equals(Buffer.from(id.byKey.buffer))
  }
  if (id.byName) {
    return Buffer.from(AsnConvert.serialize(id.byName)).equals(
      Buffer.from(AsnConvert.serialize(parsed.subject)),
    )
  }
  return false
}

function checkSignature(basic: BasicOCSPResponse, key: KeyObject): string | undefined {
  const algorithm = basic.signatureAlgorithm.algorithm
  if (!Object.hasOwn(SIGNATURE_HASHES, algorithm)) return `signature algorithm ${algorithm} is not accepted`
  if (!basic.tbsResponseDataRaw) return 'the signed part of the response could not be read'
  try {
    const ok = verify(
      SIGNATURE_HASHES[algorithm] ?? null,
      Buffer.from(basic.tbsResponseDataRaw),
      key,
      Buffer.from(basic.signature),
    )
    return ok ? undefined : 'the response signature does not verify'
  } catch (error) {
    return `the response signature could not be checked: ${(error as Error).message}`
  }
}

function certIdFor(leaf: X509Certificate, issuer: X509Certificate, hashOid: string): CertID {
  const hash = CERT_ID_HASHES[hashOid]!
  const issuerTbs = AsnConvert.parse(issuer.raw, Certificate).tbsCertificate
  const leafTbs = AsnConvert.parse(leaf.raw, Certificate).tbsCertificate
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: hashOid, parameters: null }),
    issuerNameHash: new OctetString(digest(hash, AsnConvert.serialize(issuerTbs.subject))),
    issuerKeyHash: new OctetString(digest(hash, issuerTbs.subjectPublicKeyInfo.subjectPublicKey)),
    serialNumber: leafTbs.serialNumber,
  })
}

/** A CertID names the certificate when serial, issuer name hash and issuer key hash all match. */
function certIdMatches(id: CertID, leaf: X509Certificate, issuer: X509Certificate): boolean {
  const hashOid = id.hashAlgorithm.algorithm
  if (!CERT_ID_HASHES[hashOid]) return false
  const expected = certIdFor(leaf, issuer, hashOid)
  return (
    integerBytes(id.serialNumber).equals(integerBytes(expected.serialNumber)) &&
    Buffer.from(id.issuerNameHash.buffer).equals(Buffer.from(expected.issuerNameHash.buffer)) &&
    Buffer.from(id.issuerKeyHash.buffer).equals(Buffer.from(expected.issuerKeyHash.buffer))
  )
}

/** INTEGER content bytes without the sign-padding zero, so equal serials compare equal. */
function integerBytes(value: ArrayBuffer): Buffer {
  const bytes = Buffer.from(value)
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  return bytes.subarray(start)
}

function digest(hash: string, data: ArrayBuffer): Buffer {
  return createHash(hash).update(Buffer.from(data)).digest()
}

function fail(error: OcspError, detail: string): OcspReadResult {
  return { ok: false, error, detail }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

function oneLine(subject: string): string {
  return subject.split('\n').join(', ')
}
