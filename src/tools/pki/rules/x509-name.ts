/**
 * X.501 names as text, from DER. node:crypto prints certificate names but not the bare names a
 * TLS CertificateRequest or a CRL carries, so those are decoded here with @peculiar/asn1-x509's
 * Name schema, into the same "C=GB, O=Thredd, CN=Thredd Root CA" form `subjectLine` gives. Pure.
 */
import { AsnConvert, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema'
import { Certificate, Name, type AttributeValue } from '@peculiar/asn1-x509'

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

/**
 * The string types a name may use that AttributeValue's CHOICE leaves to `anyValue`. Declared by
 * calling the schema decorators as functions (type stripping runs no decorator syntax).
 */
class OtherString {
  numericString?: string
  visibleString?: string
  graphicString?: string
  videotexString?: string
  generalString?: string
}
AsnType({ type: AsnTypeTypes.Choice })(OtherString)
AsnProp({ type: AsnPropTypes.NumericString })(OtherString.prototype, 'numericString')
AsnProp({ type: AsnPropTypes.VisibleString })(OtherString.prototype, 'visibleString')
AsnProp({ type: AsnPropTypes.GraphicString })(OtherString.prototype, 'graphicString')
AsnProp({ type: AsnPropTypes.VideotexString })(OtherString.prototype, 'videotexString')
AsnProp({ type: AsnPropTypes.GeneralString })(OtherString.prototype, 'generalString')

/** "C=GB, O=Thredd, CN=Thredd Root CA" from the DER of a Name; multi-valued RDNs joined by "+". */
export function formatNameDer(der: Buffer): string {
  return AsnConvert.parse(der, Name)
    .map((rdn) =>
      rdn.map((pair) => `${SHORT_NAMES[pair.type] ?? pair.type}=${decodeString(pair.value)}`).join('+'),
    )
    .join(', ')
}

function decodeString(value: AttributeValue): string {
  if (!value.anyValue) return value.toString()
  try {
    const other = AsnConvert.parse(value.anyValue, OtherString)
    return (
      other.numericString ??
      other.visibleString ??
      other.graphicString ??
      other.videotexString ??
      other.generalString ??
      ''
    )
  } catch {
    // Not a string at all: RFC 4514 §2.4's "#" and the hex of its DER.
    return `#${Buffer.from(value.anyValue).toString('hex')}`
  }
}

/** The DER of a certificate's issuer Name (to compare with CA names a server advertises). */
export function certificateIssuerDer(certDer: Buffer): Buffer {
  return Buffer.from(AsnConvert.serialize(AsnConvert.parse(certDer, Certificate).tbsCertificate.issuer))
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
