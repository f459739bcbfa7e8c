/**
 * A reload may narrow access or add entries, never remove a control: a truncated or half-written
 * file can parse and still drop a whole list. Each row changes one setting of a config where
 * every control is on; the widening rows must be refused with the setting named, the others
 * must reload.
 */
import { describe, expect, it } from 'vitest'
import { ConfigSchema, type GatewayConfig } from '../../../src/config/config-schema.ts'
import { validateConfig } from '../../../src/config/load-config.ts'
import { WIDENING_RULES, wideningChanges } from '../../../src/control/rules/reload-guard.ts'

const SPKI_A = Buffer.alloc(32, 1).toString('base64')
const SPKI_B = Buffer.alloc(32, 2).toString('base64')
const CERT_A = 'aa'.repeat(32)
const CERT_B = 'bb'.repeat(32)

type Raw = Record<string, Record<string, unknown>>

/** The running config: every list non-empty, every check on. `changes` are merged one level deep. */
function config(changes: Raw = {}): GatewayConfig {
  const raw: Raw = {
    tls: {
      serverCertificates: [{ cert: 'server.pem', key: 'server.key' }],
      clientCa: ['root.pem', 'issuing.pem'],
      crl: { enabled: true, files: ['root.crl', 'issuing.crl'] },
      minVersion: 'TLSv1.3',
      ocsp: { enabled: true, policy: 'hard' },
    },
    upstream: { url: 'http://127.0.0.1:9000/ehi' },
    network: { allowlist: ['192.0.2.0/28', '2001:db8::/64'] },
    clientAuth: {
      rejectMode: 'handshake',
      requireClientAuthEku: true,
      pins: { spkiSha256: [SPKI_A], certSha256: [CERT_A] },
      allowedSubjects: {
        cn: ['thredd-ehi'],
        o: ['Thredd'],
        ou: ['EHI'],
        sanDns: ['ehi.thredd.test'],
        sanUri: ['spiffe://thredd.test/ehi'],
        sanEmail: ['ops@thredd.test'],
      },
    },
  }
  for (const [section, values] of Object.entries(changes)) raw[section] = { ...raw[section], ...values }
  const { config, issues } = validateConfig(raw)
  expect(issues).toEqual([])
  return config
}

const running = config()
const subjects = running.clientAuth.allowedSubjects
const pins = (spkiSha256: string[], certSha256: string[]) => ({
  clientAuth: { ...running.clientAuth, pins: { spkiSha256, certSha256 } },
})
const subject = (key: keyof typeof subjects, list: string[]) => ({
  clientAuth: { ...running.clientAuth, allowedSubjects: { ...subjects, [key]: list } },
})
const SUBJECT_KEYS = ['cn', 'o', 'ou', 'sanDns', 'sanUri', 'sanEmail'] as const

describe('wideningChanges refuses', () => {
  it.each<{ name: string; from?: Raw; to: Raw; refused: string }>([
    {
      name: 'emptying the source allowlist',
      to: { network: { allowlist: [] } },
      refused: 'network.allowlist would become empty (any source address)',
    },
    ...SUBJECT_KEYS.map((key) => ({
      name: `emptying allowedSubjects.${key}`,
      to: subject(key, []),
      refused: `clientAuth.allowedSubjects.${key} would become empty (any value)`,
    })),
    {
      name: 'removing every pin',
      to: pins([], []),
      refused: 'clientAuth.pins would become empty (no pinning)',
    },
    {
      name: 'removing the only SPKI pin when no certificate pin is set',
      from: pins([SPKI_A], []),
      to: pins([], []),
      refused: 'clientAuth.pins would become empty (no pinning)',
    },
    {
      name: 'removing the only certificate pin when no SPKI pin is set',
      from: pins([], [CERT_A]),
      to: pins([], []),
      refused: 'clientAuth.pins would become empty (no pinning)',
    },
    {
      name: 'turning CRL checking off',
      to: { tls: { ...running.tls, crl: { enabled: false, files: running.tls.crl.files } } },
      refused: 'tls.crl.enabled would turn revocation checking off',
    },
    {
      name: 'no longer requiring the clientAuth EKU',
      to: { clientAuth: { ...running.clientAuth, requireClientAuthEku: false } },
      refused: 'clientAuth.requireClientAuthEku would stop requiring the clientAuth EKU',
    },
    {
      name: 'lowering the minimum TLS version',
      to: { tls: { ...running.tls, minVersion: 'TLSv1.2' } },
      refused: 'tls.minVersion would accept TLS 1.2 again',
    },
    {
      name: 'turning OCSP off',
      to: { tls: { ...running.tls, ocsp: { ...running.tls.ocsp, enabled: false } } },
      refused: 'tls.ocsp.enabled would stop asking the OCSP responder',
    },
    {
      name: 'the OCSP policy from hard to soft',
      to: { tls: { ...running.tls, ocsp: { ...running.tls.ocsp, policy: 'soft' } } },
      refused: 'tls.ocsp.policy would admit clients without a good OCSP answer',
    },
  ])('$name', ({ from, to, refused }) => {
    expect(wideningChanges(from ? config(from) : running, config(to))).toEqual([refused])
  })

  it('names every control a truncated file drops at once', () => {
    const truncated = validateConfig({
      tls: { serverCertificates: running.tls.serverCertificates, clientCa: running.tls.clientCa },
      upstream: running.upstream,
    }).config
    expect(wideningChanges(running, truncated)).toEqual([
      'network.allowlist would become empty (any source address)',
      'clientAuth.pins would become empty (no pinning)',
      ...SUBJECT_KEYS.map((key) => `clientAuth.allowedSubjects.${key} would become empty (any value)`),
      'tls.crl.enabled would turn revocation checking off',
      'tls.minVersion would accept TLS 1.2 again',
      'tls.ocsp.enabled would stop asking the OCSP responder',
    ])
  })
})

describe('wideningChanges lets these reload', () => {
  it.each<{ name: string; from?: Raw; to: Raw }>([
    { name: 'the same config', to: {} },
    {
      name: 'adding an allowlist entry',
      to: { network: { allowlist: [...running.network.allowlist, '198.51.100.7'] } },
    },
    { name: 'narrowing the allowlist', to: { network: { allowlist: ['192.0.2.1'] } } },
    { name: 'a first allowlist where there was none', from: { network: { allowlist: [] } }, to: {} },
    { name: 'adding the next SPKI pin', to: pins([SPKI_A, SPKI_B], [CERT_A]) },
    { name: 'replacing a pin by the next one', to: pins([SPKI_B], [CERT_A]) },
    { name: 'dropping the SPKI pins while a certificate pin remains', to: pins([], [CERT_A]) },
    { name: 'dropping the certificate pins while an SPKI pin remains', to: pins([SPKI_A], []) },
    {
      name: 'moving from an SPKI pin to a certificate pin',
      from: pins([SPKI_A], []),
      to: pins([], [CERT_B]),
    },
    { name: 'a first pin where there was none', from: pins([], []), to: pins([SPKI_A], []) },
    ...SUBJECT_KEYS.map((key) => ({
      name: `adding a value to allowedSubjects.${key}`,
      to: subject(key, [...subjects[key], 'next']),
    })),
    ...SUBJECT_KEYS.map((key) => ({
      name: `a first allowedSubjects.${key} list where there was none`,
      from: subject(key, []),
      to: {},
    })),
    {
      name: 'narrowing a subject list',
      from: subject('cn', ['thredd-ehi', 'thredd-ehi-old']),
      to: subject('cn', ['thredd-ehi']),
    },
    {
      name: 'turning CRL checking on',
      from: { tls: { ...running.tls, crl: { enabled: false, files: [] } } },
      to: {},
    },
    {
      name: 'starting to require the clientAuth EKU',
      from: { clientAuth: { ...running.clientAuth, requireClientAuthEku: false } },
      to: {},
    },
    {
      name: 'raising the minimum TLS version',
      from: { tls: { ...running.tls, minVersion: 'TLSv1.2' } },
      to: {},
    },
    {
      name: 'turning OCSP on',
      from: { tls: { ...running.tls, ocsp: { ...running.tls.ocsp, enabled: false } } },
      to: {},
    },
    {
      name: 'the OCSP policy from soft to hard',
      from: { tls: { ...running.tls, ocsp: { ...running.tls.ocsp, policy: 'soft' } } },
      to: {},
    },
    {
      name: 'adding a client CA (a CA rotation)',
      to: { tls: { ...running.tls, clientCa: ['root.pem', 'issuing.pem', 'next.pem'] } },
    },
    // Both modes refuse the same certificates; only the shape of the refusal changes.
    {
      name: 'clientAuth.rejectMode from handshake to http',
      to: { clientAuth: { ...running.clientAuth, rejectMode: 'http' } },
    },
  ])('$name', ({ from, to }) => {
    expect(wideningChanges(from ? config(from) : running, config(to))).toEqual([])
  })
})

describe('WIDENING_RULES', () => {
  it('covers every subject and SAN allow-list the schema has', () => {
    const schemaLists = Object.keys(ConfigSchema.properties.clientAuth.properties.allowedSubjects.properties)
    expect(schemaLists.sort()).toEqual([...SUBJECT_KEYS].sort())
    for (const key of schemaLists) {
      expect(WIDENING_RULES.map((rule) => rule.path)).toContain(`clientAuth.allowedSubjects.${key}`)
    }
  })

  it('takes a rule list, so a new control is one more rule', () => {
    const rules = [
      {
        path: 'log.level',
        widens: (b: GatewayConfig, a: GatewayConfig) => b.log.level !== a.log.level,
        effect: 'changed',
      },
    ]
    expect(wideningChanges(running, config({ log: { level: 'debug' } }), rules)).toEqual([
      'log.level changed',
    ])
  })
})
