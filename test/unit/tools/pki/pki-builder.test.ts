/**
 * The PKI builder every PKI uses (dev, test, attack, OCSP, unit, bench): roots, intermediates,
 * leaves and CRLs that chain as their names say, with the builder's defaults and every override
 * the forged chains need, checked with node:crypto's X509Certificate.
 */
import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { PkiBuilder } from '../../../../src/tools/pki/pki-builder.ts'
import { parseCrl, verifyCrlSignature } from '../../../../src/plane/tls/crl.ts'

const DAY = 86_400_000
const NOW = Date.UTC(2030, 0, 1)
const window = { notBefore: new Date(NOW - DAY), notAfter: new Date(NOW + 30 * DAY) }
const pki = new PkiBuilder({ key: { type: 'ec' }, ...window })
const root = pki.root({ subject: [{ type: 'CN', value: 'Builder Root' }] })
const issuing = root.intermediate({
  subject: [{ type: 'CN', value: 'Builder Issuing' }],
  ca: { pathLength: 0 },
})
const leaf = issuing.issue({ subject: [{ type: 'CN', value: 'leaf' }], extKeyUsage: ['clientAuth'] })

describe('a chain from root to leaf', () => {
  it('has a self-signed root CA that may sign certificates and CRLs', () => {
    expect(root.cert.ca).toBe(true)
    expect(root.cert.checkIssued(root.cert)).toBe(true)
    expect(root.cert.verify(root.publicKey)).toBe(true)
  })

  it('has an intermediate CA and a leaf, each signed by the one above', () => {
    expect([issuing.cert.ca, leaf.cert.ca]).toEqual([true, false])
    expect(issuing.cert.checkIssued(root.cert) && issuing.cert.verify(root.publicKey)).toBe(true)
    expect(leaf.cert.checkIssued(issuing.cert) && leaf.cert.verify(issuing.publicKey)).toBe(true)
  })

  it("takes the key type and validity from the builder's defaults", () => {
    for (const made of [root, issuing, leaf]) {
      expect(made.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
      expect(made.cert.validFromDate).toEqual(window.notBefore)
      expect(made.cert.validToDate).toEqual(window.notAfter)
    }
  })

  it('keeps each private key, in PKCS#8 PEM too, and the serial as bytes', () => {
    expect(leaf.cert.checkPrivateKey(leaf.key)).toBe(true)
    expect(leaf.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
    expect(leaf.serial.toString('hex').toUpperCase()).toBe(leaf.cert.serialNumber)
  })

  it('lets any certificate sign, as a leaf used as a CA does', () => {
    const under = leaf.issue({ subject: [{ type: 'CN', value: 'under a leaf' }] })
    expect(under.cert.checkIssued(leaf.cert) && under.cert.verify(leaf.publicKey)).toBe(true)
  })
})

describe('overrides', () => {
  it.each([
    { key: { type: 'rsa', bits: 2048 } as const, want: 'rsa' },
    { key: { type: 'ec', curve: 'P-384' } as const, want: 'ec' },
  ])('makes a $key.type key when asked', ({ key, want }) => {
    const made = issuing.issue({ subject: [{ type: 'CN', value: 'x' }], key })
    expect(made.publicKey.asymmetricKeyType).toBe(want)
    expect(made.cert.checkPrivateKey(made.key)).toBe(true)
  })

  it('certifies an existing private key', () => {
    const again = issuing.issue({ subject: [{ type: 'CN', value: 'same key' }], key: leaf.key })
    expect(again.cert.publicKey.equals(leaf.publicKey)).toBe(true)
    expect(again.keyPem).toBe(leaf.keyPem)
  })

  it('certifies a public key alone, and then has no private key to give', () => {
    const { publicKey } = generateKeyPairSync('ed25519')
    const made = issuing.issue({ subject: [{ type: 'CN', value: 'public only' }], key: publicKey })
    expect(made.cert.publicKey.equals(publicKey)).toBe(true)
    expect(() => made.key).toThrow(/no private key/)
  })

  it("signs in the issuer's name with another key (a forgery): the issuer's key does not verify it", () => {
    const forger = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const forged = issuing.issue({
      subject: [{ type: 'CN', value: 'forged' }],
      signingKey: forger.privateKey,
    })
    expect(forged.cert.issuer).toBe(issuing.cert.subject)
    expect(forged.cert.verify(issuing.publicKey)).toBe(false)
    expect(forged.cert.verify(forger.publicKey)).toBe(true)
  })

  it('makes a self-signed end-entity certificate', () => {
    const self = pki.selfSigned({ subject: [{ type: 'CN', value: 'self' }], extKeyUsage: ['clientAuth'] })
    expect(self.cert.ca).toBe(false)
    expect(self.cert.checkIssued(self.cert) && self.cert.verify(self.publicKey)).toBe(true)
  })

  it('makes an intermediate with CA:false when asked', () => {
    expect(issuing.intermediate({ subject: [{ type: 'CN', value: 'not a CA' }], ca: false }).cert.ca).toBe(
      false,
    )
  })
})

describe('crl()', () => {
  const thisUpdate = new Date(NOW - DAY)
  const nextUpdate = new Date(NOW + 7 * DAY)

  it("is signed by the CA's key, names the CA and lists the revoked serials", () => {
    const crl = parseCrl(
      issuing.crl({ thisUpdate, nextUpdate, revoked: [{ serial: leaf.serial, date: thisUpdate }] }).der,
    )
    expect(verifyCrlSignature(crl, issuing.publicKey)).toBe(true)
    expect(crl.revokedSerials).toEqual(new Set([leaf.cert.serialNumber]))
    expect(crl.thisUpdate).toEqual(thisUpdate)
    expect(crl.nextUpdate).toEqual(nextUpdate)
  })

  it("with another signing key, does not verify with the CA's key", () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    const crl = parseCrl(issuing.crl({ thisUpdate, nextUpdate, signingKey: other }).der)
    expect(verifyCrlSignature(crl, issuing.publicKey)).toBe(false)
  })
})

describe('load()', () => {
  it('takes a CA and its key made elsewhere, and issues under it', () => {
    const loaded = pki.load(issuing.pem, issuing.keyPem)
    expect(loaded.der.equals(issuing.der)).toBe(true)
    expect(loaded.pem).toBe(issuing.pem)
    const made = loaded.issue({ subject: [{ type: 'CN', value: 'from a loaded CA' }] })
    expect(made.cert.checkIssued(issuing.cert) && made.cert.verify(issuing.publicKey)).toBe(true)
  })
})
