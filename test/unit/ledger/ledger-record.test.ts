/**
 * The ledger record keeps only values of their documented shape: a value that is not is stored as
 * NULL with its column named in `masked`, never raw, so a card number in the wrong field never
 * reaches the store through it.
 */
import { describe, expect, it } from 'vitest'
import {
  answerSummaryText,
  dedupKeyFromFields,
  dedupKeyString,
  toLedgerRecord,
  traceIdOf,
  type LedgerEvent,
} from '../../../src/ledger/rules/ledger-record.ts'
import { storableAnswer } from '../../../src/ledger/rules/stored-answer.ts'

const ID = '3f2b8c1e-7a45-4d2e-9b1c-0a1b2c3d4e5f'
const OPTIONS = { instance: 'gw-1:123', storeAnswers: false }

function event(overrides: Partial<LedgerEvent> = {}): LedgerEvent {
  return {
    requestId: ID,
    arrivedAt: 1_790_000_000_000,
    format: 'xml',
    root: 'GetTransaction',
    messageClass: 'decision',
    mode: 1,
    fields: {
      TXn_ID: '9000000001',
      MTID: '0100',
      Txn_Type: 'A',
      ProductID: '9001',
      SendingAttemptCount: '0',
      Authorised_by_GPS: 'N',
      Txn_Stat_Code: 'A',
    },
    tokenHash: 'AbCdEfGhIjKlMnOpQrStUv',
    outcome: 'host_answer',
    answer: { status: 200, synthesized: false, Acknowledgement: '1', Responsestatus: '00', conforming: true },
    timings: { totalMs: 4.567, exchangeMs: 9.1, hostMs: 2.25 },
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    client: { serial: '1A2B3C', spkiSha256: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=' },
    ...overrides,
  }
}

describe('toLedgerRecord', () => {
  it('keeps every field of its documented shape', () => {
    const r = toLedgerRecord(event(), OPTIONS)
    expect(r).toMatchObject({
      request_id: ID,
      arrived_at: 1_790_000_000_000,
      instance: 'gw-1:123',
      root: 'GetTransaction',
      format: 'xml',
      class: 'decision',
      mode: 1,
      txn_id: '9000000001',
      mtid: '0100',
      txn_type: 'A',
      product_id: '9001',
      sending_attempt: 0,
      authorised_by_gps: 'N',
      txn_stat_code: 'A',
      token_hash: 'AbCdEfGhIjKlMnOpQrStUv',
      outcome: 'host_answer',
      status: 200,
      synthesized: 0,
      acknowledgement: '1',
      response_status: '00',
      conforming: 1,
      total_ms: 4.57,
      exchange_ms: 9.1,
      host_ms: 2.25,
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      client_serial: '1A2B3C',
      client_spki: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=',
      resend: 0,
      resend_of: null,
      masked: null,
      cutoff: null,
    })
  })

  it.each<[string, Record<string, string>, string]>([
    ['a card number as ProductID', { ProductID: '4111111111111111' }, 'product_id'],
    ['a card number as Txn_Stat_Code', { Txn_Stat_Code: '4111111111111111' }, 'txn_stat_code'],
    ['a card number as MTID', { MTID: '4111111111111111' }, 'mtid'],
    ['a card number as SendingAttemptCount', { SendingAttemptCount: '4111111111111111' }, 'sending_attempt'],
    ['text as Txn_Type', { Txn_Type: 'AA' }, 'txn_type'],
    ['a lower-case Authorised_by_GPS', { Authorised_by_GPS: 'y' }, 'authorised_by_gps'],
    ['a TXn_ID past 64 bits', { TXn_ID: '99999999999999999999' }, 'txn_id'],
    ['a TXn_ID that could be a card number (16 digits, Luhn)', { TXn_ID: '4000056655665556' }, 'txn_id'],
    ['letters in TXn_ID', { TXn_ID: '90000x0001' }, 'txn_id'],
    ['a truncated audit value', { TXn_ID: `${'9'.repeat(64)}...` }, 'txn_id'],
  ])('masks %s', (_name, fields, column) => {
    const r = toLedgerRecord(event({ fields: { ...event().fields, ...fields } }), OPTIONS)
    expect(r[column as keyof typeof r]).toBeNull()
    expect(r.masked?.split(',')).toContain(column)
    const value = Object.values(fields)[0]!
    if (value.length >= 4) expect(JSON.stringify(r)).not.toContain(value)
  })

  it.each<[string, Partial<LedgerEvent>, string]>([
    ['a token that is not a hash', { tokenHash: '4111111111111111' }, 'token_hash'],
    ['a trace id of zeros', { traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01` }, 'trace_id'],
    ['a serial in lower case', { client: { serial: 'abc' } }, 'client_serial'],
    ['a response status of three characters', { answer: { Responsestatus: '000' } }, 'response_status'],
    ['an acknowledgement of 2', { answer: { Acknowledgement: '2' } }, 'acknowledgement'],
    ['a negative timing', { timings: { hostMs: -1 } }, 'host_ms'],
    ['a status out of range', { answer: { status: 1000 } }, 'status'],
    ['a mode of 5', { mode: 5 }, 'mode'],
    ['a resend link that is not a request id', { resendOf: '4111111111111111' }, 'resend_of'],
  ])('masks %s', (_name, overrides, column) => {
    const r = toLedgerRecord(event(overrides), OPTIONS)
    expect(r[column as keyof typeof r]).toBeNull()
    expect(r.masked?.split(',')).toContain(column)
  })

  it('replaces a request id that is not a UUID, and says so', () => {
    const r = toLedgerRecord(event({ requestId: '4111111111111111' }), OPTIONS)
    expect(r.request_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(r.masked).toBe('request_id')
  })

  it('keeps a long TXn_ID that fails the Luhn check (not a card number)', () => {
    expect(toLedgerRecord(event({ fields: { TXn_ID: '4000056655665557' } }), OPTIONS).txn_id).toBe(
      '4000056655665557',
    )
  })

  it('stores a TXn_ID without leading zeros (one BIGINT, one key)', () => {
    expect(toLedgerRecord(event({ fields: { TXn_ID: '0009000000001' } }), OPTIONS).txn_id).toBe('9000000001')
  })

  it('treats empty fields as absent, not masked (JSON leaves blank fields out, XML sends them empty)', () => {
    const r = toLedgerRecord(event({ fields: { TXn_ID: '1', MTID: '', Txn_Stat_Code: '' } }), OPTIONS)
    expect(r.mtid).toBeNull()
    expect(r.masked).toBeNull()
  })

  it.each([
    ['SendingAttemptCount >= 1', { fields: { TXn_ID: '1', SendingAttemptCount: '2' } }, 1],
    ['a resend link', { resendOf: ID }, 1],
    ['the lookup said resend', { resend: true }, 1],
    ['a first attempt', { fields: { TXn_ID: '1', SendingAttemptCount: '0' } }, 0],
  ])('marks a resend: %s', (_name, overrides, resend) => {
    expect(toLedgerRecord(event(overrides as Partial<LedgerEvent>), OPTIONS).resend).toBe(resend)
  })

  it('reads a XML Cut_Off: CutoffID, range and the eight counters', () => {
    const r = toLedgerRecord(
      event({
        root: 'Cut_Off',
        messageClass: 'cutoff',
        fields: {
          CutoffID: '7000000001',
          ProductID: '9001',
          CutoffDate: '2026-11-27',
          FirstTxn_ID: '4000000001',
          LastTxn_ID: '4000009999',
          Auths_Acknowledged: '9876',
          Auths_NotAcknowledged: '0',
          Financials_Acknowledged: '4321',
          Financials_NotAcknowledged: '2',
          LoadsUnloads_Acknowledged: '12',
          LoadsUnloads_NotAcknowledged: '0',
          BalanceAdjustExpiry_Acknowledged: '3',
          BalanceAdjustExpiry_NotAcknowledged: 'x',
        },
        answer: { status: 200, Cut_OffResult: '1' },
      }),
      OPTIONS,
    )
    expect(r.cutoff_id).toBe('7000000001')
    expect(r.cutoff).toEqual({
      cutoff_id: '7000000001',
      product_id: '9001',
      cutoff_date: '2026-11-27',
      first_txn_id: '4000000001',
      last_txn_id: '4000009999',
      counters: {
        auths_ack: 9876,
        auths_not_ack: 0,
        financials_ack: 4321,
        financials_not_ack: 2,
        loads_unloads_ack: 12,
        loads_unloads_not_ack: 0,
        balance_adjust_expiry_ack: 3,
        balance_adjust_expiry_not_ack: null,
      },
    })
    expect(r.masked).toBe('balance_adjust_expiry_not_ack')
    expect(r.cut_off_result).toBe('1')
  })

  it('reads a JSON Cut_Off by its JSON names', () => {
    const r = toLedgerRecord(
      event({
        format: 'json',
        root: 'Cut_Off',
        messageClass: 'cutoff',
        fields: {
          CutOffId: '7000000002',
          ProductId: '9001',
          FirstTransactionId: '10',
          LastTransactionId: '20',
          AuthsAcknowledged: '1',
          AuthsNotAcknowledged: '2',
          FinancialsAcknowledged: '3',
          FinancialsNotAcknowledged: '4',
          LoadsUnloadsAcknowledged: '5',
          LoadsUnloadsNotAcknowledged: '6',
          BalanceAdjustExpiryAcknowledged: '7',
          BalanceAdjustExpiryNotAcknowledged: '8',
        },
      }),
      OPTIONS,
    )
    expect(r.cutoff?.cutoff_id).toBe('7000000002')
    expect(r.cutoff?.product_id).toBe('9001')
    expect([r.cutoff?.first_txn_id, r.cutoff?.last_txn_id]).toEqual(['10', '20'])
    expect(Object.values(r.cutoff!.counters)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
  })

  it('keeps a host answer only when asked to and when it may be stored', () => {
    const hostAnswer = {
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body: '<r><Acknowledgement>1</Acknowledgement></r>',
    }
    const advice = event({ messageClass: 'advice', hostAnswer })
    expect(toLedgerRecord(advice, OPTIONS).stored_answer).toBeNull()
    const kept = toLedgerRecord(advice, { ...OPTIONS, storeAnswers: true, storable: storableAnswer })
    expect(Buffer.from(kept.stored_answer!.body).toString()).toBe(hostAnswer.body)
    // A decision's answer is never kept.
    const decision = toLedgerRecord(event({ hostAnswer }), {
      ...OPTIONS,
      storeAnswers: true,
      storable: storableAnswer,
    })
    expect(decision.stored_answer).toBeNull()
  })
})

describe('the duplicate key', () => {
  it('is TXn_ID, MTID, Authorised_by_GPS and Txn_Stat_Code: a follow-up advice is another message', () => {
    const request = dedupKeyFromFields({
      TXn_ID: '9',
      MTID: '0100',
      Authorised_by_GPS: 'N',
      Txn_Stat_Code: 'A',
    })
    const followUp = dedupKeyFromFields({
      TXn_ID: '9',
      MTID: '0100',
      Authorised_by_GPS: 'Y',
      Txn_Stat_Code: 'I',
    })
    expect(dedupKeyString(request!)).not.toBe(dedupKeyString(followUp!))
    expect(dedupKeyString(request!)).toBe(
      dedupKeyString(
        dedupKeyFromFields({ TXn_ID: '09', MTID: '0100 ', Authorised_by_GPS: 'N', Txn_Stat_Code: 'A' })!,
      ),
    )
  })

  it('does not exist without a valid TXn_ID', () => {
    expect(dedupKeyFromFields({ MTID: '0100' })).toBeUndefined()
    expect(dedupKeyFromFields({ TXn_ID: 'abc' })).toBeUndefined()
  })
})

describe('helpers', () => {
  it('takes the trace id from a traceparent or a bare id', () => {
    expect(traceIdOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBe(
      '0af7651916cd43dd8448eb211c80319c',
    )
    expect(traceIdOf('0af7651916cd43dd8448eb211c80319c')).toBe('0af7651916cd43dd8448eb211c80319c')
  })

  it('summarises an answer in one line', () => {
    expect(
      answerSummaryText({
        outcome: 'host_answer',
        status: 200,
        synthesized: false,
        acknowledgement: '1',
        responseStatus: '00',
        cutOffResult: null,
      }),
    ).toBe('host_answer status=200 Acknowledgement=1 Responsestatus=00')
  })
})
