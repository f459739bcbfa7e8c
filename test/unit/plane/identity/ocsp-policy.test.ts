/**
 * OCSP decisions as tables: the verdict a cache state gives at a time, what each policy makes of
 * each verdict, when the cache asks again, and how retries back off.
 */
import { describe, expect, it } from 'vitest'
import type { OcspAnswer } from '../../../../src/plane/identity/ocsp/ocsp-message.ts'
import {
  isFinal,
  ocspDecision,
  ocspVerdict,
  refreshAt,
  retryDelay,
  type OcspEntryState,
  type OcspVerdict,
} from '../../../../src/plane/identity/ocsp/ocsp-policy.ts'

const NOW = Date.UTC(2030, 5, 1, 12)
const MIN = 60_000
const SKEW = 5 * MIN

function answer(status: OcspAnswer['status'], extra: Partial<OcspAnswer> = {}): OcspAnswer {
  return {
    status,
    thisUpdate: NOW - 10 * MIN,
    nextUpdate: NOW + 50 * MIN,
    expiresAt: NOW + 50 * MIN,
    producedAt: NOW - 10 * MIN,
    signer: 'issuer',
    ...(status === 'revoked' ? { revocationTime: NOW - 60 * MIN, revocationReason: 1 } : {}),
    ...extra,
  }
}

const state = (s: Partial<OcspEntryState>): OcspEntryState => ({
  answer: undefined,
  lastError: undefined,
  inFlight: false,
  ...s,
})
const expired = { expiresAt: NOW - MIN, nextUpdate: NOW - MIN }
const timeout = { error: 'timeout' as const, detail: 'no whole answer within 5000 ms' }

describe('ocspVerdict', () => {
  it.each([
    { name: 'first sight, query on its way', s: state({ inFlight: true }), want: 'pending' },
    { name: 'first sight, query not started yet', s: state({}), want: 'pending' },
    { name: 'first query failed', s: state({ lastError: timeout }), want: 'unavailable' },
    {
      name: 'first query failed, retry on its way',
      s: state({ lastError: timeout, inFlight: true }),
      want: 'unavailable',
    },
    { name: 'current good', s: state({ answer: answer('good') }), want: 'good' },
    {
      name: 'current good, refresh failing',
      s: state({ answer: answer('good'), lastError: timeout }),
      want: 'good',
    },
    { name: 'current revoked', s: state({ answer: answer('revoked') }), want: 'revoked' },
    { name: 'current unknown', s: state({ answer: answer('unknown') }), want: 'unavailable' },
    {
      name: 'expired good, refresh failed',
      s: state({ answer: answer('good', expired), lastError: timeout }),
      want: 'unavailable',
    },
    {
      name: 'expired good, refresh on its way',
      s: state({ answer: answer('good', expired), inFlight: true }),
      want: 'pending',
    },
    {
      name: 'expired good, nothing on its way',
      s: state({ answer: answer('good', expired) }),
      want: 'unavailable',
    },
    { name: 'expired revoked (final)', s: state({ answer: answer('revoked', expired) }), want: 'revoked' },
    {
      name: 'expired revoked on hold',
      s: state({ answer: answer('revoked', { ...expired, revocationReason: 6 }) }),
      want: 'unavailable',
    },
    {
      name: 'current revoked on hold',
      s: state({ answer: answer('revoked', { revocationReason: 6 }) }),
      want: 'revoked',
    },
    {
      name: 'good from the future beyond the skew',
      s: state({ answer: answer('good', { thisUpdate: NOW + SKEW + MIN }) }),
      want: 'unavailable',
    },
    {
      name: 'good from the future within the skew',
      s: state({ answer: answer('good', { thisUpdate: NOW + SKEW - MIN }) }),
      want: 'good',
    },
  ] as const)('$name: $want', ({ s, want }) => {
    expect(ocspVerdict(s, NOW, SKEW).state).toBe(want)
  })

  it('is good up to and including the expiry, and not after it', () => {
    const s = state({ answer: answer('good') })
    expect(ocspVerdict(s, NOW + 50 * MIN, SKEW).state).toBe('good')
    expect(ocspVerdict(s, NOW + 50 * MIN + 1, SKEW).state).toBe('unavailable')
  })

  it('names the failure and the expiry when an answer ran out', () => {
    const v = ocspVerdict(state({ answer: answer('good', expired), lastError: timeout }), NOW, SKEW)
    expect(v).toMatchObject({ state: 'unavailable' })
    expect(v.state === 'unavailable' && v.detail).toMatch(/^timeout: .*expired at /)
  })
})

describe('ocspDecision', () => {
  const cases: { verdict: OcspVerdict; hard: object; soft: object }[] = [
    { verdict: { state: 'good' }, hard: { allow: true }, soft: { allow: true } },
    {
      verdict: { state: 'revoked', detail: 'revoked' },
      hard: { allow: false, reason: 'revoked' },
      soft: { allow: false, reason: 'revoked' },
    },
    {
      verdict: { state: 'unavailable', detail: 'timeout' },
      hard: { allow: false, reason: 'ocsp_unavailable' },
      soft: { allow: true, warn: expect.stringContaining('timeout') },
    },
    {
      verdict: { state: 'pending' },
      hard: { allow: false, reason: 'ocsp_unavailable' },
      soft: { allow: true, warn: expect.stringContaining('no OCSP answer yet') },
    },
  ]
  it.each(cases)('$verdict.state under hard', ({ verdict, hard }) => {
    expect(ocspDecision(verdict, 'hard')).toMatchObject(hard)
  })
  it.each(cases)('$verdict.state under soft', ({ verdict, soft }) => {
    expect(ocspDecision(verdict, 'soft')).toMatchObject(soft)
  })
  it('admits a good answer without a warning', () => {
    expect(ocspDecision({ state: 'good' }, 'soft')).toEqual({ allow: true })
  })
})

describe('isFinal', () => {
  it.each([
    { a: answer('good'), final: false },
    { a: answer('unknown'), final: false },
    { a: answer('revoked'), final: true },
    { a: answer('revoked', { revocationReason: undefined }), final: true },
    { a: answer('revoked', { revocationReason: 6 }), final: false },
  ])('$a.status (reason $a.revocationReason): $final', ({ a, final }) => {
    expect(isFinal(a)).toBe(final)
  })
})

describe('refreshAt', () => {
  const HOUR = 60 * MIN
  it('refreshes the margin before expiry for a long-lived answer', () => {
    const a = answer('good', { thisUpdate: NOW, expiresAt: NOW + 7 * 24 * HOUR })
    expect(refreshAt(a, HOUR)).toBe(NOW + 7 * 24 * HOUR - HOUR)
  })
  it('refreshes at half-life when the margin is longer than half the validity', () => {
    const a = answer('good', { thisUpdate: NOW, expiresAt: NOW + HOUR })
    expect(refreshAt(a, 3 * HOUR)).toBe(NOW + HOUR / 2)
  })
  it('never refreshes after expiry', () => {
    const a = answer('good', { thisUpdate: NOW, expiresAt: NOW + 10 * MIN })
    expect(refreshAt(a, 0)).toBeLessThanOrEqual(a.expiresAt)
  })
})

describe('retryDelay', () => {
  it.each([
    { failures: 1, low: 500, high: 1000 },
    { failures: 2, low: 1000, high: 2000 },
    { failures: 3, low: 2000, high: 4000 },
    { failures: 7, low: 30_000, high: 60_000 },
    { failures: 1000, low: 30_000, high: 60_000 },
  ])('after $failures failures: between $low and $high ms', ({ failures, low, high }) => {
    expect(retryDelay(failures, 1000, 60_000, 0)).toBe(low)
    expect(retryDelay(failures, 1000, 60_000, 0.999999)).toBeLessThanOrEqual(high)
    expect(retryDelay(failures, 1000, 60_000, 0.999999)).toBeGreaterThan(high * 0.99)
  })
})
