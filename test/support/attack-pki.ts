/**
 * Extra client certificates for the hardening suite, built at test time from the test PKI's
 * Issuing CA key (never committed): forged issuers, bad chains, broken CA constraints, weak keys
 * and signatures, wrong key usage. Each identity is a PEM file (the leaf first, then whatever
 * chain the attacker sends) and its key, in a fresh folder under the test PKI's temporary folder.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CertificateOptions, Issued } from '../../src/tools/pki/pki-builder.ts'
import { generateKeyPair } from '../../src/tools/pki/x509-builder.ts'
import { issuingCa, testPkiBuilder, THREDD_CLIENT, THREDD_LEAF_SUBJECT, type TestPki } from './test-pki.ts'

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

export function buildAttackPki(pki: TestPki, now = Date.now()): AttackPki {
  const dir = mkdtempSync(join(pki.dir, 'attack-'))
  const write = (name: string, text: string) => {
    const file = join(dir, name)
    writeFileSync(file, text, { mode: 0o600 })
    return file
  }
  const pem = (name: string) => readFileSync(pki.files[name]!, 'utf8')
  const builder = testPkiBuilder(now)
  const issuing = issuingCa(pki, now)
  const issuingPem = issuing.pem
  const org = { type: 'O', value: 'Thredd Test' } as const
  const clients = {} as AttackPki['clients']
  /** A client leaf of `signer` (clientAuth, digitalSignature) unless `options` say otherwise. */
  const leaf = (signer: Issued, options: Partial<CertificateOptions> = {}) =>
    signer.issue({ ...THREDD_CLIENT, ...options })
  const save = (name: AttackClient, chainPem: string, owner: Issued) => {
    clients[name] = { cert: write(`${name}.pem`, chainPem), key: write(`${name}.key`, owner.keyPem) }
  }

  // Self-signed in all but name: the issuer name and key identifier are the Issuing CA's, the
  // signature is the leaf's own key.
  {
    const key = generateKeyPair({ type: 'ec' }).privateKey
    const l = issuing.issue({
      subject: THREDD_LEAF_SUBJECT,
      key,
      signingKey: key,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
    })
    save('selfSignedCopiedNames', l.pem, l)
  }

  // A forged Issuing CA: same name, its own key, self-signed; the leaf is signed by that key and
  // names the real Issuing CA (with its key identifier). The attacker sends both.
  {
    const forgedCa = builder.root({
      subject: [org, { type: 'CN', value: 'Test Thredd Issuing CA' }],
      ca: { pathLength: 0 },
    })
    const l = leaf(issuing, { signingKey: forgedCa.key })
    save('forgedIssuerWithChain', l.pem + forgedCa.pem, l)
  }

  // A valid leaf, then the chain in the wrong order (root before issuing) and unrelated CAs.
  {
    const l = leaf(issuing)
    const strayCa = builder.root({
      subject: [{ type: 'CN', value: 'Unrelated Junk CA' }],
      keyUsage: ['keyCertSign'],
    })
    const chain = l.pem + pem('other-root-ca.pem') + pem('thredd-root-ca.pem') + strayCa.pem + issuingPem
    save('goodWithJunkChain', chain, l)
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
    const notCa = issuing.intermediate({
      subject: [org, { type: 'CN', value: 'Not A CA Intermediate' }],
      ca: false,
    })
    const l = leaf(notCa)
    save('underNonCaIntermediate', l.pem + notCa.pem, l)
  }

  // An ordinary client leaf used as a CA: it signs another leaf.
  {
    const first = leaf(issuing, { subject: [org, { type: 'CN', value: 'ordinary-leaf' }] })
    const l = leaf(first)
    save('underLeafAsCa', l.pem + first.pem, l)
  }

  // Path length: the Issuing CA has pathLength 0, so a sub-CA under it may issue nothing.
  const subCa = issuing.intermediate({ subject: [org, { type: 'CN', value: 'Test Thredd Sub CA' }] })
  {
    const l = leaf(subCa)
    save('pathLengthViolation', l.pem + subCa.pem, l)
  }
  const subCaFile = write('sub-ca.pem', subCa.pem)
  const subCaCrl = write(
    'sub-ca.crl.pem',
    subCa.crl({ thisUpdate: new Date(now - DAY), nextUpdate: new Date(now + 7 * DAY) }).pem,
  )

  // Key usage without digitalSignature: an EC key marked for key agreement only, an RSA key for
  // key transport only. Neither may sign a TLS CertificateVerify.
  {
    const l = leaf(issuing, { keyUsage: ['keyAgreement'] })
    save('kuKeyAgreementOnly', l.pem, l)
  }
  {
    const l = leaf(issuing, { key: { type: 'rsa', bits: 2048 }, keyUsage: ['keyEncipherment'] })
    save('kuKeyEnciphermentOnly', l.pem, l)
  }

  // Weak key and weak signature.
  {
    const l = leaf(issuing, {
      key: { type: 'rsa', bits: 1024 },
      keyUsage: ['digitalSignature', 'keyEncipherment'],
    })
    save('rsa1024', l.pem, l)
  }
  {
    const l = leaf(issuing, { hash: 'sha1' })
    save('sha1Signature', l.pem, l)
  }

  // A valid certificate for someone the subject rules do not allow.
  {
    const l = leaf(issuing, {
      subject: [org, { type: 'OU', value: 'EHI' }, { type: 'CN', value: 'thredd-other-service' }],
    })
    save('otherSubject', l.pem, l)
  }

  return { dir, clients, subCa: { cert: subCaFile, crl: subCaCrl } }
}
