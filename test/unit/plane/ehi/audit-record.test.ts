/**
 * The audit record is written to the log for every message: it may hold only the allowlisted
 * fields, never a sensitive field (CVV2, PIN block, token PAN... ehi-domain.md, "Implications"
 * §8), and the card Token only as a keyed HMAC.
 */
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  auditRecord,
  FIELD_SHAPES,
  MASKED,
  tokenHasher,
  tokenHmac,
} from '../../../../src/plane/ehi/audit-record.ts'
import {
  AUDIT_FIELDS,
  SENSITIVE_FIELDS,
  type EhiFormat,
  type EhiMessage,
} from '../../../../src/plane/ehi/ehi-message.ts'
import { parseEhiMessage } from '../../../../src/plane/ehi/parse-ehi-message.ts'
import { buildMessage, SCENARIOS, type Scenario } from '../../../../src/tools/messages/synthetic-messages.ts'

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
        traceid_lifecycle: 'BNET-20261127-MCS000001',
        Traceid_Message: 'BNET-20261127-MCS000001',
        ProductID: '9001',
        InstCode: 'SYN',
        SubBIN: '99999901',
        EHIVersion: '5.2',
        Authorised_by_GPS: 'N',
        Txn_Stat_Code: 'A',
        Status_Code: '00',
        Resp_Code_DE39: '00',
        Response_Source_Why: '0',
        Message_Why: '0',
        MCC_Code: '5411',
        Txn_CCy: '826',
        Bill_Ccy: '826',
        Proc_Code: '000000',
      },
    })
  })

  it('gives the Cut_Off identifiers and no token HMAC for a Cut_Off', () => {
    const record = auditRecord(parsed('cutoff', 'json', {}), 'cutoff', 1, HASH)
    // Thredd's JSON names, logged under the XML names, with every counter.
    expect(record.fields).toEqual({
      CutoffID: '7000000001',
      ProductID: '9001',
      CutoffDate: '2026-11-27 13:00:01.837',
      FirstTxn_ID: '4000000001',
      LastTxn_ID: '4000009999',
      Auths_Acknowledged: '9876',
      Auths_NotAcknowledged: '0',
      Financials_Acknowledged: '4321',
      Financials_NotAcknowledged: '2',
      LoadsUnloads_Acknowledged: '12',
      LoadsUnloads_NotAcknowledged: '0',
      BalanceAdjustExpiry_Acknowledged: '3',
      BalanceAdjustExpiry_NotAcknowledged: '0',
    })
    expect(record).not.toHaveProperty('tokenHmac')
  })

  it('omits empty fields (XML sends blank elements)', () => {
    const record = auditRecord(parsed('load', 'xml', {}), 'other', 1, HASH)
    expect(record.fields).not.toHaveProperty('MTID')
    expect(record.fields).not.toHaveProperty('MCC_Code')
  })

  it.each([
    {
      name: 'a Thredd trace id (Visa)',
      value: 'VIS1-20221219-002353117950020',
      logged: 'VIS1-20221219-002353117950020',
    },
    {
      name: 'a Thredd trace id (Mastercard, with a space)',
      value: 'BNET-20220622-MC 003852',
      logged: 'BNET-20220622-MC 003852',
    },
    { name: 'a value of 64 characters', value: `A${'a'.repeat(63)}`, logged: `A${'a'.repeat(63)}` },
    { name: 'a value of 65 characters', value: `A${'a'.repeat(64)}`, logged: MASKED },
    { name: 'a huge value', value: 'a'.repeat(100_000), logged: MASKED },
    { name: 'free text', value: 'Dear host, <script>', logged: MASKED },
  ])('logs $name as $logged', ({ value, logged }) => {
    const message: EhiMessage = { format: 'xml', root: 'GetTransaction', fields: { Traceid_Message: value } }
    expect(auditRecord(message, 'other', 1, HASH).fields.Traceid_Message).toBe(logged)
  })
})

describe('auditRecord: a value out of its documented format is masked', () => {
  const PAN = '5372999988887777'
  it.each([
    { field: 'MTID', value: PAN },
    { field: 'MTID', value: '01 00' },
    { field: 'Txn_Type', value: 'AA' },
    { field: 'TXn_ID', value: '12ab' },
    { field: 'SendingAttemptCount', value: '-1' },
    { field: 'Authorised_by_GPS', value: 'yes' },
    { field: 'ProductID', value: 'constructor' },
    { field: 'MCC_Code', value: PAN },
    { field: 'Txn_CCy', value: 'GBP' },
    { field: 'Proc_Code', value: '33' },
    { field: 'InstCode', value: 'A B' },
    { field: 'Resp_Code_DE39', value: `05 ${PAN}` },
    { field: 'CutoffDate', value: 'yesterday' },
    { field: 'Auths_NotAcknowledged', value: '1e3' },
  ] as const)('$field = "$value" is logged masked', ({ field, value }) => {
    const message: EhiMessage = { format: 'xml', root: 'GetTransaction', fields: { [field]: value } }
    const record = auditRecord(message, 'other', 1, HASH)
    expect(record.fields[field]).toBe(MASKED)
    expect(JSON.stringify(record)).not.toContain(PAN)
  })

  it("has a documented shape for every logged field, and the fixtures' values fit it", () => {
    expect(Object.keys(FIELD_SHAPES).sort()).toEqual([...AUDIT_FIELDS].sort())
    for (const scenario of SCENARIOS)
      for (const format of ['xml', 'json'] as const) {
        const record = auditRecord(parsed(scenario, format, {}), 'other', 1, HASH)
        expect(Object.values(record.fields), `${scenario} ${format}`).not.toContain(MASKED)
      }
  })

  it('logs a value padded with ASCII whitespace trimmed, not masked', () => {
    const message: EhiMessage = { format: 'xml', root: 'GetTransaction', fields: { SubBIN: ' 99999901 ' } }
    expect(auditRecord(message, 'other', 1, HASH).fields.SubBIN).toBe('99999901')
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
