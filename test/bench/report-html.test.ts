/**
 * The bench's HTML report (bench/lib/report-html.ts): self-contained, well-formed SVG, one CDF
 * series and one bar per target measured.
 */
import { describe, expect, it } from 'vitest'
import { barSvg, cdfSvg, renderHtml, tailY } from '../../bench/lib/report-html.ts'
import {
  CDF_QUANTILES,
  type BenchResult,
  type GeneratorResult,
  type RunRecord,
  type ScenarioSpec,
  type TargetId,
} from '../../bench/lib/types.ts'

/** Every opened element is closed, in order (self-closing ones aside): well-formed markup. */
function wellFormed(svg: string): boolean {
  const stack: string[] = []
  for (const [, close, name, selfClose] of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (selfClose) continue
    if (!close) stack.push(name!)
    else if (stack.pop() !== name) return false
  }
  return stack.length === 0
}

const open100: ScenarioSpec = {
  id: 'connect-open-100-auth',
  mode: 'connect',
  loop: 'open',
  plan: 'auth',
  concurrency: 16,
  rate: 100,
  warmupMs: 1000,
  durationMs: 8000,
}
const closed: ScenarioSpec = { ...open100, id: 'connect-closed-auth', loop: 'closed', concurrency: 8 }

function result(scale: number, cpuMs: number): GeneratorResult {
  const cdf = CDF_QUANTILES.map((q) => (1 + 40 * q ** 8) * scale)
  return {
    ok: 800,
    errors: 0,
    errorKinds: {},
    throughput: 100,
    completedInWindow: 800,
    windowMs: 8000,
    latencyMs: { count: 800, p50: cdf[5]!, p90: cdf[9]!, p99: cdf[11]!, p999: cdf[13]!, max: cdf.at(-1)! },
    latencyCdfMs: cdf,
    connections: 800,
    resumed: 0,
    targetCpuMs: cpuMs,
    hostCpuMs: 100,
    generatorCpuMs: 1000,
  }
}

function bench(targets: TargetId[]): BenchResult {
  const runs: RunRecord[] = targets.flatMap((target, i) =>
    [1, 2, 3].flatMap((round) => [
      {
        keyType: 'rsa' as const,
        target,
        round,
        scenario: open100,
        result: result(1 + i + round / 10, 3000 + round * 100),
      },
      {
        keyType: 'rsa' as const,
        target,
        round,
        scenario: closed,
        result: result(2, 2500 + i * 300 + round * 50),
      },
    ]),
  )
  return {
    mode: 'full',
    rounds: 3,
    machine: {
      cpus: 2,
      model: 'AMD EPYC',
      memoryGiB: 23.5,
      kernel: '6.1',
      node: 'v24',
      openssl: '3.5',
      nginx: 'nginx/1.22.1',
      date: '2026-12-03T04:00:00.000Z',
      loadBefore: [0, 0, 0],
      loadAfter: [0, 0, 0],
    },
    durationS: 1,
    notes: [],
    cryptoFloor: [],
    runs,
    crossChecks: [],
  }
}

describe('HTML report', () => {
  it('stretches the tail: 90 %, 99 %, 99.9 % equally spaced, the maximum on top', () => {
    expect(tailY(0)).toBe(0)
    expect(tailY(0.99) - tailY(0.9)).toBeCloseTo(tailY(0.999) - tailY(0.99), 6)
    expect(tailY(1)).toBeGreaterThan(tailY(0.9999))
  })
  it('draws one CDF series per target, well-formed, in a self-contained page', () => {
    const targets: TargetId[] = ['floor', 'node', 'gw1', 'nginx']
    const html = renderHtml(bench(targets))
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html).not.toMatch(/<script|<link|src=|href=/)
    const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0])
    expect(svgs).toHaveLength(2)
    for (const svg of svgs) {
      expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"')
      expect(wellFormed(svg)).toBe(true)
    }
    const cdf = svgs[0]!
    const series = [...cdf.matchAll(/<path class="series" data-target="([\w-]+)" d="([^"]+)"/g)]
    expect(series.map((m) => m[1])).toEqual(targets)
    // Every point of every series is a number pair inside the plot.
    for (const [, , d] of series)
      for (const point of d!.slice(1).split(' L')) expect(point).toMatch(/^\d+(\.\d+)?,\d+(\.\d+)?$/)
    const bars = [...svgs[1]!.matchAll(/<rect class="bar" data-target="([\w-]+)"/g)].map((m) => m[1])
    // One bar per target per scenario.
    expect(bars).toEqual([...targets, ...targets])
    expect(svgs[1]!.match(/class="whisker"/g)).toHaveLength(8)
  })
  it('renders the charts from figures alone', () => {
    const svg = cdfSvg([{ target: 'gw1', latencyMs: [1, 2, 40], quantiles: [0, 0.5, 1] }], 'a <title> & more')
    expect(svg).toContain('a &lt;title&gt; &amp; more')
    expect(wellFormed(svg)).toBe(true)
    const bar = barSvg([{ label: 'x', bars: [{ target: 'nginx', value: 10, min: 8, max: 12 }] }], 'cpu')
    expect(wellFormed(bar)).toBe(true)
    expect(bar.match(/<rect class="bar"/g)).toHaveLength(1)
  })
})
