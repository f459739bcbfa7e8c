/**
 * CRLs are parsed with node-forge's ASN.1 reader because node:crypto cannot. The gateway compares
 * their issuer byte for byte with CA subjects and their serials with X509Certificate.serialNumber,
 * so both must come out in exactly those forms.
 */
import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  certificateSubjectDer,
  normaliseSerial,
  parseCrl,
  verifyCrlSignature,
} from '../../../../src/plane/tls/crl.ts'
import { DAY, makeCa, makeCrl, makeLeaf, NOW } from '../../../support/unit-certs.ts'

describe('parseCrl', () => {
  const ca = makeCa('CRL Test CA')
  // One serial with the high bit set (DER adds a 0x00 byte), one given with a leading zero byte;
  // the certificate and the CRL carry the same bytes.
  const highBitSerial = Buffer.from('c3a1b2c3d4e5f60718293a4b5c6d7e8f', 'hex')
  const leadingZeroSerial = Buffer.from('000a0b0c0d', 'hex')
  const highBit = makeLeaf(ca, { serial: highBitSerial })
  const leadingZero = makeLeaf(ca, { serial: leadingZeroSerial })
  const thisUpdate = new Date(NOW - DAY)
  const nextUpdate = new Date(NOW + 7 * DAY)
  const der = makeCrl(ca, {
    thisUpdate,
    nextUpdate,
    revoked: [highBitSerial, leadingZeroSerial],
  })
  const crl = parseCrl(der)

  it('gives the issuer as the DER of the CA subject', () => {
    expect(crl.issuerDer.equals(certificateSubjectDer(ca.der))).toBe(true)
  })

  it('gives thisUpdate and nextUpdate', () => {
    expect(crl.thisUpdate).toEqual(thisUpdate)
    expect(crl.nextUpdate).toEqual(nextUpdate)
  })

  it('lists revoked serials exactly as X509Certificate.serialNumber prints them', () => {
    expect(highBit.cert.serialNumber).toBe('C3A1B2C3D4E5F60718293A4B5C6D7E8F')
    expect(leadingZero.cert.serialNumber).toBe('0A0B0C0D')
    expect([...crl.revokedSerials].sort()).toEqual(
      [highBit.cert.serialNumber, leadingZero.cert.serialNumber].sort(),
    )
  })

  it('normalises serials whose DER carries extra leading zero bytes', () => {
    const padded = parseCrl(
      makeCrl(ca, { revoked: [Buffer.from('00ff01', 'hex'), Buffer.from('00000a0b', 'hex')] }),
    )
    expect([...padded.revokedSerials].sort()).toEqual(['0A0B', 'FF01'])
  })

  it('gives an empty set for a CRL that revokes nothing', () => {
    expect(parseCrl(makeCrl(ca)).revokedSerials.size).toBe(0)
  })

  it('reads GeneralizedTime dates (2050 and later)', () => {
    const late = new Date(Date.UTC(2051, 2, 3, 4, 5, 6))
    expect(parseCrl(makeCrl(ca, { nextUpdate: late })).nextUpdate).toEqual(late)
  })

  it('gives the signature algorithm OID', () => {
    expect(crl.signatureAlgorithmOid).toBe('1.2.840.10045.4.3.2')
    expect(parseCrl(makeCrl(ca, { hash: 'sha384' })).signatureAlgorithmOid).toBe('1.2.840.10045.4.3.3')
  })

  it.each([
    { name: 'garbage', der: Buffer.from('not a crl') },
    { name: 'no bytes', der: Buffer.alloc(0) },
    { name: 'a truncated CRL', der: der.subarray(0, der.length - 10) },
  ])('throws on $name', ({ der: input }) => {
    expect(() => parseCrl(input)).toThrow()
  })
})

describe('verifyCrlSignature', () => {
  const cas = [
    { name: 'an EC CA', ca: makeCa('EC CA') },
    { name: 'an RSA CA', ca: makeCa('RSA CA', undefined, { keySpec: { type: 'rsa', bits: 2048 } }) },
  ]

  describe.each(cas)('with $name', ({ ca }) => {
    const crl = parseCrl(makeCrl(ca, { revoked: [Buffer.from('01', 'hex')] }))

    it('is true with the CA public key', () => {
      expect(verifyCrlSignature(crl, ca.cert.publicKey)).toBe(true)
    })

    it('is true for a SHA-384 signature', () => {
      expect(verifyCrlSignature(parseCrl(makeCrl(ca, { hash: 'sha384' })), ca.cert.publicKey)).toBe(true)
    })

    it('is false with another CA key of the same type', () => {
      const other = makeCa('Other', undefined, {
        keySpec: ca.cert.publicKey.asymmetricKeyType === 'rsa' ? { type: 'rsa' } : { type: 'ec' },
      })
      expect(verifyCrlSignature(crl, other.cert.publicKey)).toBe(false)
    })

    it('is false after one byte of the signed part changes', () => {
      const tbsDer = Buffer.from(crl.tbsDer)
      tbsDer[tbsDer.length - 1]! ^= 0x01
      expect(verifyCrlSignature({ ...crl, tbsDer }, ca.cert.publicKey)).toBe(false)
    })

    it('is false for an unknown signature algorithm', () => {
      expect(verifyCrlSignature({ ...crl, signatureAlgorithmOid: '1.2.3.4' }, ca.cert.publicKey)).toBe(false)
    })
  })

  it('is false, not a throw, with a key of another type', () => {
    const ec = makeCa('EC')
    const { publicKey } = generateKeyPairSync('ed25519')
    expect(verifyCrlSignature(parseCrl(makeCrl(ec)), publicKey)).toBe(false)
  })
})

describe('normaliseSerial', () => {
  it.each([
    { hex: '0a1b', out: '0A1B' },
    { hex: '00FF', out: 'FF' },
    { hex: '0000FF01', out: 'FF01' },
    { hex: '000a0b', out: '0A0B' },
    { hex: 'abc', out: '0ABC' },
    { hex: 'f', out: '0F' },
    { hex: '01', out: '01' },
    // Zero keeps one byte, as node prints serial 0.
    { hex: '00', out: '00' },
    { hex: '0000', out: '00' },
    { hex: 'C3A1B2', out: 'C3A1B2' },
  ])('$hex -> $out', ({ hex, out }) => {
    expect(normaliseSerial(hex)).toBe(out)
  })
})

describe('certificateSubjectDer', () => {
  it('gives different DER for different subjects and equal DER for the same subject', () => {
    const a = makeCa('Same Name')
    const b = makeCa('Same Name')
    const c = makeCa('Other Name')
    expect(certificateSubjectDer(a.der).equals(certificateSubjectDer(b.der))).toBe(true)
    expect(certificateSubjectDer(a.der).equals(certificateSubjectDer(c.der))).toBe(false)
  })

  it('gives the leaf subject, not its issuer', () => {
    const ca = makeCa('Parent')
    const leaf = makeLeaf(ca)
    expect(certificateSubjectDer(leaf.der).equals(certificateSubjectDer(ca.der))).toBe(false)
    expect(parseCrl(makeCrl(ca)).issuerDer.equals(certificateSubjectDer(ca.der))).toBe(true)
  })
})
