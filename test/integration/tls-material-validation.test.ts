/**
 * The TLS material is validated as a whole before anything listens; each problem names its
 * config field. Reads real files from the test PKI.
 */
import { describe, expect, inject, it } from 'vitest'
import { ConfigError } from '../../src/config/config-issues.ts'
import { validateConfig } from '../../src/config/load-config.ts'
import { compileRuntime } from '../../src/runtime/compile-runtime.ts'
import { baseConfig } from '../support/harness.ts'

const pki = inject('pki')
const f = pki.files

function compile(tls: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const base = baseConfig(pki, 'http://127.0.0.1:9/ehi') as { tls: Record<string, unknown> }
  const raw = { ...base, ...extra, tls: { ...base.tls, ...tls } }
  const { config, issues } = validateConfig(raw)
  return compileRuntime(config, issues)
}

function issuesOf(tls: Record<string, unknown>, extra: Record<string, unknown> = {}): string[] {
  try {
    compile(tls, extra)
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`)
    throw error
  }
  return []
}

describe('TLS material validation', () => {
  it('accepts the complete test material', () => {
    expect(issuesOf({})).toEqual([])
  })

  it('refuses a client CA bundle without its root (no partial chains)', () => {
    const issues = issuesOf({ clientCa: [f['thredd-issuing-ca.pem']], crl: { enabled: false } })
    expect(issues.join('\n')).toMatch(
      /tls\.clientCa: the issuer of .*Test Thredd Issuing CA is not in the bundle/,
    )
  })

  it('refuses CRL checking when a CA in the bundle has no CRL', () => {
    const issues = issuesOf({ crl: { enabled: true, files: [f['thredd-issuing-ca.crl.pem']] } })
    expect(issues).toEqual([expect.stringMatching(/^tls\.crl\.files: no CRL for CA .*Test Thredd Root CA/)])
  })

  it('refuses a CRL issued by a CA outside the bundle', () => {
    const issues = issuesOf({
      clientCa: [f['thredd-root-ca.pem']],
      crl: { enabled: true, files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.crl.pem']] },
    })
    expect(issues.join('\n')).toContain('tls.crl.files[1]: a CRL in')
  })

  it('refuses a key that does not match the certificate', () => {
    const issues = issuesOf({
      serverCertificates: [{ cert: f['server-chain.pem'], key: f['unrelated.key'] }],
    })
    expect(issues).toEqual([
      expect.stringMatching(/^tls\.serverCertificates\[0\]\.key: does not match the certificate/),
    ])
  })

  it('refuses a server chain in the wrong order', () => {
    const issues = issuesOf({
      serverCertificates: [{ cert: f['server-wrong-order.pem'], key: f['server.key'] }],
    })
    expect(issues.join('\n')).toContain('tls.serverCertificates[0].cert')
  })

  it('refuses an expired server certificate', () => {
    const issues = issuesOf({
      serverCertificates: [{ cert: f['server-expired-chain.pem'], key: f['server.key'] }],
    })
    expect(issues.join('\n')).toMatch(/tls\.serverCertificates\[0\]\.cert: the server certificate expired/)
  })

  it('refuses a missing file, naming the field', () => {
    const issues = issuesOf({ clientCa: [f['thredd-root-ca.pem'], '/nonexistent/issuing.pem'] })
    expect(issues.join('\n')).toContain('tls.clientCa[1]: cannot read /nonexistent/issuing.pem (ENOENT)')
  })

  it('refuses a certificate file given as a key without quoting it', () => {
    const issues = issuesOf({
      serverCertificates: [{ cert: f['server-chain.pem'], key: f['server-root-ca.pem'] }],
    })
    expect(issues).toEqual([
      expect.stringMatching(/^tls\.serverCertificates\[0\]\.key: .* holds no readable PEM private key$/),
    ])
  })

  it('refuses two server certificates of the same key type', () => {
    const pair = { cert: f['server-chain.pem'], key: f['server.key'] }
    expect(issuesOf({ serverCertificates: [pair, pair] }).join('\n')).toContain('same key type')
  })

  it('warns when the server chain holds the leaf only', () => {
    const runtime = compile({
      serverCertificates: [{ cert: f['server-leaf-only.pem'], key: f['server.key'] }],
    })
    expect(runtime.warnings.join('\n')).toContain('holds the leaf only')
  })

  it('warns when the source allowlist is empty', () => {
    expect(compile({}).warnings.join('\n')).toContain('network.allowlist is empty')
  })

  it('does not warn about the allowlist when it is set', () => {
    const runtime = compile({}, { network: { allowlist: ['192.0.2.10'] } })
    expect(runtime.warnings.join('\n')).not.toContain('network.allowlist')
  })

  it('refuses a cipher list OpenSSL cannot use', () => {
    expect(issuesOf({ ciphers: 'NOT-A-CIPHER', ciphersuites: 'NOT_A_SUITE' }).join('\n')).toContain(
      'tls.ciphers',
    )
  })

  it('reports problems in several parts at once', () => {
    const issues = issuesOf(
      { serverCertificates: [{ cert: f['server-chain.pem'], key: f['unrelated.key'] }] },
      { network: { allowlist: ['nonsense'] }, clientAuth: { pins: { spkiSha256: ['not-a-pin'] } } },
    )
    expect(issues.map((i) => i.split(':')[0])).toEqual(
      expect.arrayContaining([
        'network.allowlist[0]',
        'clientAuth.pins.spkiSha256[0]',
        'tls.serverCertificates[0].key',
      ]),
    )
  })

  it('changes the trust hash exactly when the trusted material changes', () => {
    const a = compile({}).material.trustHash
    const b = compile({}).material.trustHash
    const c = compile({
      crl: {
        enabled: true,
        files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.revokes-good.crl.pem']],
      },
    }).material.trustHash
    expect(a).toBe(b)
    expect(c).not.toBe(a)
  })
})

describe('one run names every bad field: checks beside a schema problem still run', () => {
  const good = () => baseConfig(pki, 'http://127.0.0.1:9/ehi') as Record<string, Record<string, unknown>>
  const mismatch = [{ cert: f['server-chain.pem'], key: f['unrelated.key'] }]

  function issuesFor(change: (raw: Record<string, Record<string, unknown>>) => void): string[] {
    const raw = good()
    change(raw)
    const { config, issues } = validateConfig(raw)
    try {
      compileRuntime(config, issues)
    } catch (error) {
      if (error instanceof ConfigError) return error.issues.map((i) => i.path)
      throw error
    }
    return []
  }

  it.each<[string, (raw: Record<string, Record<string, unknown>>) => void, string[]]>([
    [
      'a bad CRL URL and a key that does not match its certificate',
      (raw) => {
        raw.tls!.crl = { enabled: true, fetch: { urls: ['ftp://crl.example/x.crl'] } }
        raw.tls!.serverCertificates = mismatch
      },
      ['tls.crl.fetch.urls[0]', 'tls.serverCertificates[0].key'],
    ],
    [
      'a pair without its cert and another pair whose key does not match',
      (raw) => {
        raw.tls!.serverCertificates = [...mismatch, { key: f['server.key'] }]
      },
      ['tls.serverCertificates[1].cert', 'tls.serverCertificates[0].key'],
    ],
    [
      'a bad OCSP policy and cipher suites OpenSSL does not know',
      (raw) => {
        raw.tls!.ocsp = { policy: 'maybe' }
        raw.tls!.ciphers = 'NOT-A-CIPHER'
        raw.tls!.ciphersuites = 'NOT_A_SUITE'
      },
      ['tls.ocsp.policy', 'tls.ciphers'],
    ],
    [
      'a bad handshake timeout and an unreadable client CA',
      (raw) => {
        raw.tls!.handshakeTimeoutMs = 0
        raw.tls!.clientCa = ['/nonexistent/ca.pem']
        raw.tls!.crl = { enabled: false }
      },
      ['tls.handshakeTimeoutMs', 'tls.clientCa[0]'],
    ],
    [
      'a bad parser limit and a deadline past the budget',
      (raw) => {
        raw.ehi = { limits: { maxDepth: 1 }, threddBudgetMs: 200, deadlineMs: { decision: 250 } }
      },
      ['ehi.limits.maxDepth', 'ehi.deadlineMs.decision'],
    ],
    [
      'one deadline of the wrong type and another past the budget',
      (raw) => {
        raw.ehi = { threddBudgetMs: 200, deadlineMs: { advice: 'soon', decision: 250 } }
      },
      ['ehi.deadlineMs.advice', 'ehi.deadlineMs.decision'],
    ],
    [
      'a bad pool size, credentials in the URL and a header the gateway sets',
      (raw) => {
        raw.upstream = { url: 'http://user:secret@127.0.0.1:9/ehi', connections: 0, forwardHeaders: ['host'] }
      },
      ['upstream.connections', 'upstream.url', 'upstream.forwardHeaders[0]'],
    ],
    [
      'a bad reject mode and a pin that is not a hash',
      (raw) => {
        raw.clientAuth = { rejectMode: 'tcp', pins: { spkiSha256: ['not-a-pin'] } }
      },
      ['clientAuth.rejectMode', 'clientAuth.pins.spkiSha256[0]'],
    ],
    [
      'an unknown key and a key that does not match its certificate',
      (raw) => {
        raw.tls!.clientCA = raw.tls!.clientCa
        raw.tls!.serverCertificates = mismatch
      },
      ['tls.clientCA', 'tls.serverCertificates[0].key'],
    ],
  ])('%s', (_name, change, expected) => {
    expect(issuesFor(change).sort()).toEqual([...expected].sort())
  })

  it.each<[string, (raw: Record<string, Record<string, unknown>>) => void, string[]]>([
    ['no tls section at all', (raw) => delete raw.tls, ['tls']],
    ['a tls section that is not an object', (raw) => (raw.tls = 'tls.yaml' as never), ['tls']],
    [
      'an empty key path (not read as a file)',
      (raw) => (raw.tls!.serverCertificates = [{ cert: f['server-chain.pem'], key: '' }]),
      ['tls.serverCertificates[0].key'],
    ],
    ['a deadlines section that is a number', (raw) => (raw.ehi = { deadlineMs: 5 }), ['ehi.deadlineMs']],
  ])('never guesses at a field that failed the schema: %s', (_name, change, expected) => {
    expect(issuesFor(change)).toEqual(expected)
  })
})
