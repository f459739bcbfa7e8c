/** Messages between the cluster primary and its workers. */
import { createHash } from 'node:crypto'
import type { Runtime } from '../gateway/compile-runtime.ts'

export type ToWorker =
  | { type: 'ehi:reload'; id: number; expect: RuntimeFingerprint }
  | { type: 'ehi:drain'; timeoutMs: number }
  | { type: 'ehi:ticket-keys'; keys: string }

export type ToPrimary =
  { type: 'ehi:ready' } | { type: 'ehi:reload-result'; id: number; ok: boolean; problems: string[] }

/**
 * What the primary validated. A worker applies a reload only if it loaded exactly this, so a
 * file that changed between the primary's check and the worker's load cannot slip past the
 * primary's checks (the change triggers another reload anyway).
 */
export interface RuntimeFingerprint {
  trustHash: string
  configHash: string
}

export function fingerprint(runtime: Runtime): RuntimeFingerprint {
  return {
    trustHash: runtime.material.trustHash,
    configHash: createHash('sha256').update(JSON.stringify(runtime.config)).digest('hex'),
  }
}

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    (value as { type: string }).type.startsWith('ehi:')
  )
}
