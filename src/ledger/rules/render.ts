/**
 * What `ehi-gateway ledger` prints: attempts of a message, one tail line per message, export
 * rows (JSON lines or CSV), statistics and a Cut_Off reconciliation. Pure.
 */
import { CUTOFF_CATEGORIES, type CutoffCategory, type Reconciliation } from './cutoff-reconcile.ts'
import type { CutoffRow, MessageRow, StatRow } from '../store.ts'
import { MESSAGE_COLUMNS } from './schema.ts'

const iso = (ms: number) => new Date(ms).toISOString()
const ms = (value: number | null) => (value === null ? '-' : `${value}ms`)

/** `2h`, `30m`, `45s`, `7d` ago, `now`, or an ISO 8601 time; undefined when neither. */
export function parseTime(text: string, now: number): number | undefined {
  const relative = /^(\d{1,6})([smhd])$/.exec(text.trim())
  if (relative) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd']
    return now - Number(relative[1]) * unit
  }
  if (text.trim() === 'now') return now
  // Only full dates: Date.parse accepts much else ("1", "March") that an operator did not mean.
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined
  const parsed = Date.parse(text)
  return Number.isFinite(parsed) ? parsed : undefined
}

function answerText(row: MessageRow): string {
  const parts: string[] = []
  if (row.status !== null) parts.push(String(row.status))
  if (row.acknowledgement !== null) parts.push(`Ack=${row.acknowledgement}`)
  if (row.response_status !== null) parts.push(`RS=${row.response_status}`)
  if (row.cut_off_result !== null) parts.push(`Cut_OffResult=${row.cut_off_result}`)
  if (row.synthesized === 1) parts.push('(gateway-made)')
  return parts.join(' ')
}

function messageType(row: MessageRow): string {
  if (row.root === 'Cut_Off') return `Cut_Off ${row.cutoff_id ?? '?'}`
  return `${row.mtid ?? '-'}/${row.txn_type ?? '-'}`
}

/** One line per message, for `ledger tail`. */
export function tailLine(row: MessageRow): string {
  const parts = [
    iso(row.arrived_at),
    row.txn_id ?? (row.cutoff_id ? `cutoff:${row.cutoff_id}` : '-'),
    messageType(row),
    row.class,
    `attempt=${row.sending_attempt ?? '-'}`,
    row.outcome,
    answerText(row),
  ]
  if (row.reason) parts.push(`reason=${row.reason}`)
  parts.push(`total=${ms(row.total_ms)}`, `host=${ms(row.host_ms)}`)
  if (row.resend_of) parts.push(`resend-of=${row.resend_of}`)
  else if (row.resend === 1) parts.push('resend')
  parts.push(`req=${row.request_id}`, `gw=${row.instance ?? '-'}`)
  if (row.masked) parts.push(`masked=${row.masked}`)
  return parts.filter((p) => p !== '').join(' ')
}

/** Every attempt of one TXn_ID, for `ledger show`. */
export function renderAttempts(txnId: string, rows: readonly MessageRow[]): string {
  const lines = [`TXn_ID ${txnId}: ${rows.length} message${rows.length === 1 ? '' : 's'} in the ledger`]
  rows.forEach((row, i) => {
    lines.push(
      '',
      `#${i + 1}  ${iso(row.arrived_at)}  ${messageType(row)}  ${row.class}${row.mode !== null ? ` (mode ${row.mode})` : ''}`,
      `    request id      ${row.request_id}${row.resend_of ? `  (resend of ${row.resend_of})` : row.resend === 1 ? '  (resend)' : ''}`,
      `    attempt         SendingAttemptCount=${row.sending_attempt ?? '-'}  Authorised_by_GPS=${row.authorised_by_gps ?? '-'}  Txn_Stat_Code=${row.txn_stat_code ?? '-'}  ProductID=${row.product_id ?? '-'}`,
      `    answer          ${row.outcome} ${answerText(row)}${row.reason ? `  reason=${row.reason}` : ''}${row.conforming === 0 ? '  (not conforming)' : ''}`,
      `    timings         total=${ms(row.total_ms)} exchange=${ms(row.exchange_ms)} host=${ms(row.host_ms)}`,
      `    trace           ${row.trace_id ?? '-'}`,
      `    client          serial=${row.client_serial ?? '-'} spki=${row.client_spki ?? '-'}`,
      `    gateway         ${row.instance ?? '-'}  (${row.format ?? '-'})`,
    )
    if (row.masked) lines.push(`    masked          ${row.masked} (not of the documented shape; not stored)`)
  })
  return `${lines.join('\n')}\n`
}

/** An export row: the stored columns with the time also in ISO 8601. */
export function exportRow(row: MessageRow): Record<string, unknown> {
  const out: Record<string, unknown> = { seq: row.seq, arrived: iso(row.arrived_at) }
  for (const column of MESSAGE_COLUMNS) out[column] = row[column]
  return out
}

export const CSV_COLUMNS = ['seq', 'arrived', ...MESSAGE_COLUMNS]

export function csvLine(values: readonly unknown[]): string {
  return values
    .map((value) => {
      if (value === null || value === undefined) return ''
      let text = String(value)
      // A spreadsheet would run a cell starting with these as a formula.
      if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`
      return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
    })
    .join(',')
}

export function csvRow(row: MessageRow): string {
  const out = exportRow(row)
  return csvLine(CSV_COLUMNS.map((c) => out[c]))
}

/** Counts by class and outcome, for `ledger stats`. */
export function renderStats(rows: readonly StatRow[], fromMs: number, untilMs: number): string {
  interface Line {
    total: number
    ack1: number
    ack0: number
    resends: number
  }
  const byKey = new Map<string, Line>()
  let total = 0
  for (const r of rows) {
    const key = `${r.class}\t${r.outcome}`
    const line = byKey.get(key) ?? { total: 0, ack1: 0, ack0: 0, resends: 0 }
    const count = Number(r.count)
    line.total += count
    if (r.acknowledgement === '1') line.ack1 += count
    if (r.acknowledgement === '0') line.ack0 += count
    if (Number(r.resend) === 1) line.resends += count
    byKey.set(key, line)
    total += count
  }
  const header = ['class', 'outcome', 'messages', 'Ack=1', 'Ack=0', 'resends']
  const table = [...byKey.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, l]) => [...key.split('\t'), l.total, l.ack1, l.ack0, l.resends].map(String))
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)))
  const pad = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [
    `Messages from ${iso(fromMs)} to ${iso(untilMs)}: ${total}`,
    '',
    pad(header),
    ...table.map(pad),
    '',
  ].join('\n')
}

export function statsJson(rows: readonly StatRow[]): unknown[] {
  return rows.map((r) => ({ ...r, count: Number(r.count), resend: Number(r.resend) }))
}

const CATEGORY_NAMES: Record<CutoffCategory, string> = {
  auths: 'authorisations',
  financials: 'financials',
  loadsUnloads: 'loads/unloads',
  balanceAdjustExpiry: 'balance adjust/expiry',
}

/** The comparison and the TXn_IDs that may explain a difference, for `ledger reconcile`. */
export function renderReconciliation(cutoff: CutoffRow, result: Reconciliation, limit: number): string {
  const count = (n: number | undefined) => (n === undefined ? '?' : String(n))
  const lines = [
    `Cut_Off ${cutoff.cutoff_id}  ProductID ${cutoff.product_id ?? '-'}  date ${cutoff.cutoff_date ?? '-'}  received ${iso(cutoff.arrived_at)}`,
    `TXn_ID range ${result.firstTxnId ?? '?'} .. ${result.lastTxnId ?? '?'}`,
    '',
    `${'category'.padEnd(22)} ${'Thredd ack'.padStart(10)} ${'not ack'.padStart(8)}   ${'ledger ack'.padStart(10)} ${'not ack'.padStart(8)}`,
  ]
  for (const category of CUTOFF_CATEGORIES) {
    const c = result.categories.find((x) => x.category === category)!
    const mark = c.match === true ? 'ok' : c.match === false ? 'DIFFERS' : 'no counters'
    lines.push(
      `${CATEGORY_NAMES[category].padEnd(22)} ${count(c.thredd?.acknowledged).padStart(10)} ${count(c.thredd?.notAcknowledged).padStart(8)}   ${String(c.ledger.acknowledged).padStart(10)} ${String(c.ledger.notAcknowledged).padStart(8)}   ${mark}`,
    )
  }
  lines.push('')
  if (result.unmapped > 0)
    lines.push(
      `${result.unmapped} message(s) in the range have no Thredd category (payments, fees, unknown Txn_Types).`,
    )
  for (const problem of result.problems) lines.push(`Incomplete: ${problem}.`)
  for (const d of result.differing) {
    const c = result.categories.find((x) => x.category === d.category)!
    const thredd = (c.thredd?.acknowledged ?? 0) + (c.thredd?.notAcknowledged ?? 0)
    const ledger = c.ledger.acknowledged + c.ledger.notAcknowledged
    lines.push(`${CATEGORY_NAMES[d.category]} differs.`)
    if (thredd > ledger)
      lines.push(
        `  Thredd counts ${thredd - ledger} more message(s) than the ledger holds: messages that never reached this ledger (another gateway not sharing it, records dropped: see ehi_gateway_ledger_records_dropped_total) cannot be listed.`,
      )
    if (d.txnIds.length === 0)
      lines.push('  No TXn_ID in the ledger stands out (all acknowledged by the host at the first attempt).')
    else {
      lines.push(
        `  TXn_IDs not acknowledged, acknowledged only by the gateway, or sent more than once (${d.txnIds.length}):`,
      )
      for (const id of d.txnIds.slice(0, limit)) lines.push(`    ${id}`)
      if (d.txnIds.length > limit) lines.push(`    ... ${d.txnIds.length - limit} more (--limit)`)
    }
  }
  lines.push(
    '',
    `Verdict: ${result.verdict}${cutoff.verdict ? ` (recorded at ${cutoff.reconciled_at ? iso(cutoff.reconciled_at) : '?'}: ${cutoff.verdict})` : ''}`,
    '',
  )
  return lines.join('\n')
}
