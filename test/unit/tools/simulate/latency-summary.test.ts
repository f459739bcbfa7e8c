import { describe, expect, it } from 'vitest'
import { summarise } from '../../../../src/tools/simulate/rules/latency-summary.ts'

describe('summarise', () => {
  it('gives nearest-rank percentiles, each a latency that happened', () => {
    const latencies = Array.from({ length: 1000 }, (_, i) => i + 1)
    expect(summarise(latencies, 200)).toEqual({
      count: 1000,
      p50: 500,
      p90: 900,
      p99: 990,
      p999: 999,
      max: 1000,
      overBudget: 800,
    })
  })

  it('counts answers over the budget, not at it', () => {
    expect(summarise([199, 200, 201], 200).overBudget).toBe(1)
  })

  it('does not depend on the order of the samples', () => {
    expect(summarise([5, 1, 3], 10)).toEqual(summarise([1, 3, 5], 10))
  })

  it('reports zeros for an empty run', () => {
    expect(summarise([], 200)).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, overBudget: 0 })
  })

  it('puts a single outlier in p99.9 and max only', () => {
    const latencies = [...Array.from({ length: 999 }, () => 5), 500]
    expect(summarise(latencies, 200)).toMatchObject({ p99: 5, p999: 5, max: 500, overBudget: 1 })
  })
})
