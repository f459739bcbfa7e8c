/**
 * Extra client certificates for the hardening suite, built at test time from the test PKI's
 * Issuing CA key (never committed): forged issuers, bad chains, broken CA constraints, weak keys
 * and signatures, wrong key usage. Each identity is a PEM file (the leaf first, then whatever
 * chain the attacker sends) and its key, in a fresh folder under the test PKI's temporary folder.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createCertificate,
  createCrl,
  generateKeyPair,
  type CertificateSpec,
  type KeySpec,
  type NameAttribute,
} from '../../src/tools/pki/x509-builder.ts'
import type { TestPki } from './test-pki.ts'

const DAY = 86_400_000

export const ATTACK_CLIENTS = [
  /** Self-signed with its own key, copying the real leaf's subject, issuer name and AKI. */
  'selfSignedCopiedNames',
  /** Signed under the real Issuing CA's name (and key identifier) by another key, sent with that forged CA. */
  'forgedIssuerWithChain',
  /** A valid leaf sent with the chain reversed and unrelated certificates mixed in. */
  'goodWithJunkChain',
  /** A leaf of another CA sent with Thredd's real Root and Issuing CA certificates appended. */
  'otherCaWithThreddChain',
  /** Issued by an "intermediate" the Issuing CA signed with CA:false. */
  'underNonCaIntermediate',
  /** Issued by an ordinary client leaf used as a CA. */
  'underLeafAsCa',
  /** Issued by a sub-CA under the Issuing CA, whose pathLength is 0. */
  'pathLengthViolation',
  /** EC leaf whose keyUsage is keyAgreement only (no digitalSignature). */
  'kuKeyAgreementOnly',
  /** RSA leaf whose keyUsage is keyEncipherment only (no digitalSignature). */
  'kuKeyEnciphermentOnly',
  /** RSA 1024-bit leaf. */
  'rsa1024',
  /** Leaf signed by the Issuing CA with ECDSA-SHA1. */
  'sha1Signature',
  /** A valid leaf whose CN is not the one the policy allows. */
  'otherSubject',
] as const
export type AttackClient = (typeof ATTACK_CLIENTS)[number]

export interface AttackPki {
  dir: string
  clients: Record<AttackClient, { cert: string; key: string }>
  /** The sub-CA of `pathLengthViolation`, and a current CRL of it (for a bundle that includes it). */
  subCa: { cert: string; crl: string }
}

interface Signer {
  der: Buffer
  pem: string
  key: KeyObject
}

export function buildAttackPki(pki: TestPki, now = Date.now()): AttackPki {
  const dir = mkdtempSync(join(pki.dir, 'attack-'))
  const write = (name: string, text: string) => {
    const file = join(dir, name)
    writeFileSync(file, text, { mode: 0o600 })
    return file
  }
  const keyPem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string
  const window = { notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) }
  const pem = (name: string) => readFileSync(pki.files[name]!, 'utf8')
  const issuingPem = pem('thredd-issuing-ca.pem')
  const issuing: Signer = {
    der: new X509Certificate(issuingPem).raw,
    pem: issuingPem,
    key: createPrivateKey(readFileSync(pki.files['thredd-issuing-ca.key']!)),
  }
  const org = { type: 'O', value: 'Thredd Test' } as const
  const leafSubject: NameAttribute[] = [
    org,
    { type: 'OU', value: 'EHI' },
    { type: 'OU', value: 'Transport' },
    { type: 'CN', value: 'thredd-ehi-transport' },
  ]
  const clients = {} as AttackPki['clients']

  /** A client leaf (clientAuth, digitalSignature) unless `spec` says otherwise. */
  const leaf = (
    signer: Signer | 'self',
    options: Partial<CertificateSpec> & { keySpec?: KeySpec; signWith?: KeyObject } = {},
  ) => {
    const key = generateKeyPair(options.keySpec ?? { type: 'ec' })
    const spec: CertificateSpec = {
      subject: leafSubject,
      publicKey: key.publicKey,
      ...window,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
      san: { uri: ['spiffe://thredd.test/ehi'], dns: ['ehi.thredd.test'] },
      ...options,
    }
    if (signer === 'self') spec.selfKey = key.privateKey
    else spec.issuer = { certDer: signer.der, key: options.signWith ?? signer.key }
    const cert = createCertificate(spec)
    return { ...cert, key: key.privateKey }
  }
  const ca = (signer: Signer, subject: NameAttribute[], extra: Partial<CertificateSpec> = {}): Signer => {
    const key = generateKeyPair({ type: 'ec' })
    const cert = createCertificate({
      subject,
      publicKey: key.publicKey,
      issuer: { certDer: signer.der, key: signer.key },
      ...window,
      ca: {},
      keyUsage: ['keyCertSign', 'cRLSign'],
      ...extra,
    })
    return { ...cert, key: key.privateKey }
  }
  const save = (name: AttackClient, chainPem: string, key: KeyObject) => {
    clients[name] = { cert: write(`${name}.pem`, chainPem), key: write(`${name}.key`, keyPem(key)) }
  }

  // Self-signed in all but name: the issuer name and key identifier are the Issuing CA's, the
  // signature is the leaf's own key.
  {
    const key = generateKeyPair({ type: 'ec' })
    const cert = createCertificate({
      subject: leafSubject,
      publicKey: key.publicKey,
      issuer: { certDer: issuing.der, key: key.privateKey },
      ...window,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
    })
    save('selfSignedCopiedNames', cert.pem, key.privateKey)
  }

  // A forged Issuing CA: same name, its own key, self-signed; the leaf is signed by that key and
  // names the real Issuing CA (with its key identifier). The attacker sends both.
  {
    const forgedKey = generateKeyPair({ type: 'ec' })
    const forgedCa = createCertificate({
      subject: [org, { type: 'CN', value: 'Test Thredd Issuing CA' }],
      publicKey: forgedKey.publicKey,
      selfKey: forgedKey.privateKey,
      ...window,
      ca: { pathLength: 0 },
      keyUsage: ['keyCertSign', 'cRLSign'],
    })
    const l = leaf(issuing, { signWith: forgedKey.privateKey })
    save('forgedIssuerWithChain', l.pem + forgedCa.pem, l.key)
  }

  // A valid leaf, then the chain in the wrong order (root before issuing) and unrelated CAs.
  {
    const l = leaf(issuing)
    const stray = generateKeyPair({ type: 'ec' })
    const strayCa = createCertificate({
      subject: [{ type: 'CN', value: 'Unrelated Junk CA' }],
      publicKey: stray.publicKey,
      selfKey: stray.privateKey,
      ...window,
      ca: {},
      keyUsage: ['keyCertSign'],
    })
    const chain = l.pem + pem('other-root-ca.pem') + pem('thredd-root-ca.pem') + strayCa.pem + issuingPem
    save('goodWithJunkChain', chain, l.key)
  }

  // Another CA's leaf with Thredd's own CA certificates appended: still not issued by them.
  {
    const other = pki.clients.otherCa
    const chain = readFileSync(other.cert, 'utf8') + pem('thredd-root-ca.pem') + issuingPem
    clients.otherCaWithThreddChain = {
      cert: write('otherCaWithThreddChain.pem', chain),
      key: write('otherCaWithThreddChain.key', readFileSync(other.key, 'utf8')),
    }
  }

  // An intermediate with basicConstraints CA:false (but keyCertSign), issuing a leaf.
  {
    const notCa = ca(issuing, [org, { type: 'CN', value: 'Not A CA Intermediate' }], { ca: false })
    const l = leaf(notCa)
    save('underNonCaIntermediate', l.pem + notCa.pem, l.key)
  }

  // An ordinary client leaf used as a CA: it signs another leaf.
  {
    const first = leaf(issuing, { subject: [org, { type: 'CN', value: 'ordinary-leaf' }] })
    const l = leaf(first)
    save('underLeafAsCa', l.pem + first.pem, l.key)
  }

  // Path length: the Issuing CA has pathLength 0, so a sub-CA under it may issue nothing.
  const subCa = ca(issuing, [org, { type: 'CN', value: 'Test Thredd Sub CA' }])
  {
    const l = leaf(subCa)
    save('pathLengthViolation', l.pem + subCa.pem, l.key)
  }
  const subCaFile = write('sub-ca.pem', subCa.pem)
  const subCaCrl = write(
    'sub-ca.crl.pem',
    createCrl({
      issuer: { certDer: subCa.der, key: subCa.key },
      thisUpdate: new Date(now - DAY),
      nextUpdate: new Date(now + 7 * DAY),
    }).pem,
  )

  // Key usage without digitalSignature: an EC key marked for key agreement only, an RSA key for
  // key transport only. Neither may sign a TLS CertificateVerify.
  {
    const l = leaf(issuing, { keyUsage: ['keyAgreement'] })
    save('kuKeyAgreementOnly', l.pem, l.key)
  }
  {
    const l = leaf(issuing, { keySpec: { type: 'rsa', bits: 2048 }, keyUsage: ['keyEncipherment'] })
    save('kuKeyEnciphermentOnly', l.pem, l.key)
  }

  // Weak key and weak signature.
  {
    const l = leaf(issuing, {
      keySpec: { type: 'rsa', bits: 1024 },
      keyUsage: ['digitalSignature', 'keyEncipherment'],
    })
    save('rsa1024', l.pem, l.key)
  }
  {
    const l = leaf(issuing, { hash: 'sha1' })
    save('sha1Signature', l.pem, l.key)
  }

  // A valid certificate for someone the subject rules do not allow.
  {
    const l = leaf(issuing, {
      subject: [org, { type: 'OU', value: 'EHI' }, { type: 'CN', value: 'thredd-other-service' }],
    })
    save('otherSubject', l.pem, l.key)
  }

  return { dir, clients, subCa: { cert: subCaFile, crl: subCaCrl } }
}
