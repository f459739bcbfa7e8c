/**
 * Cut_Off reconciliation: Thredd's acknowledged / not-acknowledged counts per category against the
 * ledger's distinct messages in the range, and the TXn_IDs that may explain a difference.
 */
import { describe, expect, it } from 'vitest'
import {
  categoryOf,
  compareIds,
  reconcileCutoff,
  type RangeRow,
} from '../../../src/ledger/rules/cutoff-reconcile.ts'
import type { CutoffFields } from '../../../src/ledger/rules/ledger-record.ts'

describe('categoryOf', () => {
  it.each<[string, string | null, string | null, string | undefined]>([
    ['authorisation request', '0100', 'A', 'auths'],
    ['Visa repeat authorisation', '0101', 'A', 'auths'],
    ['authorisation advice', '0120', 'J', 'auths'],
    ['fuel dispenser reversal', '0120', 'D', 'auths'],
    ['SMS financial request', '0200', 'M', 'auths'],
    ['SMS financial advice', '0220', 'Q', 'auths'],
    ['reversal request', '0400', 'D', 'auths'],
    ['reversal advice', '0420', 'D', 'auths'],
    ['online financial reversal', '0420', 'V', 'auths'],
    ['first presentment', '1240', 'P', 'financials'],
    ['Visa first presentment', '05', 'P', 'financials'],
    ['second presentment', '1240', 'N', 'financials'],
    ['financial reversal', '25', 'E', 'financials'],
    ['chargeback', '1240', 'C', 'financials'],
    ['chargeback reversal', '1240', 'K', 'financials'],
    ['dummy authorisation advice (offline)', '1240', 'A', 'financials'],
    ['load', null, 'L', 'loadsUnloads'],
    ['unload', null, 'U', 'loadsUnloads'],
    ['balance adjustment', null, 'B', 'balanceAdjustExpiry'],
    ['card expiry', null, 'Y', 'balanceAdjustExpiry'],
    ['payment', null, 'G', undefined],
    ['fee', null, 'F', undefined],
    ['unknown', '0999', 'Z', undefined],
  ])('%s (%s/%s) -> %s', (_name, mtid, type, category) => {
    expect(categoryOf(mtid, type)).toBe(category)
  })
})

const CUTOFF: CutoffFields = {
  cutoff_id: '7000000001',
  product_id: '9001',
  cutoff_date: '2026-11-27',
  first_txn_id: '100',
  last_txn_id: '200',
  counters: {
    auths_ack: 2,
    auths_not_ack: 1,
    financials_ack: 1,
    financials_not_ack: 0,
    loads_unloads_ack: 0,
    loads_unloads_not_ack: 0,
    balance_adjust_expiry_ack: 0,
    balance_adjust_expiry_not_ack: 0,
  },
}

function row(
  txnId: string,
  mtid: string | null,
  type: string,
  ack: string | null,
  extra: Partial<RangeRow> = {},
): RangeRow {
  return {
    txn_id: txnId,
    mtid,
    txn_type: type,
    authorised_by_gps: 'N',
    txn_stat_code: 'A',
    class: 'advice',
    outcome: ack === null ? 'host_failure' : 'host_answer',
    acknowledgement: ack,
    synthesized: 0,
    ...extra,
  }
}

/** Two auths acknowledged (one after a resend), one not, one presentment. */
const ROWS: RangeRow[] = [
  row('101', '0100', 'A', '1', { class: 'decision' }),
  row('102', '0120', 'J', '0', { outcome: 'synthesized', synthesized: 1 }),
  row('102', '0120', 'J', '1'),
  row('103', '0400', 'D', null, { class: 'reversal' }),
  row('104', '1240', 'P', '1', { class: 'financial' }),
  row('105', null, 'F', '1', { class: 'other' }),
]

describe('reconcileCutoff', () => {
  it('matches when every category agrees, counting each message once', () => {
    const r = reconcileCutoff(CUTOFF, ROWS)
    expect(r.verdict).toBe('match')
    expect(r.categories.find((c) => c.category === 'auths')).toMatchObject({
      thredd: { acknowledged: 2, notAcknowledged: 1 },
      ledger: { acknowledged: 2, notAcknowledged: 1 },
      match: true,
    })
    expect(r.unmapped).toBe(1)
    expect(r.differing).toEqual([])
  })

  it('finds a planted mismatch and names the TXn_IDs that may explain it', () => {
    const r = reconcileCutoff(
      { ...CUTOFF, counters: { ...CUTOFF.counters, auths_ack: 3, auths_not_ack: 0 } },
      ROWS,
    )
    expect(r.verdict).toBe('mismatch')
    expect(r.categories.filter((c) => c.match === false).map((c) => c.category)).toEqual(['auths'])
    // 102 needed a resend, 103 was never acknowledged; 101 is clean.
    expect(r.differing).toEqual([{ category: 'auths', txnIds: ['102', '103'] }])
  })

  it('counts a follow-up advice (same TXn_ID and MTID, Authorised_by_GPS Y) as a message of its own', () => {
    const rows = [
      row('101', '0100', 'A', null, { class: 'decision' }),
      row('101', '0100', 'A', '1', { authorised_by_gps: 'Y', txn_stat_code: 'I' }),
    ]
    const r = reconcileCutoff(CUTOFF, rows)
    expect(r.categories[0]!.ledger).toEqual({ acknowledged: 1, notAcknowledged: 1 })
  })

  it('ignores the Cut_Off message itself', () => {
    const r = reconcileCutoff(CUTOFF, [...ROWS, row('150', null, 'A', null, { class: 'cutoff' })])
    expect(r.verdict).toBe('match')
  })

  it('is incomplete when a counter is missing, and says which', () => {
    const r = reconcileCutoff({ ...CUTOFF, counters: { ...CUTOFF.counters, financials_ack: null } }, ROWS)
    expect(r.verdict).toBe('incomplete')
    expect(r.problems).toEqual(['the Cut_Off has no valid financials counters'])
  })

  it('is incomplete without a range', () => {
    expect(reconcileCutoff({ ...CUTOFF, first_txn_id: null }, []).verdict).toBe('incomplete')
  })

  it('orders TXn_IDs numerically without losing precision', () => {
    expect(['9223372036854775807', '10', '9', '9223372036854775806'].sort(compareIds)).toEqual([
      '9',
      '10',
      '9223372036854775806',
      '9223372036854775807',
    ])
  })
})
