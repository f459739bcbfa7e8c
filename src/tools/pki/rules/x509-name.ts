/**
 * X.501 names as text, from DER. node:crypto prints certificate names but not the bare names a
 * TLS CertificateRequest or a CRL carries, so those are decoded here with node-forge's ASN.1
 * reader, into the same "C=GB, O=Thredd, CN=Thredd Root CA" form `subjectLine` gives. Pure.
 */
import forge from 'node-forge'
import { readDer } from '../../../plane/tls/der.ts'

type Asn1 = forge.asn1.Asn1
const asn1 = forge.asn1

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.17': 'postalCode',
  '2.5.4.42': 'GN',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
}

const BMP_STRING = 30
const UNIVERSAL_STRING = 28

/** "C=GB, O=Thredd, CN=Thredd Root CA" from the DER of a Name; multi-valued RDNs joined by "+". */
export function formatNameDer(der: Buffer): string {
  const name = readDer(der)
  return ((name.value as Asn1[]) ?? [])
    .map((rdn) =>
      ((rdn.value as Asn1[]) ?? [])
        .map((pair) => {
          const [type, value] = pair.value as Asn1[]
          const oid = asn1.derToOid(type!.value as string)
          return `${SHORT_NAMES[oid] ?? oid}=${decodeString(value!)}`
        })
        .join('+'),
    )
    .join(', ')
}

function decodeString(node: Asn1): string {
  const bytes = Buffer.from(node.value as string, 'binary')
  if (node.type === asn1.Type.UTF8) return bytes.toString('utf8')
  if ((node.type as number) === BMP_STRING && bytes.length % 2 === 0)
    return bytes.swap16().toString('utf16le')
  if ((node.type as number) === UNIVERSAL_STRING) {
    let text = ''
    for (let i = 0; i + 3 < bytes.length; i += 4) text += String.fromCodePoint(bytes.readUInt32BE(i))
    return text
  }
  return bytes.toString('latin1')
}

/** The DER of a certificate's issuer Name (to compare with CA names a server advertises). */
export function certificateIssuerDer(certDer: Buffer): Buffer {
  const tbs = (readDer(certDer).value as Asn1[])[0]!.value as Asn1[]
  const offset = tbs[0]!.tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0
  return Buffer.from(asn1.toDer(tbs[offset + 2]!).getBytes(), 'binary')
}

/**
 * Canonical form for comparing names printed by different tools: OpenSSL's `s_client` prints
 * "C = GB, O = Thredd", node:crypto "C=GB\nO=Thredd"; both become "c=gb, o=thredd".
 */
export function normaliseNameText(text: string): string {
  return text
    .replace(/\s*=\s*/g, '=')
    .replace(/\s*(?:,|\n)\s*/g, ', ')
    .trim()
    .toLowerCase()
}
