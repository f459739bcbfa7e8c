/**
 * The audit record is written to the log for every message: it may hold only the allowlisted
 * fields, never a sensitive field (CVV2, PIN block, token PAN... ehi-domain.md, "Implications"
 * §8), and the card Token only as a keyed HMAC.
 */
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { auditRecord, tokenHasher, tokenHmac } from '../../../src/ehi/audit-record.ts'
import {
  AUDIT_FIELDS,
  SENSITIVE_FIELDS,
  type EhiFormat,
  type EhiMessage,
} from '../../../src/ehi/ehi-message.ts'
import { parseEhiMessage } from '../../../src/ehi/parse-ehi-message.ts'
import { buildMessage, type Scenario } from '../../../src/ehi/synthetic-messages.ts'

const LIMITS = { maxDepth: 16, maxElements: 2000, maxAttributes: 8 }
const KEY = Buffer.from('audit-test-key-0123456789abcdef')
const HASH = tokenHasher(KEY)
const OTHER_KEY = Buffer.from('another-audit-key-fedcba9876543')
const TOKEN = '987654321'

/** One recognisable marker per sensitive field. */
const MARKERS: Record<string, string> = Object.fromEntries(
  SENSITIVE_FIELDS.map((name, i) => [name, `SECRET${String(i).padStart(2, '0')}x9f3a`]),
)

function parsed(scenario: Scenario, format: EhiFormat, overrides: Record<string, string>): EhiMessage {
  const body = buildMessage(scenario, format, overrides)
  const result = parseEhiMessage(
    Buffer.from(body),
    format === 'xml' ? 'text/xml' : 'application/json',
    LIMITS,
  )
  if (!result.ok) throw new Error(result.detail)
  return result.message
}

describe('auditRecord: redaction', () => {
  const cases = (['auth', 'presentment', 'reversal'] as const).flatMap((scenario) =>
    (['xml', 'json'] as const).map((format) => ({ scenario, format })),
  )

  it.each(cases)('$scenario as $format carries every sensitive field in its body', ({ scenario, format }) => {
    // Guards the redaction cases: the markers really are in the message.
    const body = buildMessage(scenario, format, { ...MARKERS, Token: TOKEN })
    for (const marker of Object.values(MARKERS)) expect(body).toContain(marker)
  })

  it.each(cases)('$scenario as $format: the record holds no sensitive value', ({ scenario, format }) => {
    const message = parsed(scenario, format, { ...MARKERS, Token: TOKEN })
    const text = JSON.stringify(auditRecord(message, 'decision', 1, HASH))
    for (const marker of Object.values(MARKERS)) expect(text).not.toContain(marker)
    expect(text).not.toContain('9f3a')
  })

  it.each(cases)(
    '$scenario as $format: the parsed message itself holds no sensitive value',
    ({ scenario, format }) => {
      const message = parsed(scenario, format, { ...MARKERS, Token: TOKEN })
      expect(JSON.stringify(message)).not.toContain('9f3a')
    },
  )

  it.each(cases)(
    '$scenario as $format: the record holds the Token only as an HMAC',
    ({ scenario, format }) => {
      const message = parsed(scenario, format, { ...MARKERS, Token: TOKEN })
      const record = auditRecord(message, 'decision', 1, HASH)
      expect(JSON.stringify(record)).not.toContain(TOKEN)
      expect(record.tokenHmac).toBe(tokenHmac(TOKEN, KEY))
    },
  )

  it.each(cases)('$scenario as $format: fields are a subset of AUDIT_FIELDS', ({ scenario, format }) => {
    const message = parsed(scenario, format, { ...MARKERS, Token: TOKEN })
    const allowed = new Set<string>(AUDIT_FIELDS)
    for (const name of Object.keys(auditRecord(message, 'decision', 1, HASH).fields))
      expect(allowed.has(name)).toBe(true)
  })

  it('drops fields that are not allowlisted, even when a message object carries them', () => {
    // Defence in depth: the parser never extracts them, but the record must not rely on it.
    const message = {
      format: 'json',
      root: 'GetTransaction',
      fields: { MTID: '0100', CVV2: 'SECRET-CVV', PaymentTokenPan: '5372000000000000', Token: TOKEN },
    } as unknown as EhiMessage
    const record = auditRecord(message, 'decision', 4, HASH)
    expect(record.fields).toEqual({ MTID: '0100' })
    expect(JSON.stringify(record)).not.toMatch(/SECRET-CVV|5372000000000000|987654321/)
  })
})

describe('auditRecord: content', () => {
  it('gives class, format, root, mode, the allowlisted fields and the token HMAC of an auth', () => {
    const message = parsed('auth', 'xml', {})
    expect(auditRecord(message, 'decision', 2, HASH)).toEqual({
      class: 'decision',
      format: 'xml',
      root: 'GetTransaction',
      mode: 2,
      tokenHmac: tokenHmac('900000001', KEY),
      fields: {
        MTID: '0100',
        Txn_Type: 'A',
        TXn_ID: '4000000001',
        SendingAttemptCount: '0',
        traceid_lifecycle: '00000000-0000-4000-8000-000000000001',
        Traceid_Message: '00000000-0000-4000-8000-000000000002',
        ProductID: '9001',
        InstCode: 'SYN',
        SubBIN: '99999901',
        EHIVersion: '5.2',
        Authorised_by_GPS: 'N',
        Txn_Stat_Code: 'A',
        Status_Code: '00',
        Resp_Code_DE39: '00',
        MCC_Code: '5411',
        Txn_CCy: '826',
        Bill_Ccy: '826',
      },
    })
  })

  it('gives the Cut_Off identifiers and no token HMAC for a Cut_Off', () => {
    const record = auditRecord(parsed('cutoff', 'json', {}), 'cutoff', 1, HASH)
    expect(record.fields).toEqual({
      CutoffID: '7000000001',
      ProductID: '9001',
      CutoffDate: '2026-11-27',
      FirstTxn_ID: '4000000001',
      LastTxn_ID: '4000009999',
    })
    expect(record).not.toHaveProperty('tokenHmac')
  })

  it('omits empty fields (XML sends blank elements)', () => {
    const record = auditRecord(parsed('load', 'xml', {}), 'other', 1, HASH)
    expect(record.fields).not.toHaveProperty('MTID')
    expect(record.fields).not.toHaveProperty('MCC_Code')
  })

  it.each([
    { name: 'a value of 64 characters is kept', length: 64, logged: 'a'.repeat(64) },
    {
      name: 'a value of 65 characters is truncated to 64 and marked',
      length: 65,
      logged: `${'a'.repeat(64)}...`,
    },
    { name: 'a huge value is truncated to 64 and marked', length: 100_000, logged: `${'a'.repeat(64)}...` },
  ])('$name', ({ length, logged }) => {
    const message: EhiMessage = {
      format: 'xml',
      root: 'GetTransaction',
      fields: { Traceid_Message: 'a'.repeat(length) },
    }
    expect(auditRecord(message, 'other', 1, HASH).fields.Traceid_Message).toBe(logged)
  })
})

describe('tokenHmac', () => {
  it('is deterministic for one key (joinable across log lines)', () => {
    expect(tokenHmac(TOKEN, KEY)).toBe(tokenHmac(TOKEN, Buffer.from(KEY)))
  })

  it('differs across keys', () => {
    expect(tokenHmac(TOKEN, KEY)).not.toBe(tokenHmac(TOKEN, OTHER_KEY))
  })

  it('differs across tokens', () => {
    expect(tokenHmac('123456789', KEY)).not.toBe(tokenHmac('123456788', KEY))
  })

  it.each(['123456789', '9007199254740993', '1', 'x'.repeat(1000)])(
    'is 22 base64url characters for %s',
    (token) => {
      expect(tokenHmac(token, KEY)).toMatch(/^[A-Za-z0-9_-]{22}$/)
    },
  )

  it.each(['123456789', '900000001', '12345678901234567890'])('does not contain the token %s', (token) => {
    expect(tokenHmac(token, KEY)).not.toContain(token)
  })

  it('ignores spaces around the token', () => {
    expect(tokenHmac(' 123456789 ', KEY)).toBe(tokenHmac('123456789', KEY))
  })

  it('is the HMAC-SHA-256 of the token, truncated to 128 bits', () => {
    const full = createHmac('sha256', KEY).update(TOKEN).digest()
    expect(Buffer.from(tokenHmac(TOKEN, KEY), 'base64url')).toEqual(full.subarray(0, 16))
  })
})

describe('tokenHasher', () => {
  it('gives the keyed HMAC of each Token, cached or not', () => {
    const hash = tokenHasher(KEY, 2)
    for (const token of ['900000001', '900000002', '900000003', '900000001']) {
      expect(hash(token)).toBe(tokenHmac(token, KEY))
      expect(hash(token)).toBe(tokenHmac(token, KEY))
    }
  })
})
