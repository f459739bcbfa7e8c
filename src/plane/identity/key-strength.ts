/**
 * What a client certificate's key may do and how strong it is: the keyUsage extension, the key's
 * type and size, and the signature algorithm. Pure: reads the DER certificate, touches no socket.
 *
 * OpenSSL's own checks are not enough here. Its sslclient purpose check refuses a keyUsage only
 * when it lacks both digitalSignature and keyAgreement, so an EC leaf marked keyAgreement-only
 * passes; and when it does refuse a weak key or a SHA-1 signature, Node reports the code as
 * "UNSPECIFIED", which no reason can be mapped from. So the gateway reads these itself, once per
 * distinct certificate (the peer evaluator memoises it).
 */
import type { X509Certificate } from 'node:crypto'
import forge from 'node-forge'
import { readDer } from '../tls/der.ts'

type Asn1 = forge.asn1.Asn1

export interface KeyStrength {
  /** keyUsage bit names; undefined when the certificate has no keyUsage extension. */
  keyUsage: readonly string[] | undefined
  /** 'rsa', 'ec', 'ed25519', ... as node:crypto names it. */
  keyType: string
  /** RSA modulus length in bits. */
  modulusBits: number | undefined
  /** EC named curve (for example 'prime256v1'). */
  curve: string | undefined
  signatureAlgorithm: string
}

const KEY_USAGE_OID = '2.5.29.15'
// RFC 5280 §4.2.1.3, in bit order.
const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const

export function readKeyStrength(cert: X509Certificate): KeyStrength {
  const details = cert.publicKey.asymmetricKeyDetails
  return {
    keyUsage: readKeyUsage(cert.raw),
    keyType: cert.publicKey.asymmetricKeyType ?? 'unknown',
    modulusBits: details?.modulusLength,
    curve: details?.namedCurve,
    signatureAlgorithm: cert.signatureAlgorithm ?? cert.signatureAlgorithmOid ?? 'unknown',
  }
}

/** The keyUsage bit names of a DER certificate; undefined without the extension. */
export function readKeyUsage(der: Buffer): string[] | undefined {
  const [tbs] = readDer(der).value as Asn1[]
  const extensions = (tbs!.value as Asn1[]).find(
    (field) => field.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && field.type === 3,
  )
  if (!extensions) return undefined
  const [list] = extensions.value as Asn1[]
  for (const extension of list!.value as Asn1[]) {
    const parts = extension.value as Asn1[]
    if (forge.asn1.derToOid(parts[0]!.value as string) !== KEY_USAGE_OID) continue
    const octets = parts[parts.length - 1]!.value as string
    const bits = readDer(Buffer.from(octets, 'binary')).value as string
    // First byte: the number of unused bits; then the bits, most significant first.
    const names: string[] = []
    KEY_USAGE_BITS.forEach((name, i) => {
      const byte = bits.charCodeAt(1 + (i >> 3))
      if (!Number.isNaN(byte) && byte & (0x80 >> (i & 7))) names.push(name)
    })
    return names
  }
  return undefined
}

const WEAK_SIGNATURE = /md2|md4|md5|sha1(?!\d)|sha-1(?!\d)/i
const STRONG_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1'])
const MIN_RSA_BITS = 2048

/**
 * Why a leaf cannot authenticate a TLS client, or undefined. The TLS CertificateVerify is a
 * signature, so a keyUsage extension must allow digitalSignature (RFC 5280 §4.2.1.3); keys and
 * signatures follow the floor of the server's cipher policy (OpenSSL security level 2).
 */
export function keyProblem(
  strength: KeyStrength,
): { reason: 'bad_eku' | 'weak_key'; detail: string } | undefined {
  if (strength.keyUsage && !strength.keyUsage.includes('digitalSignature')) {
    return {
      reason: 'bad_eku',
      detail: `keyUsage ${strength.keyUsage.join(', ') || '(empty)'} lacks digitalSignature`,
    }
  }
  if (strength.keyType === 'rsa' || strength.keyType === 'rsa-pss') {
    if ((strength.modulusBits ?? 0) < MIN_RSA_BITS)
      return { reason: 'weak_key', detail: `RSA key of ${strength.modulusBits ?? '?'} bits` }
  } else if (strength.keyType === 'ec') {
    if (!strength.curve || !STRONG_CURVES.has(strength.curve))
      return { reason: 'weak_key', detail: `EC key on curve ${strength.curve ?? 'unknown'}` }
  } else if (strength.keyType !== 'ed25519' && strength.keyType !== 'ed448') {
    return { reason: 'weak_key', detail: `unsupported key type ${strength.keyType}` }
  }
  if (WEAK_SIGNATURE.test(strength.signatureAlgorithm))
    return { reason: 'weak_key', detail: `signature algorithm ${strength.signatureAlgorithm}` }
  return undefined
}
