/**
 * The ledger's state as /readyz and `ledger` tools report it, and the readiness line it adds.
 * Pure.
 */
import type { Check } from '../../control/rules/readiness.ts'

/**
 * off: ledger.url unset. starting: opening the store (migrations). ok: writes succeed.
 * degraded: writes fail and are retried, records wait in the queue. failed: the store cannot be
 * used at all (corrupt file, newer schema, cannot open): records wait, then are dropped.
 * closed: after shutdown.
 */
export type LedgerState = 'off' | 'starting' | 'ok' | 'degraded' | 'failed' | 'closed'

export type LedgerErrorKind =
  'unavailable' | 'timeout' | 'full' | 'readonly' | 'corrupt' | 'schema' | 'config' | 'other'

export interface LedgerStatus {
  state: LedgerState
  /** sqlite or postgres, with the location (password never shown). */
  store: string | undefined
  /** Records waiting to be written, and the most that may wait. */
  queued: number
  queueSize: number
  /** True while new records are being dropped because the queue is full. */
  dropping: boolean
  written: number
  deferred: number
  dropped: number
  /** The error behind degraded or failed. */
  error: { kind: LedgerErrorKind; message: string } | undefined
  /** Unix ms of the last state change. */
  since: number
  schemaVersion: number | undefined
}

/**
 * The `ledger` line of /readyz. With ledger.failReadiness off it is always ok (the state is in
 * the detail); on, it fails while the ledger cannot take records (starting, degraded, failed or
 * dropping). Several statuses (one per cluster worker) combine: the worst decides.
 */
export function ledgerReadinessCheck(
  statuses: LedgerStatus | readonly LedgerStatus[],
  failReadiness: boolean,
): Check {
  const list = Array.isArray(statuses) ? (statuses as readonly LedgerStatus[]) : [statuses as LedgerStatus]
  if (list.length === 0 || list.every((s) => s.state === 'off'))
    return { name: 'ledger', ok: true, detail: 'off (ledger.url is not set)' }
  const healthy = (s: LedgerStatus) => s.state === 'ok' && !s.dropping
  const worst = list.find((s) => !healthy(s)) ?? list[0]!
  const queued = list.reduce((n, s) => n + s.queued, 0)
  const dropped = list.reduce((n, s) => n + s.dropped, 0)
  const parts = [
    `${worst.state}${worst.dropping ? ', dropping records (queue full)' : ''}`,
    `${worst.store ?? ''}`,
  ]
  if (worst.error) parts.push(`${worst.error.kind}: ${worst.error.message}`)
  parts.push(`${queued} queued`, `${dropped} dropped`)
  const ok = !failReadiness || list.every(healthy)
  return { name: 'ledger', ok, detail: parts.filter((p) => p !== '').join('; ') }
}
