/**
 * Certificates for OCSP tests, made at test time with the project's builder and valid around the
 * real clock (openssl's responder stamps answers with the real time): an issuing CA (the test
 * PKI's Thredd Issuing CA when given, so the leaves chain to the gateway's trust), leaves that
 * are good, revoked, on hold and unknown to the responder, the responder certificates a CA may or
 * may not authorise, and a second CA that issued a leaf with the same serial as `good`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CertificateOptions, Issued } from '../../src/tools/pki/pki-builder.ts'
import type { KeySpec, NameAttribute } from '../../src/tools/pki/x509-builder.ts'
import { writeOcspIndex, type SignerFiles } from './ocsp.ts'
import { testPkiBuilder } from './test-pki.ts'

/** A certificate of the OCSP PKI, with its key, both written to files. */
export type PkiCert = Issued & { file: string; keyFile: string }

export interface OcspPki {
  dir: string
  issuer: PkiCert
  good: PkiCert
  revoked: PkiCert
  onHold: PkiCert
  /** Issued by `issuer`, absent from its index: the responder answers unknown. */
  unknown: PkiCert
  /** Responder certificate issued by `issuer` with the OCSPSigning EKU. */
  delegated: PkiCert
  /** Issued by `issuer`, without the OCSPSigning EKU. */
  delegatedNoEku: PkiCert
  /** Self-signed, with the OCSPSigning EKU: not authorised by `issuer`. */
  rogue: PkiCert
  otherCa: PkiCert
  /** Issued by `otherCa` with the same serial as `good`; revoked in `otherIndex`. */
  sameSerialOtherCa: PkiCert
  index: string
  otherIndex: string
  /** Signs answers as the issuing CA itself. */
  issuerSigner: SignerFiles
  delegatedSigner: SignerFiles
  otherSigner: SignerFiles
  /** A further leaf of `issuer` (or of `otherCa`), for example with an authorityInfoAccess OCSP URL. */
  mintLeaf(name: string, options?: LeafOptions): PkiCert
}

export interface LeafOptions {
  ocspUrls?: string[]
  serial?: Buffer
  /** Issued by otherCa instead of issuer. */
  byOtherCa?: boolean
}

export function buildOcspPki(
  dir: string,
  issuing?: { certFile: string; keyFile: string },
  keySpec: KeySpec = { type: 'ec' },
): OcspPki {
  mkdirSync(dir, { recursive: true })
  const builder = testPkiBuilder(Date.now(), keySpec)
  const save = (name: string, made: Issued): PkiCert => {
    const file = join(dir, `${name}.pem`)
    const keyFile = join(dir, `${name}.key`)
    writeFileSync(file, made.pem)
    writeFileSync(keyFile, made.keyPem, { mode: 0o600 })
    return Object.assign(made, { file, keyFile })
  }
  const make = (
    name: string,
    subject: NameAttribute[],
    signer: PkiCert | undefined,
    options: Partial<CertificateOptions> = {},
  ): PkiCert =>
    save(name, signer ? signer.issue({ ...options, subject }) : builder.selfSigned({ ...options, subject }))
  const ca = (name: string, cn: string) => save(name, builder.root({ subject: [{ type: 'CN', value: cn }] }))

  const issuer: PkiCert = issuing
    ? Object.assign(builder.load(readFileSync(issuing.certFile), readFileSync(issuing.keyFile)), {
        file: issuing.certFile,
        keyFile: issuing.keyFile,
      })
    : ca('issuing-ca', 'OCSP Test Issuing CA')

  const leafSubject: NameAttribute[] = [
    { type: 'O', value: 'Thredd Test' },
    { type: 'CN', value: 'thredd-ehi-transport' },
  ]
  const leafSpec: Partial<CertificateOptions> = {
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  }
  const otherCa = ca('other-ca', 'OCSP Test Other CA')
  const mintLeaf = (name: string, { byOtherCa, ...options }: LeafOptions = {}) =>
    make(name, leafSubject, byOtherCa ? otherCa : issuer, { ...leafSpec, ...options })

  const good = mintLeaf('leaf-good')
  const revoked = mintLeaf('leaf-revoked')
  const onHold = mintLeaf('leaf-on-hold')
  const unknown = mintLeaf('leaf-unknown')
  const responder = (cn: string) => [{ type: 'CN', value: cn }] as NameAttribute[]
  const delegated = make('responder-delegated', responder('OCSP Responder'), issuer, {
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['OCSPSigning'],
  })
  const delegatedNoEku = make('responder-no-eku', responder('OCSP Responder without EKU'), issuer, {
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  })
  const rogue = make('responder-rogue', responder('Rogue OCSP Responder'), undefined, {
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['OCSPSigning'],
  })
  const sameSerialOtherCa = mintLeaf('leaf-same-serial-other-ca', {
    byOtherCa: true,
    serial: good.serial,
  })

  const index = writeOcspIndex(join(dir, 'index.txt'), [
    { cert: good.cert, status: 'good' },
    { cert: revoked.cert, status: 'revoked', reason: 'keyCompromise' },
    { cert: onHold.cert, status: 'revoked', reason: 'certificateHold' },
  ])
  const otherIndex = writeOcspIndex(join(dir, 'other-index.txt'), [
    { cert: sameSerialOtherCa.cert, status: 'revoked', reason: 'keyCompromise' },
  ])
  return {
    dir,
    issuer,
    good,
    revoked,
    onHold,
    unknown,
    delegated,
    delegatedNoEku,
    rogue,
    otherCa,
    sameSerialOtherCa,
    index,
    otherIndex,
    issuerSigner: { ca: issuer.file, rsigner: issuer.file, rkey: issuer.keyFile },
    delegatedSigner: { ca: issuer.file, rsigner: delegated.file, rkey: delegated.keyFile },
    otherSigner: { ca: otherCa.file, rsigner: otherCa.file, rkey: otherCa.keyFile },
    mintLeaf,
  }
}
