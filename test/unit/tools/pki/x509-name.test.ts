/** Names as text from DER (CertificateRequest CA names, CRL issuers), compared across tools. */
import { X509Certificate } from 'node:crypto'
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
