/**
 * Messages between the cluster primary and its workers.
 *
 * A worker never reads the configuration from the disk: the primary sends it the snapshot it
 * validated (src/runtime/config-snapshot.ts) when it starts, and each reload in two phases:
 * every worker compiles the new snapshot first (`prepare`), and only when all of them could is
 * it applied (`commit`); otherwise every worker keeps the last good state (`abort`). Each worker
 * reports the fingerprint it serves, and the primary re-sends its own state to any worker that
 * does not serve it (one that started during a reload, say).
 */
import type { LedgerStatus } from '../../ledger/rules/ledger-status.ts'
import type { ConfigSnapshot } from '../../runtime/config-snapshot.ts'

export type ToWorker =
  | { type: 'ehi:start'; snapshot: ConfigSnapshot; fingerprint: string }
  | { type: 'ehi:prepare'; id: number; snapshot: ConfigSnapshot; fingerprint: string }
  | { type: 'ehi:commit'; id: number }
  | { type: 'ehi:abort'; id: number }
  | { type: 'ehi:drain'; timeoutMs: number }
  | {
      type: 'ehi:ticket-keys'
      keys: string
      /** A rotation: the replaced key still reads tickets. */
      keepPrevious: boolean
    }

export type ToPrimary =
  | { type: 'ehi:hello' }
  | { type: 'ehi:ready'; fingerprint: string }
  | { type: 'ehi:prepared'; id: number; ok: boolean; problems: string[] }
  | { type: 'ehi:committed'; id: number; fingerprint: string }
  /** Every few seconds: the worker's message ledger, for /readyz. */
  | { type: 'ehi:ledger-status'; status: LedgerStatus }

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    (value as { type: string }).type.startsWith('ehi:')
  )
}
