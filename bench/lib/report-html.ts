/**
 * The bench's HTML report, written beside each markdown report: one self-contained page (inline
 * SVG and CSS, no script, no external asset) with, per key type, the latency CDF of every target
 * on Thredd's pattern at 100/s and a bar chart of the CPU per message of every target per
 * scenario (medians, whiskers from the fastest to the slowest round). Pure.
 */
import { CDF_QUANTILES, KEY_TYPE_LABEL, TARGET_LABEL, type BenchResult, type TargetId } from './types.ts'
import { aggregate, medianRun, scenarioLabel } from './report.ts'

export const CDF_SCENARIO = 'connect-open-100-auth'

const COLOR: Record<TargetId, string> = {
  floor: '#7f7f7f',
  node: '#2ca02c',
  gw1: '#1f77b4',
  'gw1-sqlite': '#17becf',
  'gw1-pg': '#9467bd',
  nginx: '#d62728',
  gwN: '#ff7f0e',
  nginxN: '#8c564b',
}

export interface CdfSeries {
  target: TargetId
  /** Latency (ms) at each quantile of `quantiles`. */
  latencyMs: number[]
  quantiles: readonly number[]
}

export interface BarGroup {
  label: string
  bars: { target: TargetId; value: number; min: number; max: number }[]
}

const esc = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const n2 = (v: number): string => (Math.round(v * 100) / 100).toString()

/** The y of a quantile on a scale that stretches the tail: -log10(1 - q), 1 plotted past 99.99 %. */
export function tailY(q: number): number {
  return q >= 1 ? 4.5 : q <= 0 ? 0 : -Math.log10(1 - q)
}

const TAIL_TICKS: [number, string][] = [
  [0, '0'],
  [0.5, '50'],
  [0.9, '90'],
  [0.99, '99'],
  [0.999, '99.9'],
  [0.9999, '99.99'],
  [1, 'max'],
]

/** The latency CDF: x = ms on a log scale, y = percentile on the tail-stretching scale. */
export function cdfSvg(series: readonly CdfSeries[], title: string): string {
  const w = 640
  const h = 360
  const left = 56
  const right = 170
  const top = 28
  const bottom = 40
  const all = series.flatMap((s) => s.latencyMs).filter((v) => v > 0)
  const lo = Math.log10(Math.max(0.05, all.length > 0 ? Math.min(...all) : 1))
  const hi = Math.log10(Math.max(10 ** (lo + 1), all.length > 0 ? Math.max(...all) : 10))
  const xFloor = Math.floor(lo)
  const xCeil = Math.ceil(hi)
  const px = (ms: number) =>
    left + ((Math.log10(Math.max(ms, 10 ** xFloor)) - xFloor) / (xCeil - xFloor)) * (w - left - right)
  const yMax = tailY(1)
  const py = (q: number) => h - bottom - (tailY(q) / yMax) * (h - top - bottom)
  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(title)}">`,
  )
  parts.push(`<title>${esc(title)}</title>`)
  parts.push(`<text x="${w / 2 - right / 2}" y="16" text-anchor="middle" class="title">${esc(title)}</text>`)
  for (let d = xFloor; d <= xCeil; d++) {
    const x = n2(px(10 ** d))
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${h - bottom}" class="grid"/>`)
    parts.push(`<text x="${x}" y="${h - bottom + 16}" text-anchor="middle">${esc(fmtMs(10 ** d))}</text>`)
  }
  for (const [q, label] of TAIL_TICKS) {
    const y = n2(py(q))
    parts.push(`<line x1="${left}" y1="${y}" x2="${w - right}" y2="${y}" class="grid"/>`)
    parts.push(`<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label}</text>`)
  }
  parts.push(
    `<text x="${(left + w - right) / 2}" y="${h - 6}" text-anchor="middle">latency, ms (log scale)</text>`,
  )
  parts.push(
    `<text x="14" y="${(top + h - bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(top + h - bottom) / 2})">percentile</text>`,
  )
  series.forEach((s, i) => {
    const points = s.quantiles.map((q, k) => `${n2(px(s.latencyMs[k] ?? 0))},${n2(py(q))}`)
    parts.push(
      `<path class="series" data-target="${s.target}" d="M${points.join(' L')}" fill="none" stroke="${COLOR[s.target]}" stroke-width="2"/>`,
    )
    const ly = top + 10 + i * 18
    parts.push(
      `<line x1="${w - right + 12}" y1="${ly}" x2="${w - right + 32}" y2="${ly}" stroke="${COLOR[s.target]}" stroke-width="3"/>`,
    )
    parts.push(
      `<text x="${w - right + 36}" y="${ly}" dominant-baseline="middle">${esc(TARGET_LABEL[s.target])}</text>`,
    )
  })
  parts.push('</svg>')
  return parts.join('\n')
}

function fmtMs(v: number): string {
  return v >= 1 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(v)
}

/** CPU µs/msg per target per scenario: medians, whiskers from the fastest to the slowest round. */
export function barSvg(groups: readonly BarGroup[], title: string): string {
  const barW = 14
  const gap = 26
  const left = 64
  const top = 28
  const plotH = 240
  const labelH = 120
  const width = Math.max(360, left + groups.reduce((sum, g) => sum + g.bars.length * barW + gap, 0) + 20)
  const h = top + plotH + labelH
  const max = Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => Math.max(b.value, b.max))))
  const step = 10 ** Math.floor(Math.log10(max))
  const yTop = Math.ceil(max / step) * step
  const py = (v: number) => top + plotH - (v / yTop) * plotH
  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" role="img" aria-label="${esc(title)}">`,
  )
  parts.push(`<title>${esc(title)}</title>`)
  parts.push(`<text x="${width / 2}" y="16" text-anchor="middle" class="title">${esc(title)}</text>`)
  for (let v = 0; v <= yTop + 1e-9; v += yTop / 5) {
    const y = n2(py(v))
    parts.push(`<line x1="${left}" y1="${y}" x2="${width - 10}" y2="${y}" class="grid"/>`)
    parts.push(
      `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${Math.round(v).toLocaleString('en-US')}</text>`,
    )
  }
  parts.push(
    `<text x="14" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + plotH / 2})">CPU µs/msg</text>`,
  )
  let x = left + gap / 2
  for (const g of groups) {
    const start = x
    for (const b of g.bars) {
      parts.push(
        `<rect class="bar" data-target="${b.target}" x="${n2(x)}" y="${n2(py(b.value))}" width="${barW - 2}" height="${n2(plotH + top - py(b.value))}" fill="${COLOR[b.target]}"><title>${esc(`${TARGET_LABEL[b.target]}: ${Math.round(b.value)} µs (${Math.round(b.min)}–${Math.round(b.max)})`)}</title></rect>`,
      )
      const cx = n2(x + (barW - 2) / 2)
      parts.push(`<line class="whisker" x1="${cx}" y1="${n2(py(b.min))}" x2="${cx}" y2="${n2(py(b.max))}"/>`)
      x += barW
    }
    const mid = n2((start + x) / 2)
    parts.push(
      `<text x="${mid}" y="${top + plotH + 10}" text-anchor="end" transform="rotate(-40 ${mid} ${top + plotH + 10})">${esc(g.label)}</text>`,
    )
    x += gap
  }
  parts.push('</svg>')
  return parts.join('\n')
}

function legend(targets: readonly TargetId[]): string {
  return `<p class="legend">${targets
    .map((t) => `<span><i style="background:${COLOR[t]}"></i>${esc(TARGET_LABEL[t])}</span>`)
    .join(' ')}</p>`
}

export function renderHtml(result: BenchResult): string {
  const aggs = aggregate(result.runs)
  const m = result.machine
  const title = `ehi-gateway bench (${result.mode}) — ${m.date.slice(0, 16).replace('T', ' ')} UTC`
  const body: string[] = []
  body.push(`<h1>${esc(title)}</h1>`)
  body.push(
    `<p>${esc(`${m.cpus} CPUs (${m.model}), Node ${m.node} (OpenSSL ${m.openssl}), ${m.nginx}. ${result.rounds ?? 1} round(s); bars are medians over the rounds, whiskers the fastest and slowest round. The tables are in the markdown report beside this file.`)}</p>`,
  )
  for (const keyType of ['rsa', 'ec'] as const) {
    const rows = aggs.filter((a) => a.keyType === keyType && a.figures)
    if (rows.length === 0) continue
    body.push(`<h2>${esc(KEY_TYPE_LABEL[keyType])}</h2>`)
    // Thredd's pattern at 100/s; the smoke run has it with the mixed messages only.
    const cdfScenario =
      rows.find((a) => a.scenario.id === CDF_SCENARIO)?.scenario ??
      rows.find((a) => a.scenario.id.startsWith('connect-open-100-'))?.scenario
    const series: CdfSeries[] = []
    for (const agg of rows.filter((a) => a.scenario.id === cdfScenario?.id)) {
      const run = medianRun(agg)
      if (run?.result?.latencyCdfMs)
        series.push({ target: agg.target, latencyMs: run.result.latencyCdfMs, quantiles: CDF_QUANTILES })
    }
    if (series.length > 0)
      body.push(
        `<figure>${cdfSvg(series, `Latency CDF, ${cdfScenario!.id} (${KEY_TYPE_LABEL[keyType]}, the median round)`)}</figure>`,
      )
    const groups: BarGroup[] = []
    for (const agg of rows) {
      if (agg.figures?.cpuPerMsgUs == null) continue
      let group = groups.find((g) => g.label === scenarioLabel(agg))
      if (!group) groups.push((group = { label: scenarioLabel(agg), bars: [] }))
      const [min, max] = agg.cpuSpread ?? [agg.figures.cpuPerMsgUs, agg.figures.cpuPerMsgUs]
      group.bars.push({ target: agg.target, value: agg.figures.cpuPerMsgUs, min, max })
    }
    if (groups.length > 0) {
      body.push(`<figure>${barSvg(groups, `CPU per message (${KEY_TYPE_LABEL[keyType]})`)}</figure>`)
      body.push(legend([...new Set(groups.flatMap((g) => g.bars.map((b) => b.target)))]))
    }
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
svg { font: 11px system-ui, sans-serif; background: #fff; }
svg .title { font-size: 13px; font-weight: 600; }
svg .grid { stroke: #ddd; stroke-width: 1; }
svg .whisker { stroke: #222; stroke-width: 1.5; }
figure { margin: 1em 0; overflow-x: auto; }
.legend span { margin-right: 1.2em; white-space: nowrap; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
</style>
</head>
<body>
${body.join('\n')}
</body>
</html>
`
}
