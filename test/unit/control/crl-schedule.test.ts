/**
 * The decisions of CRL fetching, with the clock and the jitter as arguments: which URLs, whether
 * a fetched CRL may replace the one in force, and when to fetch next (refresh ahead of
 * nextUpdate, poll on an interval, back off with jitter on failure).
 */
import { crlFetchEnabled, crlFetchIssues } from '../../../src/runtime/rules/crl-fetch-settings.ts'
import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../../src/config/load-config.ts'
import { crlDer } from '../../../src/control/crl-refresh.ts'
import {
  crlSources,
  judgeCandidate,
  planNextFetch,
  retryDelay,
  type CrlConfig,
  type ScheduleSettings,
} from '../../../src/control/rules/crl-schedule.ts'
import { toPem } from '../../../src/plane/tls/pem.ts'
import { DAY, makeCa, makeCrl, NOW } from '../../support/unit-certs.ts'

const SECOND = 1000
const HOUR = 3_600_000
const at = (offsetMs: number) => new Date(NOW + offsetMs)

describe('judgeCandidate(candidate, inForce, now)', () => {
  const crl = (crlNumber: bigint | undefined, thisUpdate: number, nextUpdate: number | undefined) => ({
    crlNumber,
    thisUpdate: at(thisUpdate),
    nextUpdate: nextUpdate === undefined ? undefined : at(nextUpdate),
  })
  const inForce = crl(5n, -DAY, 6 * DAY)

  it.each([
    { name: 'a first CRL for the CA', candidate: crl(1n, -HOUR, DAY), inForce: undefined, want: 'updated' },
    { name: 'a newer CRL', candidate: crl(6n, -HOUR, 7 * DAY), inForce, want: 'updated' },
    { name: 'the CRL in force again', candidate: crl(5n, -DAY, 6 * DAY), inForce, want: 'unchanged' },
    { name: 'an older, unexpired CRL', candidate: crl(4n, -2 * DAY, 5 * DAY), inForce, want: 'older' },
    { name: 'a newer but expired CRL', candidate: crl(6n, -2 * DAY, -SECOND), inForce, want: 'expired' },
    { name: 'a CRL expiring right now', candidate: crl(6n, -2 * DAY, 0), inForce, want: 'expired' },
    {
      name: 'a first CRL, expired',
      candidate: crl(1n, -2 * DAY, -HOUR),
      inForce: undefined,
      want: 'expired',
    },
    { name: 'a CRL not valid yet', candidate: crl(6n, SECOND, 7 * DAY), inForce, want: 'not_yet_valid' },
    { name: 'a CRL without nextUpdate', candidate: crl(6n, -HOUR, undefined), inForce, want: 'updated' },
    {
      name: 'no numbers: a later thisUpdate',
      candidate: crl(undefined, -HOUR, DAY),
      inForce: crl(undefined, -DAY, DAY),
      want: 'updated',
    },
    {
      name: 'no numbers: an earlier thisUpdate',
      candidate: crl(undefined, -2 * DAY, DAY),
      inForce: crl(undefined, -DAY, DAY),
      want: 'older',
    },
  ])('$name: $want', ({ candidate, inForce: current, want }) => {
    expect(judgeCandidate(candidate, current, NOW)).toBe(want)
  })
})

describe('retryDelay(attempt, min, max, random): exponential backoff with equal jitter', () => {
  it.each([
    { attempt: 1, random: 0, want: 15 * SECOND },
    { attempt: 1, random: 0.999999, want: 30 * SECOND },
    { attempt: 2, random: 0, want: 30 * SECOND },
    { attempt: 3, random: 0.5, want: 90 * SECOND },
    { attempt: 5, random: 0, want: 240 * SECOND },
    // Capped at max (600 s), jitter within [max/2, max].
    { attempt: 6, random: 0, want: 300 * SECOND },
    { attempt: 6, random: 0.999999, want: 600 * SECOND },
    { attempt: 60, random: 0.5, want: 450 * SECOND },
  ])('attempt $attempt, random $random: $want ms', ({ attempt, random, want }) => {
    expect(retryDelay(attempt, 30 * SECOND, 600 * SECOND, random)).toBe(want)
  })

  it('never waits longer than max, however many attempts', () => {
    for (let attempt = 1; attempt < 2000; attempt += 37)
      expect(retryDelay(attempt, 30 * SECOND, 600 * SECOND, 0.999999)).toBeLessThanOrEqual(600 * SECOND)
  })
})

describe('planNextFetch', () => {
  const settings: ScheduleSettings = {
    intervalMs: HOUR,
    marginMs: 12 * HOUR,
    retryMinMs: 30 * SECOND,
    retryMaxMs: 600 * SECOND,
  }
  const plan = (input: {
    outcome: 'failed' | 'succeeded'
    attempt?: number
    nextUpdate?: number
    random?: number
    settings?: Partial<ScheduleSettings>
  }) =>
    planNextFetch({
      outcome: input.outcome,
      attempt: input.attempt ?? 0,
      now: NOW,
      nextUpdate: input.nextUpdate === undefined ? undefined : NOW + input.nextUpdate,
      settings: { ...settings, ...input.settings },
      random: input.random ?? 0,
    })

  it.each([
    {
      name: 'success, nextUpdate far away: the interval',
      input: { outcome: 'succeeded', nextUpdate: 7 * DAY },
      want: { delayMs: HOUR, attempt: 0 },
    },
    {
      name: 'success, nextUpdate - margin before the interval ends: at nextUpdate - margin',
      input: { outcome: 'succeeded', nextUpdate: 12 * HOUR + 20 * 60 * SECOND },
      want: { delayMs: 20 * 60 * SECOND, attempt: 0 },
    },
    {
      name: 'success, jitter takes up to 10% off, never adds',
      input: { outcome: 'succeeded', nextUpdate: 7 * DAY, random: 0.5 },
      want: { delayMs: 0.95 * HOUR, attempt: 0 },
    },
    {
      name: 'success, a CRL without nextUpdate: the interval',
      input: { outcome: 'succeeded' },
      want: { delayMs: HOUR, attempt: 0 },
    },
    {
      name: 'success resets the backoff',
      input: { outcome: 'succeeded', attempt: 4, nextUpdate: 7 * DAY },
      want: { delayMs: HOUR, attempt: 0 },
    },
    {
      name: 'success inside the margin (no newer CRL yet): back off from retryMin',
      input: { outcome: 'succeeded', nextUpdate: 2 * HOUR },
      want: { delayMs: 15 * SECOND, attempt: 1 },
    },
    {
      name: 'success inside the margin, again: the backoff grows',
      input: { outcome: 'succeeded', attempt: 3, nextUpdate: HOUR },
      want: { delayMs: 120 * SECOND, attempt: 4 },
    },
    {
      name: 'success after nextUpdate (an expired CRL in force): back off',
      input: { outcome: 'succeeded', nextUpdate: -HOUR },
      want: { delayMs: 15 * SECOND, attempt: 1 },
    },
    {
      name: 'first failure: retryMin with jitter',
      input: { outcome: 'failed', nextUpdate: 7 * DAY },
      want: { delayMs: 15 * SECOND, attempt: 1 },
    },
    {
      name: 'repeated failures: doubling up to retryMax',
      input: { outcome: 'failed', attempt: 9, nextUpdate: 7 * DAY, random: 0.999999 },
      want: { delayMs: 600 * SECOND, attempt: 10 },
    },
    {
      name: 'failures never wait longer than the interval',
      input: { outcome: 'failed', attempt: 9, random: 0.999999, settings: { intervalMs: 120 * SECOND } },
      want: { delayMs: 120 * SECOND, attempt: 10 },
    },
    {
      name: 'margin 0: fetch at nextUpdate at the latest',
      input: { outcome: 'succeeded', nextUpdate: 10 * 60 * SECOND, settings: { marginMs: 0 } },
      want: { delayMs: 10 * 60 * SECOND, attempt: 0 },
    },
  ] as const)('$name', ({ input, want }) => {
    expect(plan(input)).toEqual(want)
  })
})

describe('crlSources', () => {
  const root = makeCa('Sources Root CA')
  const issuing = makeCa('Sources Issuing CA', root, {
    crlDistributionPoints: ['http://crl.example/root.crl', 'ldap://dir.example/root'],
  })
  const fetch = (over: Partial<CrlConfig['fetch']>) => ({ ...defaults().fetch, ...over })
  const cas = [
    { der: root.der, issuerSubject: undefined },
    { der: issuing.der, issuerSubject: 'O=Unit Test, CN=Sources Root CA' },
  ]

  it('gives the configured URLs', () => {
    expect(crlSources(fetch({ urls: ['http://a.example/1.crl'] }), cas)).toEqual([
      { url: 'http://a.example/1.crl' },
    ])
  })

  it('adds the http distribution points of the CAs, with the CA expected to issue them', () => {
    expect(
      crlSources(fetch({ urls: ['http://a.example/1.crl'], fromDistributionPoints: true }), cas),
    ).toEqual([
      { url: 'http://a.example/1.crl' },
      { url: 'http://crl.example/root.crl', expectedIssuer: 'O=Unit Test, CN=Sources Root CA' },
    ])
  })

  it('lists a URL once when it is both configured and a distribution point', () => {
    const sources = crlSources(
      fetch({ urls: ['http://crl.example/root.crl'], fromDistributionPoints: true }),
      cas,
    )
    expect(sources.map((s) => s.url)).toEqual(['http://crl.example/root.crl'])
  })

  it('ignores the distribution points unless asked', () => {
    expect(crlSources(fetch({}), cas)).toEqual([])
  })
})

function defaults(): CrlConfig {
  const { config } = validateConfig({
    tls: { serverCertificates: [{ cert: 'c', key: 'k' }], clientCa: ['ca'] },
    upstream: { url: 'http://127.0.0.1:1/' },
  })
  return config.tls.crl
}

describe('the fetch settings', () => {
  const crl = (over: Partial<CrlConfig>, fetch: Partial<CrlConfig['fetch']> = {}): CrlConfig => {
    const base = defaults()
    return { ...base, ...over, fetch: { ...base.fetch, ...fetch } }
  }

  it('has sane defaults: hourly polls, 12 h margin, 10 s timeout, 8 MiB, 30..600 s retries', () => {
    expect(defaults().fetch).toEqual({
      urls: [],
      fromDistributionPoints: false,
      refreshIntervalSeconds: 3600,
      refreshMarginSeconds: 43200,
      timeoutMs: 10000,
      maxBytes: 8388608,
      retryMinSeconds: 30,
      retryMaxSeconds: 600,
    })
    expect(defaults().readinessMarginSeconds).toBe(0)
  })

  it.each([
    { name: 'off by default', crl: crl({ enabled: true }), want: false },
    { name: 'on with a URL', crl: crl({ enabled: true }, { urls: ['http://a/'] }), want: true },
    {
      name: 'on with distribution points',
      crl: crl({ enabled: true }, { fromDistributionPoints: true }),
      want: true,
    },
    {
      name: 'off while CRL checking is off',
      crl: crl({ enabled: false }, { urls: ['http://a/'] }),
      want: false,
    },
  ])('fetching is $want: $name', ({ crl: c, want }) => {
    expect(crlFetchEnabled(c)).toBe(want)
  })

  it('refuses a URL with credentials and a retry minimum above the maximum', () => {
    const { issues } = crlFetchIssues(
      crl(
        { enabled: true },
        { urls: ['http://u:p@crl.example/x.crl'], retryMinSeconds: 900, retryMaxSeconds: 60 },
      ),
    )
    expect(issues).toEqual([
      { path: 'tls.crl.fetch.urls[0]', message: 'must not carry credentials (CRLs are public)' },
      {
        path: 'tls.crl.fetch.retryMinSeconds',
        message: 'must not exceed tls.crl.fetch.retryMaxSeconds (60)',
      },
    ])
  })

  it('refuses a URL that is not http(s) in the schema', () => {
    const { issues } = validateConfig({
      tls: {
        serverCertificates: [{ cert: 'c', key: 'k' }],
        clientCa: ['ca'],
        crl: { fetch: { urls: ['ldap://x'] } },
      },
      upstream: { url: 'http://127.0.0.1:1/' },
    })
    expect(issues.map((i) => i.path)).toEqual(['tls.crl.fetch.urls[0]'])
  })

  it('warns when a restart without network could not start, and when fetching is set but CRLs are off', () => {
    expect(crlFetchIssues(crl({ enabled: true }, { urls: ['http://a/'] })).warnings).toEqual([
      expect.stringContaining('a restart without network to the CRL URLs cannot start'),
    ])
    expect(crlFetchIssues(crl({ enabled: true }, { urls: ['http://a/'], cacheDir: '/c' })).warnings).toEqual(
      [],
    )
    expect(crlFetchIssues(crl({ enabled: false }, { urls: ['http://a/'] })).warnings).toEqual([
      expect.stringContaining('tls.crl.enabled is false'),
    ])
  })
})

describe('crlDer: the body of a CRL URL', () => {
  const ca = makeCa('Body CA')
  const der = makeCrl(ca)

  it.each([
    { name: 'DER', body: der, want: der },
    { name: 'PEM', body: Buffer.from(toPem(der, 'X509 CRL')), want: der },
    { name: 'PEM after blank lines', body: Buffer.from(`\n\n${toPem(der, 'X509 CRL')}`), want: der },
    { name: 'two PEM CRLs', body: Buffer.from(toPem(der, 'X509 CRL').repeat(2)), want: undefined },
    { name: 'a PEM certificate', body: Buffer.from(ca.pem), want: undefined },
    { name: 'HTML', body: Buffer.from('<html>not found</html>'), want: undefined },
    { name: 'nothing', body: Buffer.alloc(0), want: undefined },
  ])('$name', ({ body, want }) => {
    expect(crlDer(body)).toEqual(want)
  })
})
