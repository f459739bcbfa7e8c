/**
 * The client identity is parsed from node:crypto's printed names and SANs. Both formats escape
 * values, so a naive split on "," or ", " would let a crafted value smuggle in an extra OU or
 * DNS name: these tests pin the parser to node's real output.
 */
import { createHash, X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  CLIENT_AUTH_EKU,
  parseDistinguishedName,
  parseSubjectAltNames,
  toPeerIdentity,
} from '../../../../src/plane/identity/peer-identity.ts'
import type { NameAttribute } from '../../../../src/tools/pki/x509-builder.ts'
import { days, issue, makeCa, makeLeaf } from '../../../support/unit-certs.ts'

describe('parseDistinguishedName', () => {
  it('reads one attribute per line into typed lists and the ordered list', () => {
    const name = parseDistinguishedName('C=GB\nO=Thredd\nOU=EHI\nOU=Transport\nCN=thredd-ehi')
    expect(name.cn).toEqual(['thredd-ehi'])
    expect(name.o).toEqual(['Thredd'])
    // Several OUs stay separate values, in certificate order.
    expect(name.ou).toEqual(['EHI', 'Transport'])
    expect(name.all).toEqual([
      { type: 'C', value: 'GB' },
      { type: 'O', value: 'Thredd' },
      { type: 'OU', value: 'EHI' },
      { type: 'OU', value: 'Transport' },
      { type: 'CN', value: 'thredd-ehi' },
    ])
  })

  it.each([
    { name: 'undefined', text: undefined },
    { name: 'an empty string', text: '' },
  ])('gives empty lists for $name', ({ text }) => {
    expect(parseDistinguishedName(text)).toEqual({ cn: [], o: [], ou: [], all: [] })
  })

  it.each([
    { name: 'an escaped comma', raw: 'a\\, b', value: 'a, b' },
    { name: 'escaped quotes', raw: 'say \\"hi\\"', value: 'say "hi"' },
    { name: 'an escaped backslash', raw: 'back\\\\slash', value: 'back\\slash' },
    { name: 'an escaped plus', raw: 'a\\+b', value: 'a+b' },
    { name: 'an escaped leading #', raw: '\\#lead', value: '#lead' },
    { name: 'an escaped leading space', raw: '\\ lead', value: ' lead' },
    { name: 'an escaped semicolon and angle brackets', raw: '\\<a\\;b\\>', value: '<a;b>' },
    { name: 'an unescaped = inside the value', raw: 'x=y', value: 'x=y' },
    { name: 'a \\0A hex escape (newline)', raw: 'line1\\0Aline2', value: 'line1\nline2' },
    { name: 'a lower-case hex escape', raw: 'tab\\09x', value: 'tab\tx' },
    { name: 'a control byte', raw: 'a\\01b', value: 'a\u0001b' },
    // An escaped backslash followed by hex digits is a backslash, then literal digits.
    { name: 'an escaped backslash before hex digits', raw: 'a\\\\2C', value: 'a\\2C' },
    { name: 'hex-escaped UTF-8 bytes', raw: 'Z\\C3\\BCrich', value: 'Zürich' },
    { name: 'raw UTF-8', raw: 'Zürich Ørsted 日本', value: 'Zürich Ørsted 日本' },
    { name: 'a trailing lone backslash', raw: 'end\\', value: 'end\\' },
  ])('unescapes $name', ({ raw, value }) => {
    expect(parseDistinguishedName(`CN=${raw}`).cn).toEqual([value])
  })

  it('keeps an escaped comma inside one OU instead of splitting it into two', () => {
    expect(parseDistinguishedName('OU=EHI\\, OU=Admin').ou).toEqual(['EHI, OU=Admin'])
  })

  it('skips lines without a type', () => {
    expect(parseDistinguishedName('=orphan\nnoequals\nCN=x').all).toEqual([{ type: 'CN', value: 'x' }])
  })
})

describe('parseSubjectAltNames', () => {
  it('sorts entries by type in order', () => {
    expect(
      parseSubjectAltNames('DNS:a.example, URI:spiffe://t/ehi, email:ops@example.com, IP Address:1.2.3.4'),
    ).toEqual({ dns: ['a.example'], uri: ['spiffe://t/ehi'], email: ['ops@example.com'], ip: ['1.2.3.4'] })
  })

  it.each([undefined, ''])('gives empty lists for %j', (text) => {
    expect(parseSubjectAltNames(text)).toEqual({ dns: [], uri: [], email: [], ip: [] })
  })

  it.each([
    // Since CVE-2021-44532 node JSON-quotes values that contain the separator.
    { name: 'a quoted value with a literal ", "', text: 'DNS:"a, b", DNS:c', dns: ['a, b', 'c'] },
    {
      name: 'a quoted value with \\u002c (as node prints it)',
      text: 'DNS:"a\\u002c b", DNS:c',
      dns: ['a, b', 'c'],
    },
    { name: 'a quoted value with an escaped quote', text: 'DNS:"a\\"b", DNS:c', dns: ['a"b', 'c'] },
    { name: 'a quoted value last', text: 'DNS:c, DNS:"x, DNS:evil"', dns: ['c', 'x, DNS:evil'] },
  ])('reads $name as one name', ({ text, dns }) => {
    expect(parseSubjectAltNames(text).dns).toEqual(dns)
  })

  it('keeps colons inside an unquoted URI value', () => {
    expect(parseSubjectAltNames('URI:https://h.example:8443/p, DNS:d').uri).toEqual([
      'https://h.example:8443/p',
    ])
  })

  it('lower-cases IP addresses (node prints IPv6 in upper case)', () => {
    expect(parseSubjectAltNames('IP Address:2001:DB8:0:0:0:0:0:1').ip).toEqual(['2001:db8:0:0:0:0:0:1'])
  })

  it('ignores SAN types it has no list for', () => {
    expect(parseSubjectAltNames('Registered ID:1.2.3.4, othername:<unsupported>, DNS:d')).toEqual({
      dns: ['d'],
      uri: [],
      email: [],
      ip: [],
    })
  })
})

describe('toPeerIdentity on a real certificate', () => {
  const ca = makeCa('Identity Test CA')
  const serial = Buffer.from('0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'hex')
  const leaf = makeLeaf(ca, {
    serial,
    ...days(-1, 30),
    subject: [
      { type: 'C', value: 'GB' },
      { type: 'O', value: 'Thredd' },
      { type: 'OU', value: 'EHI' },
      { type: 'OU', value: 'Transport' },
      { type: 'CN', value: 'thredd-ehi' },
    ],
    extKeyUsage: ['clientAuth', 'serverAuth'],
    san: {
      dns: ['ehi.thredd.test', 'with, comma.test'],
      uri: ['spiffe://thredd.test/ehi'],
      email: ['ops@thredd.test'],
      ip: ['192.0.2.7', '2001:db8::1'],
    },
  })
  const peer = toPeerIdentity(leaf.cert)

  it('lists subject attributes, multi-valued OU included', () => {
    expect(peer.subject.cn).toEqual(['thredd-ehi'])
    expect(peer.subject.o).toEqual(['Thredd'])
    expect(peer.subject.ou).toEqual(['EHI', 'Transport'])
    expect(peer.subject.all.map((a) => a.type)).toEqual(['C', 'O', 'OU', 'OU', 'CN'])
  })

  it('lists SANs by type, a DNS name with ", " kept whole', () => {
    expect(peer.san).toEqual({
      dns: ['ehi.thredd.test', 'with, comma.test'],
      uri: ['spiffe://thredd.test/ehi'],
      email: ['ops@thredd.test'],
      ip: ['192.0.2.7', '2001:db8:0:0:0:0:0:1'],
    })
  })

  it('gives the serial in upper-case hex as node prints it', () => {
    expect(peer.serial).toBe('0A1B2C3D4E5F60718293A4B5C6D7E8F9')
    expect(peer.serial).toBe(leaf.cert.serialNumber)
  })

  it('gives certSha256 as lower-case hex of the DER, fingerprint256 without colons', () => {
    expect(peer.certSha256).toBe(createHash('sha256').update(leaf.der).digest('hex'))
    expect(peer.certSha256).toBe(leaf.cert.fingerprint256.replace(/:/g, '').toLowerCase())
  })

  it('gives spkiSha256 as base64 SHA-256 of the SPKI DER', () => {
    const spki = leaf.publicKey.export({ type: 'spki', format: 'der' })
    expect(peer.spkiSha256).toBe(createHash('sha256').update(spki).digest('base64'))
  })

  it('gives the validity window in milliseconds', () => {
    expect(peer.notBefore).toBe(days(-1, 30).notBefore.getTime())
    expect(peer.notAfter).toBe(days(-1, 30).notAfter.getTime())
  })

  it('lists the EKU OIDs', () => {
    expect(peer.extKeyUsage).toEqual([CLIENT_AUTH_EKU, '1.3.6.1.5.5.7.3.1'])
  })

  it('gives extKeyUsage undefined when the certificate has no EKU extension', () => {
    expect(toPeerIdentity(makeLeaf(ca, { extKeyUsage: [] }).cert).extKeyUsage).toBeUndefined()
  })

  it('renders subject and issuer as one RFC 4514-style line each', () => {
    expect(peer.subjectText).toBe('C=GB,O=Thredd,OU=EHI,OU=Transport,CN=thredd-ehi')
    expect(peer.issuerText).toBe('O=Unit Test,CN=Identity Test CA')
  })
})

describe('subject values survive node escaping and the parser unchanged', () => {
  // Each value uses characters node escapes (or prints raw); the parser must undo exactly that.
  const values = [
    'Thredd, Ltd',
    'say "hi"',
    'a+b',
    'x=y',
    '#leading-hash',
    'line1\nline2',
    'back\\slash',
    ' spaces ',
    'semi;colon <angle>',
    'Zürich Ørsted 日本',
    'tab\tand\u0001control',
    'a\\2C not a hex escape',
  ]

  it.each(values)('round-trips %j in CN and as a second OU', (value) => {
    const subject: NameAttribute[] = [
      { type: 'OU', value: 'first' },
      { type: 'OU', value },
      { type: 'CN', value },
    ]
    const cert = issue({ subject })
    const peer = toPeerIdentity(new X509Certificate(cert.der))
    expect(peer.subject.cn).toEqual([value])
    expect(peer.subject.ou).toEqual(['first', value])
    expect(peer.subject.all).toEqual(subject)
  })
})
