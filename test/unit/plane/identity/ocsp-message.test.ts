/**
 * Reading OCSP answers: every response here is made by openssl's own responder (run offline on
 * our request, no socket), so the reader is checked against what a real responder sends, one
 * defect at a time: the signer, the signature, the certificate named, the nonce and the time
 * window. The request is checked the other way round: openssl must read it.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OCSPResponse, OCSPResponseStatus } from '@peculiar/asn1-ocsp'
import { AsnConvert } from '@peculiar/asn1-schema'
import { afterAll, describe, expect, it } from 'vitest'
import {
  buildOcspRequest,
  readOcspResponse,
  responderUrlsOf,
  type ReadOptions,
} from '../../../../src/plane/identity/ocsp/ocsp-message.ts'
import { buildOcspPki, type PkiCert } from '../../../support/ocsp-pki.ts'
import { respondOffline, type SignerFiles } from '../../../support/ocsp.ts'

const dir = mkdtempSync(join(tmpdir(), 'ehi-ocsp-message-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const pki = buildOcspPki(join(dir, 'ec'))

const SKEW = 300_000
const MAX_AGE = 3_600_000

function answer(
  leaf: PkiCert,
  options: { signer?: SignerFiles; args?: string[]; nonce?: Buffer; index?: string } = {},
) {
  const request = buildOcspRequest(leaf.cert, pki.issuer.cert, options.nonce)
  const der = respondOffline(
    options.index ?? pki.index,
    options.signer ?? pki.issuerSigner,
    request.der,
    options.args,
  )
  return { der, nonce: request.nonce }
}

function read(der: Buffer, leaf: PkiCert, options: Partial<ReadOptions> = {}) {
  return readOcspResponse(der, {
    leaf: leaf.cert,
    issuer: pki.issuer.cert,
    now: Date.now(),
    clockSkewMs: SKEW,
    maxAgeMs: MAX_AGE,
    ...options,
  })
}

describe('readOcspResponse: statuses', () => {
  it('reads good, signed by the issuing CA', () => {
    const result = read(answer(pki.good).der, pki.good)
    expect(result).toMatchObject({ ok: true, answer: { status: 'good', signer: 'issuer' } })
  })

  it('reads revoked with its time and CRL reason', () => {
    const result = read(answer(pki.revoked).der, pki.revoked)
    expect(result).toMatchObject({ ok: true, answer: { status: 'revoked', revocationReason: 1 } })
    expect(result.ok && result.answer.revocationTime).toBeLessThan(Date.now())
  })

  it('reads a certificate on hold as revoked with reason certificateHold', () => {
    const result = read(answer(pki.onHold).der, pki.onHold)
    expect(result).toMatchObject({ ok: true, answer: { status: 'revoked', revocationReason: 6 } })
  })

  it('reads unknown for a serial the responder does not list', () => {
    const result = read(answer(pki.unknown).der, pki.unknown)
    expect(result).toMatchObject({ ok: true, answer: { status: 'unknown' } })
  })

  it('uses nextUpdate as the expiry when the responder gives one', () => {
    const result = read(answer(pki.good, { args: ['-nmin', '10'] }).der, pki.good)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.answer.nextUpdate).toBe(result.answer.thisUpdate + 600_000)
    expect(result.answer.expiresAt).toBe(result.answer.nextUpdate)
  })

  it('expires an answer without nextUpdate maxAge after its thisUpdate', () => {
    const result = read(answer(pki.good).der, pki.good)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.answer.nextUpdate).toBeUndefined()
    expect(result.answer.expiresAt).toBe(result.answer.thisUpdate + MAX_AGE)
  })
})

describe('readOcspResponse: who signed', () => {
  it('accepts a delegated responder the issuing CA certified for OCSP signing', () => {
    const result = read(answer(pki.good, { signer: pki.delegatedSigner }).der, pki.good)
    expect(result).toMatchObject({ ok: true, answer: { status: 'good', signer: 'delegated' } })
  })

  it('finds the delegated responder by key hash (responderID byKey)', () => {
    const der = answer(pki.good, { signer: pki.delegatedSigner, args: ['-resp_key_id'] }).der
    expect(read(der, pki.good)).toMatchObject({ ok: true, answer: { signer: 'delegated' } })
  })

  it('finds the issuing CA by key hash (responderID byKey)', () => {
    const der = answer(pki.good, { args: ['-resp_key_id'] }).der
    expect(read(der, pki.good)).toMatchObject({ ok: true, answer: { signer: 'issuer' } })
  })

  it('refuses a responder certificate the issuing CA did not issue (wrong_signer)', () => {
    const rogue = { ca: pki.issuer.file, rsigner: pki.rogue.file, rkey: pki.rogue.keyFile }
    const result = read(answer(pki.good, { signer: rogue }).der, pki.good)
    expect(result).toMatchObject({ ok: false, error: 'wrong_signer' })
  })

  it('refuses a responder certificate without the OCSPSigning EKU (wrong_signer)', () => {
    const noEku = { ca: pki.issuer.file, rsigner: pki.delegatedNoEku.file, rkey: pki.delegatedNoEku.keyFile }
    const result = read(answer(pki.good, { signer: noEku }).der, pki.good)
    expect(result).toMatchObject({ ok: false, error: 'wrong_signer' })
    expect(!result.ok && result.detail).toMatch(/OCSPSigning/)
  })

  it('refuses a delegated answer that does not carry the responder certificate (wrong_signer)', () => {
    const der = answer(pki.good, { signer: pki.delegatedSigner, args: ['-resp_no_certs'] }).der
    expect(read(der, pki.good)).toMatchObject({ ok: false, error: 'wrong_signer' })
  })

  it('refuses an answer checked against another CA (wrong_signer)', () => {
    const result = read(answer(pki.good).der, pki.good, { issuer: pki.otherCa.cert })
    expect(result).toMatchObject({ ok: false, error: 'wrong_signer' })
  })

  it('refuses a corrupted signature (bad_signature)', () => {
    const result = read(answer(pki.good, { args: ['-badsig'] }).der, pki.good)
    expect(result).toMatchObject({ ok: false, error: 'bad_signature' })
  })

  it('refuses a SHA-1 signature (bad_signature)', () => {
    const result = read(answer(pki.good, { args: ['-rmd', 'sha1'] }).der, pki.good)
    expect(result).toMatchObject({ ok: false, error: 'bad_signature' })
    expect(!result.ok && result.detail).toMatch(/not accepted/)
  })
})

describe('readOcspResponse: what it names and when', () => {
  it('refuses an answer about another certificate (cert_id_mismatch)', () => {
    const result = read(answer(pki.good).der, pki.unknown)
    expect(result).toMatchObject({ ok: false, error: 'cert_id_mismatch' })
  })

  it('refuses an answer about the same serial from another CA (cert_id_mismatch)', () => {
    // Signed by our issuing CA, but about otherCa's certificate with the same serial as `good`.
    const signedByIssuer = { ca: pki.otherCa.file, rsigner: pki.issuer.file, rkey: pki.issuer.keyFile }
    const request = buildOcspRequest(pki.sameSerialOtherCa.cert, pki.otherCa.cert)
    const der = respondOffline(pki.otherIndex, signedByIssuer, request.der)
    expect(read(der, pki.good)).toMatchObject({ ok: false, error: 'cert_id_mismatch' })
  })

  it('accepts an answer that echoes the nonce sent', () => {
    const { der, nonce } = answer(pki.good, { nonce: Buffer.from('0123456789abcdef') })
    expect(read(der, pki.good, { nonce })).toMatchObject({ ok: true, answer: { status: 'good' } })
  })

  it('refuses an answer without the nonce sent (nonce_mismatch)', () => {
    const sent = buildOcspRequest(pki.good.cert, pki.issuer.cert, Buffer.from('0123456789abcdef')).nonce
    const result = read(answer(pki.good).der, pki.good, { nonce: sent })
    expect(result).toMatchObject({ ok: false, error: 'nonce_mismatch' })
  })

  it('refuses an answer with another nonce (nonce_mismatch)', () => {
    const { der } = answer(pki.good, { nonce: Buffer.from('0123456789abcdef') })
    const other = buildOcspRequest(pki.good.cert, pki.issuer.cert, Buffer.from('fedcba9876543210')).nonce
    expect(read(der, pki.good, { nonce: other })).toMatchObject({ ok: false, error: 'nonce_mismatch' })
  })

  it('refuses an answer past its nextUpdate (stale)', () => {
    const { der } = answer(pki.good, { args: ['-nmin', '1'] })
    const result = read(der, pki.good, { now: Date.now() + 120_000 })
    expect(result).toMatchObject({ ok: false, error: 'stale' })
  })

  it('refuses an answer without nextUpdate older than maxAge (stale)', () => {
    const { der } = answer(pki.good)
    const result = read(der, pki.good, { now: Date.now() + MAX_AGE + 60_000 })
    expect(result).toMatchObject({ ok: false, error: 'stale' })
  })

  it('refuses an answer whose thisUpdate is further ahead than the clock skew (not_yet_valid)', () => {
    const { der } = answer(pki.good)
    const result = read(der, pki.good, { now: Date.now() - SKEW - 60_000 })
    expect(result).toMatchObject({ ok: false, error: 'not_yet_valid' })
  })

  it('accepts a thisUpdate ahead by less than the clock skew', () => {
    const { der } = answer(pki.good)
    expect(read(der, pki.good, { now: Date.now() - 60_000 })).toMatchObject({ ok: true })
  })
})

describe('readOcspResponse: broken answers', () => {
  it.each(['tryLater', 'internalError', 'unauthorized', 'malformedRequest'] as const)(
    'refuses responseStatus %s (unsuccessful)',
    (status) => {
      const der = Buffer.from(
        AsnConvert.serialize(new OCSPResponse({ responseStatus: OCSPResponseStatus[status] })),
      )
      const result = read(der, pki.good)
      expect(result).toMatchObject({ ok: false, error: 'unsuccessful' })
      expect(!result.ok && result.detail).toContain(status)
    },
  )

  it('refuses bytes that are not DER (malformed)', () => {
    expect(read(Buffer.from('<html>not found</html>'), pki.good)).toMatchObject({
      ok: false,
      error: 'malformed',
    })
  })

  it('refuses a truncated answer (malformed)', () => {
    const { der } = answer(pki.good)
    expect(read(der.subarray(0, der.length - 20), pki.good)).toMatchObject({ ok: false, error: 'malformed' })
  })
})

describe('RSA issuer', () => {
  const rsa = buildOcspPki(join(dir, 'rsa'), undefined, { type: 'rsa', bits: 2048 })

  it('verifies an RSA-signed answer', () => {
    const request = buildOcspRequest(rsa.revoked.cert, rsa.issuer.cert)
    const der = respondOffline(rsa.index, rsa.issuerSigner, request.der)
    const result = readOcspResponse(der, {
      leaf: rsa.revoked.cert,
      issuer: rsa.issuer.cert,
      now: Date.now(),
      clockSkewMs: SKEW,
      maxAgeMs: MAX_AGE,
    })
    expect(result).toMatchObject({ ok: true, answer: { status: 'revoked' } })
  })
})

describe('buildOcspRequest', () => {
  it('is read by openssl, naming the serial, with the nonce when asked', () => {
    const request = buildOcspRequest(pki.good.cert, pki.issuer.cert, Buffer.from('0123456789abcdef'))
    const file = join(dir, 'request.der')
    writeFileSync(file, request.der)
    const text = spawnSync('openssl', ['ocsp', '-reqin', file, '-req_text'], { encoding: 'utf8' }).stdout
    expect(text).toContain(`Serial Number: ${pki.good.cert.serialNumber}`)
    expect(text).toContain('Hash Algorithm: sha1')
    expect(text).toContain('OCSP Nonce')
  })

  it('has no nonce unless asked', () => {
    expect(buildOcspRequest(pki.good.cert, pki.issuer.cert).nonce).toBeUndefined()
  })
})

describe('responderUrlsOf', () => {
  it('reads the OCSP URL from authorityInfoAccess', () => {
    const leaf = pki.mintLeaf('aia', { ocspUrls: ['http://ocsp.thredd.test/'] })
    expect(responderUrlsOf(leaf.cert)).toEqual(['http://ocsp.thredd.test/'])
  })

  it('ignores URLs that are not http(s)', () => {
    const leaf = pki.mintLeaf('aia-ldap', {
      ocspUrls: ['ldap://ocsp.thredd.test/', 'https://ocsp.thredd.test/'],
    })
    expect(responderUrlsOf(leaf.cert)).toEqual(['https://ocsp.thredd.test/'])
  })

  it('is empty without authorityInfoAccess', () => {
    expect(responderUrlsOf(pki.good.cert)).toEqual([])
  })
})
