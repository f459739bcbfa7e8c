/** DER decoding through node-forge's ASN.1 reader, with the one option that makes it safe here. */
import forge from 'node-forge'

type FromDer = (bytes: string, options: { strict?: boolean; decodeBitStrings?: boolean }) => forge.asn1.Asn1

/**
 * DER -> ASN.1 tree. BIT STRING contents stay raw bytes: by default forge decodes a BIT STRING
 * whose contents happen to be valid DER (an ECDSA signature, an RSA public key), and the
 * signature bytes are then lost.
 */
export function readDer(der: Buffer): forge.asn1.Asn1 {
  return (forge.asn1.fromDer as unknown as FromDer)(der.toString('binary'), {
    strict: true,
    decodeBitStrings: false,
  })
}
