/**
 * The client policy runs after chain validation and can only narrow it: EKU, pins (SPKI or
 * whole-certificate, several for rotation) and subject allow-lists (AND across attributes, OR
 * within one list). Bad pins are config issues with the exact path, so startup names them.
 */
import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { GatewayConfig } from '../../../../src/config/config-schema.ts'
import { validateConfig } from '../../../../src/config/load-config.ts'
import {
  CLIENT_AUTH_EKU,
  toPeerIdentity,
  type PeerIdentity,
} from '../../../../src/plane/identity/peer-identity.ts'
import {
  compilePeerPolicy,
  decodeCertPin,
  decodeSpkiPin,
} from '../../../../src/plane/identity/peer-policy.ts'
import { makeCa, makeLeaf } from '../../../support/unit-certs.ts'

type ClientAuth = GatewayConfig['clientAuth']
type Pins = Partial<ClientAuth['pins']>
type Subjects = Partial<ClientAuth['allowedSubjects']>

const SERVER_AUTH_EKU = '1.3.6.1.5.5.7.3.1'

function clientAuth(
  options: { requireClientAuthEku?: boolean; pins?: Pins; allowedSubjects?: Subjects } = {},
): ClientAuth {
  return {
    rejectMode: 'http',
    requireClientAuthEku: options.requireClientAuthEku ?? true,
    pins: { spkiSha256: [], certSha256: [], ...options.pins },
    allowedSubjects: {
      cn: [],
      o: [],
      ou: [],
      sanDns: [],
      sanUri: [],
      sanEmail: [],
      ...options.allowedSubjects,
    },
  }
}

const spkiA = randomBytes(32).toString('base64')
const spkiB = randomBytes(32).toString('base64')
const certA = randomBytes(32).toString('hex')

function peer(overrides: Partial<PeerIdentity> = {}): PeerIdentity {
  return {
    subject: {
      cn: ['thredd-ehi'],
      o: ['Thredd'],
      ou: ['EHI', 'Transport'],
      all: [],
    },
    subjectText: 'O=Thredd,OU=EHI,OU=Transport,CN=thredd-ehi',
    issuerText: 'CN=Issuing',
    san: {
      dns: ['EHI.Thredd.test'],
      uri: ['spiffe://thredd.test/ehi'],
      email: ['ops@thredd.test'],
      ip: [],
    },
    serial: '01',
    certSha256: certA,
    spkiSha256: spkiA,
    notBefore: 0,
    notAfter: 1,
    extKeyUsage: [CLIENT_AUTH_EKU],
    ...overrides,
  }
}

function decide(config: ClientAuth, identity: PeerIdentity = peer()) {
  const { policy, issues } = compilePeerPolicy(config)
  expect(issues).toEqual([])
  return policy(identity)
}

describe('the defaults from validateConfig', () => {
  it('require the clientAuth EKU and set no pins or subject rules', () => {
    const { config } = validateConfig({})
    expect(decide(config.clientAuth)).toEqual({ allow: true })
    expect(decide(config.clientAuth, peer({ extKeyUsage: undefined })).allow).toBe(false)
  })
})

describe('extended key usage', () => {
  it.each([
    { name: 'clientAuth only', eku: [CLIENT_AUTH_EKU], require: true, allow: true },
    { name: 'clientAuth among others', eku: [SERVER_AUTH_EKU, CLIENT_AUTH_EKU], require: true, allow: true },
    { name: 'serverAuth only', eku: [SERVER_AUTH_EKU], require: true, allow: false },
    { name: 'no EKU extension', eku: undefined, require: true, allow: false },
    { name: 'an empty EKU list', eku: [], require: true, allow: false },
    { name: 'serverAuth only, EKU not required', eku: [SERVER_AUTH_EKU], require: false, allow: true },
    { name: 'no EKU extension, EKU not required', eku: undefined, require: false, allow: true },
  ])('$name -> allow=$allow', ({ eku, require, allow }) => {
    const decision = decide(clientAuth({ requireClientAuthEku: require }), peer({ extKeyUsage: eku }))
    expect(decision.allow).toBe(allow)
    if (!decision.allow) expect(decision.reason).toBe('bad_eku')
  })

  it('says when the EKU extension is missing altogether', () => {
    expect(decide(clientAuth(), peer({ extKeyUsage: undefined }))).toMatchObject({
      reason: 'bad_eku',
      detail: 'no EKU extension',
    })
  })

  it('checks the EKU before pins', () => {
    const decision = decide(
      clientAuth({ pins: { spkiSha256: [spkiB] } }),
      peer({ extKeyUsage: [SERVER_AUTH_EKU] }),
    )
    expect(decision).toMatchObject({ allow: false, reason: 'bad_eku' })
  })
})

describe('pins', () => {
  const colonUpper = certA.toUpperCase().match(/../g)!.join(':')

  it.each([
    { name: 'the SPKI pin', pins: { spkiSha256: [spkiA] } },
    { name: 'the SPKI pin with a sha256/ prefix', pins: { spkiSha256: [`sha256/${spkiA}`] } },
    { name: 'the SPKI pin as the second of two (rotation)', pins: { spkiSha256: [spkiB, spkiA] } },
    { name: 'the certificate pin in lower-case hex', pins: { certSha256: [certA] } },
    { name: 'the certificate pin in upper-case hex with colons', pins: { certSha256: [colonUpper] } },
    {
      name: 'a certificate pin when the SPKI pins do not match',
      pins: { spkiSha256: [spkiB], certSha256: [certA] },
    },
  ])('admits a peer matching $name', ({ pins }) => {
    expect(decide(clientAuth({ pins }))).toEqual({ allow: true })
  })

  it.each([
    { name: 'another SPKI pin', pins: { spkiSha256: [spkiB] } },
    { name: 'another certificate pin', pins: { certSha256: [randomBytes(32).toString('hex')] } },
  ])('refuses a peer matching none ($name) as pin_mismatch', ({ pins }) => {
    expect(decide(clientAuth({ pins }))).toMatchObject({ allow: false, reason: 'pin_mismatch' })
  })

  it('admits any key when no pin is set', () => {
    expect(decide(clientAuth(), peer({ spkiSha256: spkiB }))).toEqual({ allow: true })
  })

  it.each([
    { name: 'SPKI pin computed from the key', kind: 'spki' },
    { name: 'certificate pin copied from fingerprint256 (colons, upper case)', kind: 'cert' },
  ])('matches a real certificate by its $name, and not its sibling', ({ kind }) => {
    const ca = makeCa('Pin CA')
    const leaf = makeLeaf(ca)
    const sibling = makeLeaf(ca)
    const spki = createHash('sha256')
      .update(leaf.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64')
    const pins = kind === 'spki' ? { spkiSha256: [spki] } : { certSha256: [leaf.cert.fingerprint256] }
    const { policy } = compilePeerPolicy(clientAuth({ pins }))
    expect(policy(toPeerIdentity(leaf.cert))).toEqual({ allow: true })
    expect(policy(toPeerIdentity(sibling.cert))).toMatchObject({ reason: 'pin_mismatch' })
  })

  it('reports each invalid pin with its config path and keeps the valid ones', () => {
    const { policy, issues } = compilePeerPolicy(
      clientAuth({
        pins: {
          spkiSha256: [spkiA, 'not-base64', spkiB.slice(0, 43)],
          certSha256: ['zz', certA],
        },
      }),
    )
    expect(issues.map((i) => i.path)).toEqual([
      'clientAuth.pins.spkiSha256[1]',
      'clientAuth.pins.spkiSha256[2]',
      'clientAuth.pins.certSha256[0]',
    ])
    expect(policy(peer())).toEqual({ allow: true })
    expect(policy(peer({ spkiSha256: spkiB, certSha256: '00'.repeat(32) })).allow).toBe(false)
  })
})

describe('subject allow-lists', () => {
  it.each([
    { name: 'no lists (no constraint)', subjects: {}, allow: true },
    { name: 'empty lists (no constraint)', subjects: { cn: [], ou: [], sanDns: [] }, allow: true },
    { name: 'a matching CN', subjects: { cn: ['thredd-ehi'] }, allow: true },
    {
      name: 'a CN list where one value matches (OR)',
      subjects: { cn: ['other', 'thredd-ehi'] },
      allow: true,
    },
    { name: 'a CN list where none matches', subjects: { cn: ['other'] }, allow: false },
    { name: 'a matching O', subjects: { o: ['Thredd'] }, allow: true },
    { name: 'a non-matching O', subjects: { o: ['Elsewhere'] }, allow: false },
    { name: 'the second of the peer OUs', subjects: { ou: ['Transport'] }, allow: true },
    { name: 'an OU the peer lacks', subjects: { ou: ['Admin'] }, allow: false },
    { name: 'a DNS SAN in another case', subjects: { sanDns: ['ehi.THREDD.test'] }, allow: true },
    { name: 'a DNS SAN not listed', subjects: { sanDns: ['other.thredd.test'] }, allow: false },
    { name: 'a matching URI SAN', subjects: { sanUri: ['spiffe://thredd.test/ehi'] }, allow: true },
    { name: 'a non-matching URI SAN', subjects: { sanUri: ['spiffe://thredd.test/other'] }, allow: false },
    { name: 'a matching e-mail SAN', subjects: { sanEmail: ['ops@thredd.test'] }, allow: true },
    { name: 'a non-matching e-mail SAN', subjects: { sanEmail: ['root@thredd.test'] }, allow: false },
    { name: 'CN and OU both matching (AND)', subjects: { cn: ['thredd-ehi'], ou: ['EHI'] }, allow: true },
    { name: 'CN matching but O not (AND)', subjects: { cn: ['thredd-ehi'], o: ['Elsewhere'] }, allow: false },
    {
      name: 'every list matching',
      subjects: {
        cn: ['thredd-ehi'],
        o: ['Thredd'],
        ou: ['EHI'],
        sanDns: ['ehi.thredd.test'],
        sanUri: ['spiffe://thredd.test/ehi'],
        sanEmail: ['ops@thredd.test'],
      },
      allow: true,
    },
  ])('$name -> allow=$allow', ({ subjects, allow }) => {
    const decision = decide(clientAuth({ allowedSubjects: subjects }))
    expect(decision.allow).toBe(allow)
    if (!decision.allow) expect(decision.reason).toBe('subject_not_allowed')
  })

  // A certificate may carry an attribute more than once. CN and O say who it is for, and a host
  // or log reading "the" CN may take either, so every value must be listed; one OU or SAN is enough.
  const twoCns = { cn: ['evil', 'thredd-ehi'] }
  it.each([
    { name: 'CN=evil, CN=<listed>', subject: twoCns, subjects: { cn: ['thredd-ehi'] }, allow: false },
    {
      name: 'CN=<listed>, CN=evil',
      subject: { cn: ['thredd-ehi', 'evil'] },
      subjects: { cn: ['thredd-ehi'] },
      allow: false,
    },
    { name: 'two CNs, both listed', subject: twoCns, subjects: { cn: ['thredd-ehi', 'evil'] }, allow: true },
    {
      name: 'the same listed CN twice',
      subject: { cn: ['thredd-ehi', 'thredd-ehi'] },
      subjects: { cn: ['thredd-ehi'] },
      allow: true,
    },
    { name: 'no CN at all', subject: { cn: [] }, subjects: { cn: ['thredd-ehi'] }, allow: false },
    {
      name: 'O=Elsewhere, O=<listed>',
      subject: { o: ['Elsewhere', 'Thredd'] },
      subjects: { o: ['Thredd'] },
      allow: false,
    },
    {
      name: 'two Os, both listed',
      subject: { o: ['Elsewhere', 'Thredd'] },
      subjects: { o: ['Thredd', 'Elsewhere'] },
      allow: true,
    },
    { name: 'no O at all', subject: { o: [] }, subjects: { o: ['Thredd'] }, allow: false },
    {
      name: 'OU=Other, OU=<listed> (one OU is enough)',
      subject: { ou: ['Other', 'EHI'] },
      subjects: { ou: ['EHI'] },
      allow: true,
    },
    { name: 'no OU at all', subject: { ou: [] }, subjects: { ou: ['EHI'] }, allow: false },
    {
      name: 'an unlisted CN when only OU is constrained',
      subject: { cn: ['evil', 'thredd-ehi'] },
      subjects: { ou: ['EHI'] },
      allow: true,
    },
  ])('$name -> allow=$allow', ({ subject, subjects, allow }) => {
    const identity = peer({ subject: { ...peer().subject, ...subject } })
    const decision = decide(clientAuth({ allowedSubjects: subjects }), identity)
    expect(decision.allow).toBe(allow)
    if (!decision.allow) expect(decision.reason).toBe('subject_not_allowed')
  })

  it('refuses a real certificate encoded with CN=evil then the listed CN', () => {
    const leaf = makeLeaf(makeCa('Two CN CA'), {
      subject: [
        { type: 'O', value: 'Thredd' },
        { type: 'CN', value: 'evil' },
        { type: 'CN', value: 'thredd-ehi' },
      ],
    })
    const identity = toPeerIdentity(leaf.cert)
    expect(identity.subject.cn).toEqual(['evil', 'thredd-ehi'])
    expect(decide(clientAuth({ allowedSubjects: { cn: ['thredd-ehi'] } }), identity).allow).toBe(false)
    expect(decide(clientAuth({ allowedSubjects: { cn: ['thredd-ehi', 'evil'] } }), identity).allow).toBe(true)
  })

  it('says that every CN must be listed when one of several is not', () => {
    const identity = peer({ subject: { ...peer().subject, cn: ['evil', 'thredd-ehi'] } })
    expect(decide(clientAuth({ allowedSubjects: { cn: ['thredd-ehi'] } }), identity)).toMatchObject({
      detail: 'CN not in the allow-list (all 2 must be)',
    })
  })

  it('refuses a peer with no value for a constrained attribute', () => {
    const noSan = peer({ san: { dns: [], uri: [], email: [], ip: [] } })
    expect(decide(clientAuth({ allowedSubjects: { sanDns: ['ehi.thredd.test'] } }), noSan)).toMatchObject({
      reason: 'subject_not_allowed',
      detail: 'DNS SAN not in the allow-list',
    })
  })

  it('checks pins before subject rules', () => {
    const decision = decide(clientAuth({ pins: { spkiSha256: [spkiB] }, allowedSubjects: { cn: ['other'] } }))
    expect(decision).toMatchObject({ reason: 'pin_mismatch' })
  })
})

describe('decodeSpkiPin', () => {
  const pin = Buffer.alloc(32, 0xab).toString('base64')

  it.each([
    { name: 'a canonical pin', input: pin, out: pin },
    { name: 'a pin with a sha256/ prefix', input: `sha256/${pin}`, out: pin },
    { name: 'a pin with surrounding spaces', input: `  ${pin}\n`, out: pin },
    // The pin ends in "s="; "t" differs from "s" only in the 2 unused bits, so the bytes are equal.
    { name: 'non-canonical trailing bits', input: `${pin.slice(0, 42)}t=`, out: pin },
    { name: 'too short', input: pin.slice(1), out: undefined },
    { name: 'without padding', input: pin.slice(0, 43), out: undefined },
    { name: 'base64url characters', input: `-_${pin.slice(2)}`, out: undefined },
    { name: 'a hex fingerprint', input: 'ab'.repeat(32), out: undefined },
    { name: 'a 48-byte (SHA-384) hash', input: Buffer.alloc(48, 1).toString('base64'), out: undefined },
    { name: 'empty', input: '', out: undefined },
  ])('$name -> $out', ({ input, out }) => {
    expect(decodeSpkiPin(input)).toBe(out)
  })
})

describe('decodeCertPin', () => {
  const hex = 'a1'.repeat(32)

  it.each([
    { name: 'lower-case hex', input: hex, out: hex },
    { name: 'upper-case hex', input: hex.toUpperCase(), out: hex },
    { name: 'colon-separated upper case', input: hex.toUpperCase().match(/../g)!.join(':'), out: hex },
    { name: 'surrounding spaces', input: ` ${hex} `, out: hex },
    { name: '63 digits', input: hex.slice(1), out: undefined },
    { name: '65 digits', input: `${hex}0`, out: undefined },
    { name: 'a non-hex digit', input: `g${hex.slice(1)}`, out: undefined },
    { name: 'a base64 SPKI pin', input: Buffer.alloc(32, 1).toString('base64'), out: undefined },
    { name: 'empty', input: '', out: undefined },
  ])('$name -> $out', ({ input, out }) => {
    expect(decodeCertPin(input)).toBe(out)
  })
})
