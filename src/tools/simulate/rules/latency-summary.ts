/** Latency percentiles against Thredd's budget. Pure. */

export interface LatencySummary {
  count: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
  overBudget: number
}

/** Nearest-rank percentiles (no interpolation: every figure is a latency that happened). */
export function summarise(latenciesMs: readonly number[], budgetMs: number): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b)
  const at = (q: number) =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
  return {
    count: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]!,
    overBudget: sorted.filter((ms) => ms > budgetMs).length,
  }
}
