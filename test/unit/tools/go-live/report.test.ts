/** The check report (table and JSON) and the URL it is pointed at. */
import { describe, expect, it } from 'vitest'
import type { CheckResult } from '../../../../src/tools/go-live/rules/checks.ts'
import { buildReport, renderJson, renderText } from '../../../../src/tools/go-live/rules/report.ts'
import { hostPort, parseTarget, TargetError } from '../../../../src/tools/go-live/target.ts'

const checks: CheckResult[] = [
  {
    id: 'protocols.legacy',
    title: 'TLS 1.0 and 1.1 refused',
    required: true,
    status: 'pass',
    summary: 'refused',
    evidence: ['TLS 1.0: refused'],
  },
  {
    id: 'ciphers.tls12',
    title: 'TLS 1.2 suites',
    required: true,
    status: 'warn',
    summary: 'ARIA',
    evidence: [],
  },
  {
    id: 'http.hsts',
    title: 'HSTS',
    required: true,
    status: 'fail',
    summary: 'HSTS header missing',
    evidence: ['no header'],
  },
  {
    id: 'http.with-client-cert',
    title: 'POST with',
    required: false,
    status: 'skip',
    summary: 'no --cert',
    evidence: [],
  },
]

describe('buildReport and rendering', () => {
  const report = buildReport('https://127.0.0.1:8443/ehi', checks, new Date(0))

  it('is not ok when a required check fails, and names it', () => {
    expect(report).toMatchObject({
      ok: false,
      failed: ['http.hsts'],
      counts: { pass: 1, warn: 1, fail: 1, skip: 1 },
    })
  })

  it('prints one table row per check, the evidence, and the verdict', () => {
    const text = renderText(report)
    expect(text).toMatch(/PASS\s+protocols\.legacy\s+refused/)
    expect(text).toMatch(/FAIL\s+http\.hsts\s+HSTS header missing/)
    expect(text).toMatch(/SKIP\s+http\.with-client-cert\s+no --cert \(optional\)/)
    expect(text).toContain('      no header')
    expect(text).toContain('Not ready for Thredd: http.hsts did not pass.')
  })

  it('prints JSON with the same content', () => {
    const json = JSON.parse(renderJson(report)) as { ok: boolean; checks: { id: string; status: string }[] }
    expect(json.ok).toBe(false)
    expect(json.checks.map((c) => c.id)).toEqual(checks.map((c) => c.id))
  })

  it('is ok when only warnings and optional skips remain', () => {
    expect(
      buildReport(
        'u',
        checks.filter((c) => c.id !== 'http.hsts'),
        new Date(0),
      ).ok,
    ).toBe(true)
  })
})

describe('parseTarget', () => {
  it.each([
    [
      'https://ehi.example.com/ehi',
      { host: 'ehi.example.com', port: 443, path: '/ehi', servername: 'ehi.example.com' },
    ],
    [
      'https://127.0.0.1:8443/ehi?x=1',
      { host: '127.0.0.1', port: 8443, path: '/ehi?x=1', servername: undefined },
    ],
    ['https://[::1]:8443/', { host: '::1', port: 8443, path: '/', servername: undefined }],
  ])('%s', (url, expected) => {
    expect(parseTarget(url)).toMatchObject(expected)
  })

  it('refuses what cannot be checked', () => {
    expect(() => parseTarget('http://example.com/')).toThrow(TargetError)
    expect(() => parseTarget('example.com:443')).toThrow(TargetError)
  })

  it('writes host:port as openssl wants it', () => {
    expect(hostPort({ host: '::1', port: 8443 })).toBe('[::1]:8443')
    expect(hostPort({ host: 'example.com', port: 443 })).toBe('example.com:443')
  })
})
