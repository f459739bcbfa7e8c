/** `certs inspect` on files: chains in any order, CRLs, keys never shown. */
import { describe, expect, it } from 'vitest'
import { spkiPin } from '../../../../src/tools/pki/rules/certificate-info.ts'
import { chainTree, inspectBytes, renderInspection } from '../../../../src/tools/pki/rules/inspect-pem.ts'
import { DAY, issue, makeCa, makeCrl, makeLeaf, NOW, serialOf } from '../../../support/unit-certs.ts'

const now = new Date(NOW)
const root = makeCa('Inspect Root')
const issuing = makeCa('Inspect Issuing', root)
const leaf = makeLeaf(issuing)

describe('inspectBytes', () => {
  it('describes each certificate with the values clientAuth.pins takes', () => {
    const result = inspectBytes(Buffer.from(leaf.pem + issuing.pem), 'chain.pem', now)
    expect(result.certificates).toHaveLength(2)
    const [first, second] = result.certificates
    expect(first).toMatchObject({
      index: 1,
      parent: 2,
      ca: false,
      key: 'EC P-256',
      extKeyUsage: ['clientAuth'],
    })
    expect(first!.subject).toContain('CN=thredd-ehi-transport')
    expect(first!.spkiSha256).toBe(spkiPin(leaf.cert))
    expect(first!.spkiSha256).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    expect(first!.sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    expect(second).toMatchObject({ index: 2, parent: undefined, ca: true, selfSigned: false })
    const text = renderInspection(result)
    expect(text).toContain(`SPKI pin     ${first!.spkiSha256}`)
    expect(text).toContain(`- "${first!.spkiSha256}"`)
    expect(text).toContain('certSha256:')
  })

  it('draws the chain tree from the root down, whatever the file order', () => {
    const result = inspectBytes(Buffer.from(root.pem + leaf.pem + issuing.pem), 'bundle.pem', now)
    expect(chainTree(result.certificates)).toEqual([
      '#1 O=Unit Test, CN=Inspect Root',
      '└─ #3 O=Unit Test, CN=Inspect Issuing',
      '   └─ #2 O=Thredd Test, OU=EHI, OU=Transport, CN=thredd-ehi-transport',
    ])
    const partial = inspectBytes(Buffer.from(leaf.pem + issuing.pem), 'chain.pem', now)
    expect(chainTree(partial.certificates)[0]).toBe('O=Unit Test, CN=Inspect Root (not in this input)')
  })

  it('reads CRLs: issuer, window, revoked count, issuing certificate', () => {
    const crl = makeCrl(issuing, { revoked: [serialOf(leaf)], nextUpdate: new Date(NOW + 3 * DAY) })
    const pem = `-----BEGIN X509 CRL-----\n${crl.toString('base64')}\n-----END X509 CRL-----\n`
    const result = inspectBytes(Buffer.from(issuing.pem + pem), 'crl.pem', now)
    expect(result.crls).toEqual([
      expect.objectContaining({
        issuer: 'O=Unit Test, CN=Inspect Issuing',
        revoked: 1,
        daysLeft: 3,
        issuedBy: 1,
        signatureOk: true,
      }),
    ])
    expect(renderInspection(result)).toContain('nextUpdate')
  })

  it('reads a DER certificate and a DER CRL', () => {
    expect(inspectBytes(leaf.der, 'leaf.der', now).certificates).toHaveLength(1)
    expect(inspectBytes(makeCrl(root), 'root.crl', now).crls).toHaveLength(1)
  })

  it('names a private key block without printing it', () => {
    const keyPem = leaf.key.export({ type: 'pkcs8', format: 'pem' }) as string
    const text = renderInspection(inspectBytes(Buffer.from(leaf.pem + keyPem), 'both.pem', now))
    expect(text).toContain('PRIVATE KEY block (private key: not shown')
    expect(text).not.toContain(keyPem.split('\n')[1]!)
  })

  it('flags expired certificates', () => {
    const expired = issue({
      subject: [{ type: 'CN', value: 'old' }],
      signer: root,
      notBefore: new Date(NOW - 10 * DAY),
      notAfter: new Date(NOW - 2 * DAY),
    })
    expect(renderInspection(inspectBytes(Buffer.from(expired.pem), 'old.pem', now))).toContain(
      'EXPIRED 2 days ago',
    )
  })

  it('reports input with nothing to inspect', () => {
    expect(inspectBytes(Buffer.from('hello'), 'x.txt', now).problems.length).toBeGreaterThan(0)
  })
})
