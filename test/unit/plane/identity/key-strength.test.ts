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
} from '../../../../src/plane/identity/key-strength.ts'
import type { X509Certificate } from 'node:crypto'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { days, LEAF_SUBJECT, makeCa, makeLeaf } from '../../../support/unit-certs.ts'

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

/** A client leaf with `publicKey`, signed by an ordinary P-256 CA (the subject key is under test). */
function leafWithKey(publicKey: KeyObject): X509Certificate {
  return makeCa('Key Table CA').issue({
    subject: LEAF_SUBJECT,
    key: publicKey,
    ...days(-1, 30),
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  }).cert
}

const ec = (namedCurve: string) => () => generateKeyPairSync('ec', { namedCurve }).publicKey
const rsa = (modulusLength: number) => () => generateKeyPairSync('rsa', { modulusLength }).publicKey
const rsaPss = (modulusLength: number) => () => generateKeyPairSync('rsa-pss', { modulusLength }).publicKey

// Every key type a client certificate may carry, read from a real certificate: the curve names
// come from OpenSSL, so a renamed or dropped curve fails here, not in production.
describe('the accepted and refused client keys', () => {
  it.each<[string, 'accepted' | 'weak_key', () => KeyObject]>([
    ['EC P-256', 'accepted', ec('P-256')],
    ['EC P-384', 'accepted', ec('P-384')],
    ['EC P-521', 'accepted', ec('P-521')],
    ['RSA 2048', 'accepted', rsa(2048)],
    ['RSA 3072', 'accepted', rsa(3072)],
    ['RSA-PSS 2048', 'accepted', rsaPss(2048)],
    ['Ed25519', 'accepted', () => generateKeyPairSync('ed25519').publicKey],
    ['Ed448', 'accepted', () => generateKeyPairSync('ed448').publicKey],
    ['EC secp256k1', 'weak_key', ec('secp256k1')],
    ['EC P-224', 'weak_key', ec('secp224r1')],
    ['EC P-192', 'weak_key', ec('prime192v1')],
    ['EC brainpoolP256r1', 'weak_key', ec('brainpoolP256r1')],
    ['EC brainpoolP384r1', 'weak_key', ec('brainpoolP384r1')],
    ['EC sect283k1 (binary curve)', 'weak_key', ec('sect283k1')],
    ['RSA 1024', 'weak_key', rsa(1024)],
    ['RSA 2047', 'weak_key', rsa(2047)],
    ['RSA-PSS 1024', 'weak_key', rsaPss(1024)],
    [
      'DSA 2048',
      'weak_key',
      () => generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).publicKey,
    ],
    // Key-agreement-only keys cannot sign a CertificateVerify.
    ['X25519', 'weak_key', () => generateKeyPairSync('x25519').publicKey],
    ['X448', 'weak_key', () => generateKeyPairSync('x448').publicKey],
  ])('%s -> %s', (_name, reason, key) => {
    expect(keyProblem(readKeyStrength(leafWithKey(key())))?.reason ?? 'accepted').toBe(reason)
  })
})
