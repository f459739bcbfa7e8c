/** Latency percentiles for the bench. Pure. */
import type { LatencySummary } from './types.ts'

/**
 * Nearest-rank percentiles (no interpolation: every figure is a latency that happened).
 * Sorts `values` in place (the generator hands over its own buffer).
 */
export function summariseLatencies(values: Float64Array): LatencySummary {
  const sorted = values.sort()
  const n = sorted.length
  const at = (q: number): number =>
    n === 0 ? 0 : sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!
  return {
    count: n,
    p50: round3(at(0.5)),
    p90: round3(at(0.9)),
    p99: round3(at(0.99)),
    p999: round3(at(0.999)),
    max: round3(n === 0 ? 0 : sorted[n - 1]!),
  }
}

/** Nearest-rank latencies at `quantiles` of values already sorted ascending (0 when empty). */
export function quantilesOfSorted(sorted: Float64Array, quantiles: readonly number[]): number[] {
  const n = sorted.length
  return quantiles.map((q) =>
    n === 0 ? 0 : round3(sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!),
  )
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** A growable Float64Array, so the generator records latencies without boxing numbers. */
export class Samples {
  private data: Float64Array
  private size = 0
  constructor(capacity = 4096) {
    this.data = new Float64Array(capacity)
  }
  push(value: number): void {
    if (this.size === this.data.length) {
      const next = new Float64Array(this.data.length * 2)
      next.set(this.data)
      this.data = next
    }
    this.data[this.size++] = value
  }
  get length(): number {
    return this.size
  }
  values(): Float64Array {
    return this.data.subarray(0, this.size)
  }
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000
}
