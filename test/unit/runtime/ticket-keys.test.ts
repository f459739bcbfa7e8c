import { hkdfSync, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  deriveTicketKey,
  nextRotationMs,
  parseTicketSecret,
  rotationPeriod,
} from '../../../src/runtime/rules/ticket-keys.ts'

const SECRET = Buffer.alloc(32, 7)
const OTHER = Buffer.alloc(32, 8)
const TRUST = 'a'.repeat(64)

describe('deriveTicketKey', () => {
  it('matches HKDF-SHA256 with the documented salt and info (known answer)', () => {
    const expected = Buffer.from(
      hkdfSync('sha256', SECRET, 'ehi-gateway session tickets v1', `1234:${TRUST}`, 48),
    )
    expect(deriveTicketKey(SECRET, 1234, TRUST).equals(expected)).toBe(true)
    expect(deriveTicketKey(SECRET, 1234, TRUST)).toHaveLength(48)
  })

  it.each<[string, [Buffer, number, string], [Buffer, number, string], boolean]>([
    ['the same secret, period and trust', [SECRET, 7, TRUST], [Buffer.from(SECRET), 7, TRUST], true],
    ['the next period', [SECRET, 7, TRUST], [SECRET, 8, TRUST], false],
    ['another secret', [SECRET, 7, TRUST], [OTHER, 7, TRUST], false],
    ['another trust', [SECRET, 7, TRUST], [SECRET, 7, 'b'.repeat(64)], false],
  ])('%s: equal keys %s', (_, a, b, equal) => {
    expect(deriveTicketKey(...a).equals(deriveTicketKey(...b))).toBe(equal)
  })
})

describe('rotation periods', () => {
  it.each([
    // [now (ms), minutes, period, next boundary (ms)]
    [0, 60, 0, 3_600_000],
    [3_599_999, 60, 0, 3_600_000],
    [3_600_000, 60, 1, 7_200_000],
    [1_700_000_123_456, 1, 28_333_335, 1_700_000_160_000],
    [1_700_000_123_456, 1440, 19_675, 1_700_006_400_000],
  ])('at %i ms with %i-minute periods: period %i, next at %i', (now, minutes, period, next) => {
    expect(rotationPeriod(now, minutes)).toBe(period)
    expect(nextRotationMs(now, minutes)).toBe(next)
  })
})

describe('parseTicketSecret', () => {
  const b64 = (bytes: number) => randomBytes(bytes).toString('base64')
  it.each<[string, Buffer, number | RegExp]>([
    ['base64 of 48 bytes with a newline (openssl rand -base64 48)', Buffer.from(`${b64(48)}\n`), 48],
    ['base64 of 32 bytes', Buffer.from(b64(32)), 32],
    ['base64 of 64 bytes over two lines', Buffer.from(`${b64(48)}\n${b64(15)}\n`.replace(/=/g, '')), 63],
    ['32 raw bytes', Buffer.concat([Buffer.from([0, 255, 1]), randomBytes(29)]), 32],
    ['base64 of 24 bytes', Buffer.from(`${b64(24)}\n`), /holds base64 text of 24 bytes; at least 32/],
    ['a short password', Buffer.from('correct horse\n'), /holds 14 bytes; at least 32/],
    ['an empty file', Buffer.alloc(0), /holds 0 bytes/],
    ['31 raw bytes', Buffer.concat([Buffer.from([0]), randomBytes(30)]), /holds 31 bytes/],
  ])('%s', (_, file, want) => {
    const result = parseTicketSecret(file)
    if (typeof want === 'number') {
      expect('secret' in result && result.secret.length).toBe(want)
    } else {
      expect('problem' in result && result.problem).toMatch(want)
    }
  })

  it('decodes base64 text, so replicas given the same text share the same secret', () => {
    const text = b64(48)
    const a = parseTicketSecret(Buffer.from(`${text}\n`))
    const b = parseTicketSecret(Buffer.from(text))
    expect('secret' in a && 'secret' in b && a.secret.equals(b.secret)).toBe(true)
    expect('secret' in a && a.secret.equals(Buffer.from(text, 'base64'))).toBe(true)
  })
})
