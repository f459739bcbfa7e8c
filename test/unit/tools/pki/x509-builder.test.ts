/**
 * The encoder behind every certificate, CRL and CSR the tests, the bench and the dev PKI use, so
 * its output is checked against node:crypto's and OpenSSL's own readers rather than against itself.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  createCsr,
  generateKeyPair,
  publicKeyOf,
  randomSerial,
  type NameAttribute,
} from '../../../../src/tools/pki/x509-builder.ts'
import { toPem } from '../../../../src/plane/tls/pem.ts'
import { days, issue, makeCa, makeCrl, makeLeaf, NOW, serialOf } from '../../../support/unit-certs.ts'

const OPENSSL = '/usr/bin/openssl'
const hasOpenssl = existsSync(OPENSSL)
const openssl = (args: string[], input: string) => execFileSync(OPENSSL, args, { input, encoding: 'utf8' })
/** `openssl req -verify` exits 0 either way (OpenSSL 3.0); its verdict is on stderr. */
const verifyCsr = (pem: string) =>
  spawnSync(OPENSSL, ['req', '-verify', '-noout'], { input: pem, encoding: 'utf8' }).stderr.trim()

const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
} as const
/** OpenSSL's text of a certificate, a CRL or a request. */
const text = (kind: 'x509' | 'crl' | 'req', pem: string) => openssl([kind, '-noout', '-text'], pem)

describe.each([
  { name: 'EC', keySpec: { type: 'ec' } as const },
  { name: 'EC P-384', keySpec: { type: 'ec', curve: 'P-384' } as const },
  { name: 'EC P-521', keySpec: { type: 'ec', curve: 'P-521' } as const },
  { name: 'RSA', keySpec: { type: 'rsa', bits: 2048 } as const },
])('createCertificate with $name keys', ({ keySpec }) => {
  const root = makeCa('Builder Root', undefined, { keySpec })
  const issuing = makeCa('Builder Issuing', root, { keySpec, ca: { pathLength: 0 } })
  const leaf = makeLeaf(issuing, { keySpec })

  it('makes a self-signed root that verifies with its own key', () => {
    expect(root.cert.verify(root.cert.publicKey)).toBe(true)
    expect(root.cert.checkIssued(root.cert)).toBe(true)
  })

  it('makes each certificate verify with, and be issued by, its issuer', () => {
    expect(issuing.cert.verify(root.cert.publicKey)).toBe(true)
    expect(issuing.cert.checkIssued(root.cert)).toBe(true)
    expect(leaf.cert.verify(issuing.cert.publicKey)).toBe(true)
    expect(leaf.cert.checkIssued(issuing.cert)).toBe(true)
  })

  it('is not verified by an unrelated key', () => {
    expect(leaf.cert.verify(root.cert.publicKey)).toBe(false)
    expect(leaf.cert.checkIssued(root.cert)).toBe(false)
  })

  it('sets the CA flag on CAs only', () => {
    expect([root.cert.ca, issuing.cert.ca, leaf.cert.ca]).toEqual([true, true, false])
  })

  it('puts the certified public key in the certificate', () => {
    expect(leaf.cert.publicKey.equals(leaf.publicKey)).toBe(true)
  })
})

describe('createCertificate fields', () => {
  const ca = makeCa('Fields CA')

  it.each([
    { ekus: ['clientAuth'] as const },
    { ekus: ['serverAuth'] as const },
    { ekus: ['serverAuth', 'clientAuth'] as const },
    { ekus: ['codeSigning', 'emailProtection'] as const },
    { ekus: ['OCSPSigning'] as const },
  ])('carries the requested EKU $ekus', ({ ekus }) => {
    const leaf = makeLeaf(ca, { extKeyUsage: [...ekus] })
    expect(leaf.cert.keyUsage).toEqual(ekus.map((e) => EKU[e]))
  })

  it('leaves out the EKU extension when none is requested', () => {
    expect(makeLeaf(ca, { extKeyUsage: [] }).cert.keyUsage).toBeUndefined()
  })

  it('writes every SAN type', () => {
    const leaf = makeLeaf(ca, {
      san: {
        dns: ['a.example', 'b.example'],
        ip: ['192.0.2.1', '2001:db8::1', '::1'],
        uri: ['spiffe://t/x'],
        email: ['ops@example.com'],
      },
    })
    expect(leaf.cert.subjectAltName).toBe(
      'email:ops@example.com, DNS:a.example, DNS:b.example, URI:spiffe://t/x, ' +
        'IP Address:192.0.2.1, IP Address:2001:DB8:0:0:0:0:0:1, IP Address:0:0:0:0:0:0:0:1',
    )
  })

  it('leaves out the SAN extension when there are no names', () => {
    expect(makeLeaf(ca, { san: {} }).cert.subjectAltName).toBeUndefined()
  })

  // A dotted IPv4 tail must not be read as one hex group (0x192).
  it('writes an IPv4-mapped IPv6 SAN as that address', () => {
    const leaf = makeLeaf(ca, { san: { ip: ['::ffff:192.0.2.1'] } })
    expect(leaf.cert.subjectAltName).toBe('IP Address:0:0:0:0:0:FFFF:C000:201')
  })

  const name = (...pairs: [NameAttribute['type'], string][]) =>
    pairs.map(([type, value]) => ({ type, value }))
  it.each([
    {
      name: 'every attribute type',
      subject: name(
        ['C', 'GB'],
        ['ST', 'London'],
        ['L', 'City'],
        ['O', 'Thredd'],
        ['OU', 'EHI'],
        ['CN', 'client'],
        ['emailAddress', 'ops@example.com'],
        ['serialNumber', '1234'],
      ),
      want: 'C=GB\nST=London\nL=City\nO=Thredd\nOU=EHI\nCN=client\nemailAddress=ops@example.com\nserialNumber=1234',
    },
    {
      name: 'several OUs and two CNs',
      subject: name(['O', 'Thredd'], ['OU', 'EHI'], ['OU', 'Transport'], ['CN', 'evil'], ['CN', 'client']),
      want: 'O=Thredd\nOU=EHI\nOU=Transport\nCN=evil\nCN=client',
    },
  ])('writes the subject attributes in order: $name', ({ subject, want }) => {
    const leaf = makeLeaf(ca, { subject })
    expect(leaf.cert.subject).toBe(want)
    expect(leaf.cert.issuer).toBe('O=Unit Test\nCN=Fields CA')
  })

  it.each([
    { serial: '0badcafe', want: '0BADCAFE' },
    // A first 1 bit: DER puts a 0x00 before it, and the serial still reads as given.
    { serial: '8badcafe', want: '8BADCAFE' },
    // A redundant leading zero is dropped (OpenSSL refuses a non-minimal INTEGER).
    { serial: '000a0b0c0d', want: '0A0B0C0D' },
  ])('uses the given serial $serial', ({ serial, want }) => {
    expect(makeLeaf(ca, { serial: Buffer.from(serial, 'hex') }).cert.serialNumber).toBe(want)
  })

  it.each([
    { name: 'UTCTime dates', window: days(-1, 1) },
    // RFC 5280: GeneralizedTime from 2050 on.
    {
      name: 'GeneralizedTime dates',
      window: {
        notBefore: new Date(Date.UTC(2049, 11, 31)),
        notAfter: new Date(Date.UTC(2060, 0, 2, 3, 4, 5)),
      },
    },
  ])('writes the validity window with $name', ({ window }) => {
    const cert = makeLeaf(ca, window).cert
    expect(cert.validFromDate).toEqual(window.notBefore)
    expect(cert.validToDate).toEqual(window.notAfter)
  })

  it('signs a self-signed certificate with selfKey', () => {
    const cert = issue({ subject: [{ type: 'CN', value: 'self' }] }).cert
    expect(cert.verify(cert.publicKey)).toBe(true)
    expect(cert.subject).toBe(cert.issuer)
  })

  it.runIf(hasOpenssl)('writes basic constraints, path length and key usage OpenSSL reads back', () => {
    const text = openssl(['x509', '-noout', '-text'], makeCa('Path CA', ca, { ca: { pathLength: 0 } }).pem)
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/)
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/)
    const leafText = openssl(['x509', '-noout', '-text'], makeLeaf(ca).pem)
    expect(leafText).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/)
  })

  it.runIf(hasOpenssl)('leaves basicConstraints off a leaf that asks so', () => {
    const leafText = text('x509', makeLeaf(ca, { basicConstraintsOnLeaf: false }).pem)
    expect(leafText).not.toContain('Basic Constraints')
    expect(makeLeaf(ca, { basicConstraintsOnLeaf: false }).cert.ca).toBe(false)
  })

  it.runIf(hasOpenssl)('writes every key usage bit OpenSSL names', () => {
    const leafText = text(
      'x509',
      makeLeaf(ca, {
        keyUsage: [
          'digitalSignature',
          'nonRepudiation',
          'keyEncipherment',
          'dataEncipherment',
          'keyAgreement',
        ],
      }).pem,
    )
    expect(leafText).toMatch(
      /X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation, Key Encipherment, Data Encipherment, Key Agreement\n/,
    )
  })

  it.runIf(hasOpenssl)('writes CRL distribution points and the OCSP responder URL', () => {
    const leafText = text(
      'x509',
      makeLeaf(ca, {
        crlDistributionPoints: ['http://crl.example/a.crl', 'http://crl.example/b.crl'],
        ocspUrls: ['http://ocsp.example/'],
      }).pem,
    )
    expect(leafText).toMatch(
      /X509v3 CRL Distribution Points:\s+Full Name:\s+URI:http:\/\/crl\.example\/a\.crl\s+Full Name:\s+URI:http:\/\/crl\.example\/b\.crl/,
    )
    expect(leafText).toMatch(/Authority Information Access:\s+OCSP - URI:http:\/\/ocsp\.example\//)
  })

  it.runIf(hasOpenssl)("names the issuer's subject key identifier as the authority key identifier", () => {
    const keyIds = (pem: string) => {
      const t = text('x509', pem)
      return {
        subject: /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(t)?.[1],
        authority: /Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/.exec(t)?.[1],
      }
    }
    const leaf = keyIds(makeLeaf(ca).pem)
    const issuer = keyIds(ca.pem)
    expect(issuer.subject).toMatch(/^([0-9A-F]{2}:){19}[0-9A-F]{2}$/)
    // A self-signed CA names itself.
    expect(issuer.authority).toBe(issuer.subject)
    expect(leaf.authority).toBe(issuer.subject)
    expect(leaf.subject).not.toBe(issuer.subject)
  })

  it.runIf(hasOpenssl).each([
    { keySpec: { type: 'ec' } as const, hash: 'sha1' as const, want: 'ecdsa-with-SHA1' },
    { keySpec: { type: 'ec' } as const, hash: 'sha256' as const, want: 'ecdsa-with-SHA256' },
    { keySpec: { type: 'ec', curve: 'P-384' } as const, hash: 'sha384' as const, want: 'ecdsa-with-SHA384' },
    { keySpec: { type: 'ec', curve: 'P-521' } as const, hash: 'sha512' as const, want: 'ecdsa-with-SHA512' },
    { keySpec: { type: 'rsa', bits: 2048 } as const, hash: 'sha1' as const, want: 'sha1WithRSAEncryption' },
    {
      keySpec: { type: 'rsa', bits: 2048 } as const,
      hash: 'sha384' as const,
      want: 'sha384WithRSAEncryption',
    },
  ])('signs with $want', ({ keySpec, hash, want }) => {
    const issuer = makeCa('Hash CA', undefined, { keySpec })
    const leaf = makeLeaf(issuer, { hash })
    expect(text('x509', leaf.pem)).toContain(`Signature Algorithm: ${want}`)
    expect(leaf.cert.verify(issuer.publicKey)).toBe(true)
  })

  it.runIf(hasOpenssl)('makes a chain `openssl verify` accepts for clientAuth', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-builder-'))
    try {
      const issuing = makeCa('Verify Issuing', ca)
      const leaf = makeLeaf(issuing, { extKeyUsage: ['clientAuth'] })
      writeFileSync(join(dir, 'root.pem'), ca.pem)
      writeFileSync(join(dir, 'issuing.pem'), issuing.pem)
      // The certificates are valid around the fixed NOW (2030), so verify at that time.
      const args = [
        'verify',
        '-attime',
        String(NOW / 1000),
        '-CAfile',
        join(dir, 'root.pem'),
        '-untrusted',
        join(dir, 'issuing.pem'),
      ]
      expect(openssl([...args, '-purpose', 'sslclient'], leaf.pem)).toContain('OK')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe.runIf(hasOpenssl)('createCrl', () => {
  const ca = makeCa('CRL Builder CA')
  const revoked = [makeLeaf(ca), makeLeaf(ca)]
  const crl = (options: Parameters<typeof makeCrl>[1] = {}) =>
    text('crl', toPem(makeCrl(ca, options), 'X509 CRL'))

  it('names its issuer, window, number and authority key identifier', () => {
    const t = crl({ crlNumber: 42 })
    expect(t).toMatch(/Issuer: O\s?=\s?Unit Test, CN\s?=\s?CRL Builder CA/)
    expect(t).toMatch(/Last Update: May 31 12:00:00 2030 GMT/)
    expect(t).toMatch(/Next Update: Jun {2}8 12:00:00 2030 GMT/)
    expect(t).toMatch(/X509v3 CRL Number:\s+42\n/)
    expect(t).toMatch(/X509v3 Authority Key Identifier:/)
    expect(t).toContain('No Revoked Certificates.')
  })

  it('lists the revoked serials with their dates', () => {
    const t = crl({ revoked: revoked.map(serialOf) })
    for (const leaf of revoked) expect(t).toContain(`Serial Number: ${leaf.cert.serialNumber}`)
    expect(t.match(/Revocation Date: May 30 12:00:00 2030 GMT/g)).toHaveLength(2)
  })

  it('leaves the CRL number out when asked', () => {
    expect(crl({ crlNumber: null })).not.toContain('CRL Number')
  })

  it('writes a delta CRL indicator and an issuing distribution point', () => {
    const t = crl({ crlNumber: 8, deltaOf: 7, issuingDistributionPoint: 'http://crl.example/part-a.crl' })
    expect(t).toMatch(/X509v3 Delta CRL Indicator: critical\s+7\n/)
    expect(t).toMatch(
      /X509v3 Issuing Distribution Point: critical\s+Full Name:\s+URI:http:\/\/crl\.example\/part-a\.crl/,
    )
  })

  it('signs with the chosen hash, verifiably by the CA key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-crl-'))
    try {
      writeFileSync(join(dir, 'ca.pem'), ca.pem)
      const pem = toPem(makeCrl(ca, { hash: 'sha1' }), 'X509 CRL')
      expect(text('crl', pem)).toContain('Signature Algorithm: ecdsa-with-SHA1')
      const verified = spawnSync(OPENSSL, ['crl', '-noout', '-CAfile', join(dir, 'ca.pem')], {
        input: pem,
        encoding: 'utf8',
      })
      expect(verified.stderr.trim()).toBe('verify OK')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('randomSerial', () => {
  it('is a positive 16-byte serial with a non-zero first byte, every time', () => {
    for (let i = 0; i < 200; i++) {
      const serial = randomSerial()
      expect(serial).toHaveLength(16)
      expect(serial[0]! & 0x80).toBe(0)
      expect(serial[0]).not.toBe(0)
    }
  })

  it('differs between calls', () => {
    expect(randomSerial().equals(randomSerial())).toBe(false)
  })
})

describe('createCsr', () => {
  const pair = generateKeyPair({ type: 'ec' })
  const csr = createCsr({
    subject: [
      { type: 'O', value: 'Example' },
      { type: 'CN', value: 'ehi-gateway.example.com' },
    ],
    key: pair.privateKey,
    publicKey: pair.publicKey,
    san: { dns: ['ehi-gateway.example.com'] },
  })

  it('gives a PEM CERTIFICATE REQUEST', () => {
    expect(csr.pem).toMatch(
      /^-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n$/,
    )
    expect(Buffer.from(csr.pem.split('\n').slice(1, -2).join(''), 'base64').equals(csr.der)).toBe(true)
  })

  it.runIf(hasOpenssl)('has a signature OpenSSL verifies, with the subject and SAN', () => {
    expect(verifyCsr(csr.pem)).toBe('Certificate request self-signature verify OK')
    const text = openssl(['req', '-noout', '-text'], csr.pem)
    expect(text).toMatch(/Subject: O\s?=\s?Example, CN\s?=\s?ehi-gateway\.example\.com/)
    expect(text).toContain('DNS:ehi-gateway.example.com')
  })

  it.runIf(hasOpenssl)('carries DNS and IP SANs, with an RSA key too', () => {
    const rsa = generateKeyPair({ type: 'rsa', bits: 2048 })
    const request = createCsr({
      subject: [{ type: 'CN', value: 'gw.example.com' }],
      key: rsa.privateKey,
      publicKey: rsa.publicKey,
      san: { dns: ['gw.example.com', '*.gw.example.com'], ip: ['192.0.2.7', '2001:db8::7'] },
    })
    expect(verifyCsr(request.pem)).toBe('Certificate request self-signature verify OK')
    expect(text('req', request.pem)).toMatch(
      /Requested Extensions:\s+X509v3 Subject Alternative Name:\s+DNS:gw\.example\.com, DNS:\*\.gw\.example\.com, IP Address:192\.0\.2\.7, IP Address:2001:DB8:0:0:0:0:0:7/,
    )
  })

  it.runIf(hasOpenssl)('is refused by OpenSSL when signed with a key that does not match', () => {
    const other = generateKeyPair({ type: 'ec' })
    const bad = createCsr({
      subject: [{ type: 'CN', value: 'x' }],
      key: other.privateKey,
      publicKey: pair.publicKey,
    })
    expect(verifyCsr(bad.pem)).toContain('verify failure')
  })
})

describe('publicKeyOf', () => {
  it('gives the public half of a private key', () => {
    const pair = generateKeyPair({ type: 'ec' })
    expect(publicKeyOf(pair.privateKey).equals(pair.publicKey)).toBe(true)
  })
})

describe('X509Certificate round trip', () => {
  it('parses the DER and the PEM to the same certificate', () => {
    const ca = makeCa('Round Trip')
    expect(new X509Certificate(ca.pem).fingerprint256).toBe(new X509Certificate(ca.der).fingerprint256)
  })
})
