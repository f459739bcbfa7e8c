/**
 * The small pure parts of the ledger: which host answers may be kept for replay, ledger.url and
 * its redaction, the readiness line.
 */
import { describe, expect, it } from 'vitest'
import { toLedgerRecord, type LedgerEvent } from '../../../src/ledger/rules/ledger-record.ts'
import { ledgerReadinessCheck, type LedgerStatus } from '../../../src/ledger/rules/ledger-status.ts'
import { parseLedgerUrl, redactSecrets } from '../../../src/ledger/rules/ledger-url.ts'
import { containsCardLikeNumber, luhn, storableAnswer } from '../../../src/ledger/rules/stored-answer.ts'
import { getTransactionAnswer } from '../../../src/plane/ehi/ehi-answers.ts'

const ACK_XML = getTransactionAnswer({ Acknowledgement: '1', CurBalance: 150.5, AvlBalance: 120 }, 'xml')

function recordOf(overrides: Partial<LedgerEvent>) {
  return toLedgerRecord(
    {
      requestId: '3f2b8c1e-7a45-4d2e-9b1c-0a1b2c3d4e5f',
      arrivedAt: Date.now(),
      messageClass: 'advice',
      fields: { TXn_ID: '1' },
      outcome: 'host_answer',
      answer: { status: 200, synthesized: false, Acknowledgement: '1', conforming: true },
      ...overrides,
    },
    { instance: 'gw', storeAnswers: false },
  )
}

const answer = (
  body: string,
  headers: Record<string, string> = { 'content-type': 'text/xml; charset=utf-8' },
) => ({
  status: 200,
  headers,
  body,
})

describe('storableAnswer', () => {
  it("keeps the host's acknowledgement of an advice, reversal, financial or other message", () => {
    for (const messageClass of ['advice', 'reversal', 'financial', 'other']) {
      const stored = storableAnswer(recordOf({ messageClass }), answer(ACK_XML))
      expect(stored, messageClass).not.toBeNull()
      expect(stored!.content_type).toBe('text/xml; charset=utf-8')
    }
  })

  it.each<[string, Partial<LedgerEvent>, string?]>([
    ['a decision', { messageClass: 'decision' }],
    ['a Cut_Off answer', { messageClass: 'cutoff' }],
    [
      'an answer the gateway made',
      { outcome: 'synthesized', answer: { status: 200, synthesized: true, Acknowledgement: '1' } },
    ],
    ['Acknowledgement 0', { answer: { status: 200, synthesized: false, Acknowledgement: '0' } }],
    [
      'a non-conforming answer',
      { answer: { status: 200, synthesized: false, Acknowledgement: '1', conforming: false } },
    ],
    ['a status other than 200', { answer: { status: 202, synthesized: false, Acknowledgement: '1' } }],
    ['a body with a card number', {}, ACK_XML.replace('150.5', '4111111111111111')],
    ['a body with a spaced card number', {}, ACK_XML.replace('150.5', '4111 1111 1111 1111')],
    ['an empty body', {}, ''],
    ['a body larger than any acknowledgement', {}, `${ACK_XML}${' '.repeat(9000)}`],
  ])('never keeps %s', (_name, overrides, body = ACK_XML) => {
    expect(storableAnswer(recordOf(overrides), answer(body))).toBeNull()
  })

  it('refuses odd headers rather than storing them', () => {
    expect(storableAnswer(recordOf({}), answer(ACK_XML, { 'content-type': 'text/html' }))).toBeNull()
    expect(
      storableAnswer(recordOf({}), answer(ACK_XML, { 'content-type': 'text/xml', soapaction: 'x y' })),
    ).toBeNull()
  })

  it('recognises card-like numbers by length and Luhn, not every long number', () => {
    expect(luhn('4111111111111111')).toBe(true)
    expect(luhn('4111111111111112')).toBe(false)
    expect(containsCardLikeNumber('<CurBalance>4111111111111112</CurBalance>')).toBe(false)
    expect(containsCardLikeNumber('<x>5372-1111-1111-1118</x>')).toBe(luhn('5372111111111118'))
    expect(containsCardLikeNumber('1'.repeat(25))).toBe(true)
    expect(containsCardLikeNumber('<CurBalance>150.00</CurBalance><AvlBalance>120</AvlBalance>')).toBe(false)
  })
})

describe('parseLedgerUrl', () => {
  it.each([
    ['sqlite:/var/lib/ehi-gateway/ledger.db', { engine: 'sqlite', path: '/var/lib/ehi-gateway/ledger.db' }],
    ['sqlite:///var/lib/ehi-gateway/ledger.db', { engine: 'sqlite', path: '/var/lib/ehi-gateway/ledger.db' }],
    ['postgres://gw@db.internal:5432/ehi', { engine: 'postgres', hasPassword: false }],
    ['postgresql://gw:s3cret@db.internal/ehi', { engine: 'postgres', hasPassword: true }],
  ])('reads %s', (url, target) => {
    const r = parseLedgerUrl(url)
    expect(r.ok && r.target).toMatchObject(target)
  })

  it.each([
    ['sqlite:', /must name a database file/],
    ['sqlite::memory:', /must name a database file/],
    ['sqlite:relative.db', /absolute path/],
    ['sqlite:/var/lib/', /names a folder/],
    ['mysql://x', /must start with sqlite: or postgres/],
    ['postgres://', /not a valid|names no host/],
  ])('refuses %s', (url, message) => {
    const r = parseLedgerUrl(url)
    expect(r.ok).toBe(false)
    expect(!r.ok && r.message).toMatch(message)
  })

  it('never shows a password: not in the location, not in a driver message', () => {
    const url = 'postgres://gw:s3cr%40t@db.internal:5432/ehi?sslpassword=k3y'
    const r = parseLedgerUrl(url)
    expect(r.ok && r.target.redacted).toBe('postgres://gw:***@db.internal:5432/ehi?sslpassword=***')
    expect(redactSecrets('password authentication failed: s3cr@t', url)).toBe(
      'password authentication failed: ***',
    )
    expect(redactSecrets('bad password hunter2', undefined, 'hunter2')).toBe('bad password ***')
  })
})

function status(overrides: Partial<LedgerStatus>): LedgerStatus {
  return {
    state: 'ok',
    store: 'sqlite:/data/ledger.db',
    queued: 0,
    queueSize: 100,
    dropping: false,
    written: 10,
    deferred: 0,
    dropped: 0,
    error: undefined,
    since: 0,
    schemaVersion: 1,
    ...overrides,
  }
}

describe('ledgerReadinessCheck', () => {
  it('is ok and says so when the ledger is off', () => {
    expect(ledgerReadinessCheck(status({ state: 'off' }), true)).toEqual({
      name: 'ledger',
      ok: true,
      detail: 'off (ledger.url is not set)',
    })
  })

  it.each<[string, Partial<LedgerStatus>, boolean, boolean]>([
    ['ok', {}, false, true],
    ['ok, failReadiness', {}, true, true],
    [
      'degraded',
      { state: 'degraded', error: { kind: 'unavailable', message: 'connection refused' } },
      false,
      true,
    ],
    ['degraded, failReadiness', { state: 'degraded' }, true, false],
    ['failed, failReadiness', { state: 'failed', error: { kind: 'schema', message: 'newer' } }, true, false],
    ['dropping, failReadiness', { dropping: true }, true, false],
    ['starting, failReadiness', { state: 'starting' }, true, false],
  ])('%s -> ok %s', (_name, overrides, failReadiness, ok) => {
    expect(ledgerReadinessCheck(status(overrides), failReadiness).ok).toBe(ok)
  })

  it('names the state, the error and the counts in the detail, worst worker first', () => {
    const check = ledgerReadinessCheck(
      [
        status({ queued: 1, dropped: 0 }),
        status({
          state: 'degraded',
          queued: 5,
          dropped: 2,
          error: { kind: 'full', message: 'database or disk is full' },
        }),
      ],
      false,
    )
    expect(check.detail).toBe(
      'degraded; sqlite:/data/ledger.db; full: database or disk is full; 6 queued; 2 dropped',
    )
  })
})
