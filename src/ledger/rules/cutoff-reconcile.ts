/**
 * Cut_Off reconciliation: Thredd's acknowledged / not-acknowledged counts for its TXn_ID range,
 * by category, against what the ledger saw cross the edge. Pure: the rows come from the store.
 *
 * Thredd counts four categories (authorisations, financials, loads/unloads, balance adjustments
 * and expiry) but does not publish which Txn_Types fall in each; the mapping below is the
 * gateway's reading of the names and is marked [inferred] in docs/ledger.md.
 */
import type { CutoffCounter, CutoffFields } from './ledger-record.ts'

export type CutoffCategory = 'auths' | 'financials' | 'loadsUnloads' | 'balanceAdjustExpiry'
export const CUTOFF_CATEGORIES: readonly CutoffCategory[] = [
  'auths',
  'financials',
  'loadsUnloads',
  'balanceAdjustExpiry',
]

const COUNTERS_OF: Readonly<Record<CutoffCategory, readonly [CutoffCounter, CutoffCounter]>> = {
  auths: ['auths_ack', 'auths_not_ack'],
  financials: ['financials_ack', 'financials_not_ack'],
  loadsUnloads: ['loads_unloads_ack', 'loads_unloads_not_ack'],
  balanceAdjustExpiry: ['balance_adjust_expiry_ack', 'balance_adjust_expiry_not_ack'],
}

/** Authorisation-side MTIDs: requests, repeats, advices and reversals (Txn_Type A, J, D, M, Q, V). */
const AUTH_MTIDS = new Set(['0100', '0101', '0120', '0200', '0220', '0400', '0420'])
/** Clearing records: presentments, chargebacks, their reversals. */
const FINANCIAL_TYPES = new Set(['P', 'N', 'E', 'C', 'H', 'K'])
/** MTIDs of clearing records: Mastercard 1240, Visa Base II transaction codes. */
const FINANCIAL_MTIDS = new Set(['1240', '05', '06', '07', '25', '26', '27'])

/**
 * The Cut_Off category of a message, or undefined when none fits (payments G, fees F, anything
 * new): those are reported as unmapped rather than guessed into a category.
 */
export function categoryOf(mtid: string | null, txnType: string | null): CutoffCategory | undefined {
  if (txnType === 'L' || txnType === 'U') return 'loadsUnloads'
  if (txnType === 'B' || txnType === 'Y') return 'balanceAdjustExpiry'
  if ((txnType !== null && FINANCIAL_TYPES.has(txnType)) || (mtid !== null && FINANCIAL_MTIDS.has(mtid)))
    return 'financials'
  if (mtid !== null && AUTH_MTIDS.has(mtid)) return 'auths'
  return undefined
}

/** One attempt of a message in the Cut_Off's range, as the store returns it. */
export interface RangeRow {
  txn_id: string
  mtid: string | null
  txn_type: string | null
  authorised_by_gps: string | null
  txn_stat_code: string | null
  class: string
  outcome: string
  acknowledgement: string | null
  synthesized: number | null
}

export interface Counts {
  acknowledged: number
  notAcknowledged: number
}

export interface CategoryComparison {
  category: CutoffCategory
  /** Undefined when the Cut_Off lacks (or had a malformed) counter for this category. */
  thredd: Counts | undefined
  ledger: Counts
  match: boolean | undefined
}

export type Verdict = 'match' | 'mismatch' | 'incomplete'

export interface Reconciliation {
  cutoffId: string
  productId: string | null
  firstTxnId: string | null
  lastTxnId: string | null
  verdict: Verdict
  categories: CategoryComparison[]
  /** Messages in the range with no Thredd category (payments, fees, unknown Txn_Types). */
  unmapped: number
  /**
   * Per mismatching category, the TXn_IDs that may explain it: those the ledger holds as not
   * acknowledged, acknowledged only by the gateway, or sent more than once.
   */
  differing: { category: CutoffCategory; txnIds: string[] }[]
  /** Why the verdict is incomplete, when it is. */
  problems: string[]
}

/** Most TXn_IDs listed per category (the CLI and the stored result). */
export const MAX_LISTED = 1000

/**
 * Each distinct message (TXn_ID, MTID, Authorised_by_GPS, Txn_Stat_Code) counts once, as
 * acknowledged when Thredd got Acknowledgement 1 for any of its attempts: what Thredd counts is
 * what it received (the host's answer, a replay of it, or a decline the gateway made for a
 * mode-1 decision; the gateway never acknowledges an acknowledgement-type message itself).
 */
export function reconcileCutoff(cutoff: CutoffFields, rows: readonly RangeRow[]): Reconciliation {
  const problems: string[] = []
  const hasRange = cutoff.first_txn_id !== null && cutoff.last_txn_id !== null
  if (!hasRange) problems.push('the Cut_Off has no valid FirstTxn_ID / LastTxn_ID range')

  interface Message {
    txnId: string
    category: CutoffCategory | undefined
    acknowledged: boolean
    byGatewayOnly: boolean
    attempts: number
  }
  const messages = new Map<string, Message>()
  for (const row of rows) {
    if (row.class === 'cutoff') continue
    const key = `${row.txn_id}|${row.mtid ?? ''}|${row.authorised_by_gps ?? ''}|${row.txn_stat_code ?? ''}`
    let message = messages.get(key)
    if (!message) {
      message = {
        txnId: row.txn_id,
        category: categoryOf(row.mtid, row.txn_type),
        acknowledged: false,
        byGatewayOnly: false,
        attempts: 0,
      }
      messages.set(key, message)
    }
    message.attempts++
    if (row.acknowledgement === '1') {
      if (row.synthesized === 1) {
        if (!message.acknowledged) message.byGatewayOnly = true
      } else message.byGatewayOnly = false
      message.acknowledged = true
    }
  }

  const ledgerCounts = new Map<CutoffCategory, Counts>(
    CUTOFF_CATEGORIES.map((c) => [c, { acknowledged: 0, notAcknowledged: 0 }]),
  )
  let unmapped = 0
  for (const m of messages.values()) {
    if (!m.category) {
      unmapped++
      continue
    }
    const counts = ledgerCounts.get(m.category)!
    if (m.acknowledged) counts.acknowledged++
    else counts.notAcknowledged++
  }

  const categories: CategoryComparison[] = CUTOFF_CATEGORIES.map((category) => {
    const [ack, notAck] = COUNTERS_OF[category]
    const a = cutoff.counters[ack]
    const n = cutoff.counters[notAck]
    const ledger = ledgerCounts.get(category)!
    if (a === null || n === null) {
      problems.push(`the Cut_Off has no valid ${category} counters`)
      return { category, thredd: undefined, ledger, match: undefined }
    }
    const thredd = { acknowledged: a, notAcknowledged: n }
    return {
      category,
      thredd,
      ledger,
      match: thredd.acknowledged === ledger.acknowledged && thredd.notAcknowledged === ledger.notAcknowledged,
    }
  })

  const differing: Reconciliation['differing'] = []
  for (const c of categories) {
    if (c.match !== false || !hasRange) continue
    const txnIds = [...messages.values()]
      .filter((m) => m.category === c.category && (!m.acknowledged || m.byGatewayOnly || m.attempts > 1))
      .map((m) => m.txnId)
    differing.push({
      category: c.category,
      txnIds: [...new Set(txnIds)].sort(compareIds).slice(0, MAX_LISTED),
    })
  }

  // Without a range there is nothing to compare with: not a mismatch, an incomplete Cut_Off.
  const verdict: Verdict =
    hasRange && categories.some((c) => c.match === false)
      ? 'mismatch'
      : problems.length > 0
        ? 'incomplete'
        : 'match'
  return {
    cutoffId: cutoff.cutoff_id,
    productId: cutoff.product_id,
    firstTxnId: cutoff.first_txn_id,
    lastTxnId: cutoff.last_txn_id,
    verdict,
    categories,
    unmapped,
    differing,
    problems,
  }
}

/** Decimal ids as numbers, without the precision loss of Number(). */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
}
