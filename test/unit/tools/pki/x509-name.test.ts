/** Names as text from DER (CertificateRequest CA names, CRL issuers), compared across tools. */
import { X509Certificate } from 'node:crypto'
import { AsnConvert } from '@peculiar/asn1-schema'
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509'
import { describe, expect, it } from 'vitest'
import { subjectOf } from '../../../../src/tools/pki/rules/certificate-info.ts'
import {
  certificateIssuerDer,
  formatNameDer,
  normaliseNameText,
} from '../../../../src/tools/pki/rules/x509-name.ts'
import { certificateSubjectDer } from '../../../../src/plane/tls/crl.ts'
import { issue, makeCa } from '../../../support/unit-certs.ts'

describe('formatNameDer', () => {
  it('prints a name as node:crypto does for certificates (C=.., O=.., CN=..)', () => {
    const ca = issue({
      subject: [
        { type: 'C', value: 'GB' },
        { type: 'O', value: 'Thredd UK Limited' },
        { type: 'OU', value: 'Thredd Directory' },
        { type: 'CN', value: 'Thredd Sandbox Issuing CA - G1' },
      ],
      ca: {},
    })
    const text = formatNameDer(certificateSubjectDer(ca.der))
    expect(text).toBe('C=GB, O=Thredd UK Limited, OU=Thredd Directory, CN=Thredd Sandbox Issuing CA - G1')
    expect(text).toBe(subjectOf(new X509Certificate(ca.der)))
  })

  it('decodes UTF-8 and unknown attribute types by OID', () => {
    const ca = issue({
      subject: [
        { type: 'CN', value: 'Zürich CA ✓' },
        { type: 'emailAddress', value: 'pki@example.com' },
      ],
      ca: {},
    })
    expect(formatNameDer(certificateSubjectDer(ca.der))).toBe('CN=Zürich CA ✓, emailAddress=pki@example.com')
  })
})

describe('certificateIssuerDer', () => {
  it('equals the DER subject of the issuing CA', () => {
    const root = makeCa('Issuer DER Root')
    const child = makeCa('Issuer DER Child', root)
    expect(certificateIssuerDer(child.der).equals(certificateSubjectDer(root.der))).toBe(true)
  })
})

describe('normaliseNameText', () => {
  it('makes openssl and node:crypto spellings equal', () => {
    expect(normaliseNameText('C = GB, O = Thredd, CN = Thredd Root CA')).toBe(
      normaliseNameText('C=GB\nO=Thredd\nCN=Thredd Root CA'),
    )
  })
})

describe('formatNameDer on the string types other CAs use', () => {
  /** A Name of one attribute per RDN, or several in one RDN, with the given values. */
  const name = (rdns: AttributeValue[][]) =>
    Buffer.from(
      AsnConvert.serialize(
        new Name(
          rdns.map(
            (values) =>
              new RelativeDistinguishedName(
                values.map((value) => new AttributeTypeAndValue({ type: '2.5.4.3', value })),
              ),
          ),
        ),
      ),
    )
  // A VisibleString (tag 26) and an OCTET STRING (tag 4), which AttributeValue's CHOICE keeps as raw DER.
  const visible = new AttributeValue({ anyValue: new Uint8Array([26, 3, 0x61, 0x62, 0x63]).buffer })
  const octets = new AttributeValue({ anyValue: new Uint8Array([4, 2, 0xca, 0xfe]).buffer })

  it.each([
    { type: 'PrintableString', value: new AttributeValue({ printableString: 'Thredd' }), want: 'CN=Thredd' },
    { type: 'BMPString', value: new AttributeValue({ bmpString: 'Zürich ✓' }), want: 'CN=Zürich ✓' },
    { type: 'UniversalString', value: new AttributeValue({ universalString: 'Zürich' }), want: 'CN=Zürich' },
    { type: 'TeletexString', value: new AttributeValue({ teletexString: 'Thredd' }), want: 'CN=Thredd' },
    { type: 'VisibleString', value: visible, want: 'CN=abc' },
    { type: 'a value that is no string', value: octets, want: 'CN=#0402cafe' },
  ])('decodes a $type', ({ value, want }) => {
    expect(formatNameDer(name([[value]]))).toBe(want)
  })

  it('joins the attributes of a multi-valued RDN with "+"', () => {
    const a = new AttributeValue({ utf8String: 'a' })
    const b = new AttributeValue({ utf8String: 'b' })
    expect(formatNameDer(name([[a, b], [a]]))).toBe('CN=a+CN=b, CN=a')
  })
})
