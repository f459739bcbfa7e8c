/**
 * The leaf checks OpenSSL leaves to us: keyUsage must allow digitalSignature, RSA keys are at
 * least 2048 bits, EC keys are on P-256/384/521, signatures are not SHA-1 or MD5. The keyUsage
 * bits are read from DER the test builds, so a wrong bit offset fails here.
 */
import { describe, expect, it } from 'vitest'
import {
  keyProblem,
  readKeyStrength,
  readKeyUsage,
  type KeyStrength,
} from '../../../src/identity/key-strength.ts'
import { makeCa, makeLeaf } from '../support/certs.ts'

const root = makeCa('Root CA')

describe('readKeyUsage', () => {
  it.each([
    [['digitalSignature']],
    [['keyAgreement']],
    [['keyEncipherment']],
    [['digitalSignature', 'keyEncipherment']],
    [['digitalSignature', 'nonRepudiation', 'keyAgreement']],
    [['keyCertSign', 'cRLSign']],
  ] as const)('reads %j from the certificate', (bits) => {
    const leaf = makeLeaf(root, { keyUsage: [...bits] })
    expect(readKeyUsage(leaf.der)).toEqual(bits)
  })

  it('is undefined when the certificate has no keyUsage extension', () => {
    const leaf = makeLeaf(root, { keyUsage: undefined })
    expect(readKeyUsage(leaf.der)).toBeUndefined()
  })
})

describe('readKeyStrength', () => {
  it('names an RSA key, its size and the signature algorithm', () => {
    const leaf = makeLeaf(root, { keySpec: { type: 'rsa', bits: 2048 } })
    expect(readKeyStrength(leaf.cert)).toMatchObject({ keyType: 'rsa', modulusBits: 2048 })
  })

  it('names an EC key and its curve', () => {
    const leaf = makeLeaf(root, { keySpec: { type: 'ec', curve: 'P-384' } })
    expect(readKeyStrength(leaf.cert)).toMatchObject({ keyType: 'ec', curve: 'secp384r1' })
  })

  it('names a SHA-1 signature', () => {
    const leaf = makeLeaf(root, { hash: 'sha1' })
    expect(readKeyStrength(leaf.cert).signatureAlgorithm).toMatch(/sha1/i)
  })
})

const GOOD: KeyStrength = {
  keyUsage: ['digitalSignature'],
  keyType: 'ec',
  modulusBits: undefined,
  curve: 'prime256v1',
  signatureAlgorithm: 'ecdsa-with-SHA256',
}

describe('keyProblem', () => {
  it.each<[string, Partial<KeyStrength>, string | undefined]>([
    ['a P-256 key with digitalSignature', {}, undefined],
    ['no keyUsage extension', { keyUsage: undefined }, undefined],
    ['keyAgreement only', { keyUsage: ['keyAgreement'] }, 'bad_eku'],
    ['keyEncipherment only', { keyUsage: ['keyEncipherment'] }, 'bad_eku'],
    ['an empty keyUsage', { keyUsage: [] }, 'bad_eku'],
    ['RSA 2048', { keyType: 'rsa', curve: undefined, modulusBits: 2048 }, undefined],
    ['RSA 1024', { keyType: 'rsa', curve: undefined, modulusBits: 1024 }, 'weak_key'],
    ['RSA-PSS 1024', { keyType: 'rsa-pss', curve: undefined, modulusBits: 1024 }, 'weak_key'],
    ['P-384', { curve: 'secp384r1' }, undefined],
    ['secp256k1', { curve: 'secp256k1' }, 'weak_key'],
    ['Ed25519', { keyType: 'ed25519', curve: undefined }, undefined],
    ['DSA', { keyType: 'dsa', curve: undefined }, 'weak_key'],
    [
      'sha1WithRSAEncryption',
      { keyType: 'rsa', modulusBits: 4096, signatureAlgorithm: 'sha1WithRSAEncryption' },
      'weak_key',
    ],
    ['ecdsa-with-SHA1', { signatureAlgorithm: 'ecdsa-with-SHA1' }, 'weak_key'],
    [
      'md5WithRSAEncryption',
      { keyType: 'rsa', modulusBits: 2048, signatureAlgorithm: 'md5WithRSAEncryption' },
      'weak_key',
    ],
    ['ecdsa-with-SHA384', { signatureAlgorithm: 'ecdsa-with-SHA384' }, undefined],
    [
      'sha512WithRSAEncryption',
      { keyType: 'rsa', modulusBits: 3072, signatureAlgorithm: 'sha512WithRSAEncryption' },
      undefined,
    ],
  ])('%s -> %s', (_name, change, reason) => {
    expect(keyProblem({ ...GOOD, ...change })?.reason).toBe(reason)
  })

  it('checks keyUsage before strength, so a weak key without digitalSignature is bad_eku', () => {
    expect(keyProblem({ ...GOOD, keyUsage: ['keyAgreement'], curve: 'secp256k1' })?.reason).toBe('bad_eku')
  })
})
