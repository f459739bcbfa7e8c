/**
 * The candidate-trust counters, read back from the data-plane metrics in Prometheus text format.
 * The counters live where connections are evaluated (each worker in cluster mode); readiness
 * runs in the control plane and `ehi-gateway check --admin` outside the gateway, and both see the
 * data plane only through its /metrics text (summed over the workers), so that is what they read.
 * Pure.
 */
import type { DifferenceKind } from '../../plane/identity/candidate-trust.ts'
import { METRIC_PREFIX } from '../../observability/metrics.ts'

export interface CandidateCounts {
  /** Connections evaluated against the candidate. */
  connections: number
  /** Differences by kind and reason, most frequent first. */
  differences: { kind: DifferenceKind; reason: string; count: number }[]
  /** Candidate evaluations that failed. */
  errors: number
}

const CONNECTIONS = `${METRIC_PREFIX}candidate_trust_connections_total`
const DIFFERENCES = `${METRIC_PREFIX}candidate_trust_differences_total`
const ERRORS = `${METRIC_PREFIX}candidate_trust_errors_total`

/** Reads the candidate counters out of a metrics text; every count is 0 when they are absent. */
export function readCandidateCounts(metricsText: string): CandidateCounts {
  const counts: CandidateCounts = { connections: 0, differences: [], errors: 0 }
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${METRIC_PREFIX}candidate_trust_`)) continue
    const sample = /^([a-z_]+)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (!sample) continue
    const [, name, labelText = '', valueText] = sample
    const value = Number(valueText)
    if (!Number.isFinite(value)) continue
    if (name === CONNECTIONS) counts.connections += value
    else if (name === ERRORS) counts.errors += value
    else if (name === DIFFERENCES) {
      const labels = Object.fromEntries(
        [...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
      )
      const kind = labels.kind
      if ((kind !== 'would_refuse' && kind !== 'would_allow') || !labels.reason || value === 0) continue
      counts.differences.push({ kind, reason: labels.reason, count: value })
    }
  }
  counts.differences.sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind))
  return counts
}

/** Total differences of one kind. */
export function differencesOf(counts: CandidateCounts, kind: DifferenceKind): number {
  return counts.differences.filter((d) => d.kind === kind).reduce((sum, d) => sum + d.count, 0)
}

/**
 * One line: "40 connections compared: 25 would_refuse (untrusted_issuer 25), 15 would_allow
 * (untrusted_issuer 15)", plus the failed evaluations when there are any.
 */
export function describeCandidateCounts(counts: CandidateCounts): string {
  const kinds = (['would_refuse', 'would_allow'] as const).map((kind) => {
    const byReason = counts.differences.filter((d) => d.kind === kind)
    const total = differencesOf(counts, kind)
    return total === 0
      ? `0 ${kind}`
      : `${total} ${kind} (${byReason.map((d) => `${d.reason} ${d.count}`).join(', ')})`
  })
  const errors = counts.errors > 0 ? `, ${counts.errors} failed evaluations` : ''
  return `${counts.connections} connections compared: ${kinds.join(', ')}${errors}`
}
