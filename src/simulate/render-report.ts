/** The simulator's report as a human table. Pure. */
import type { SimulationReport } from './run-simulation.ts'

export function renderReport(report: SimulationReport): string {
  const l = report.latency
  const ms = (v: number) => `${v.toFixed(1)} ms`
  const share = (v: number) => `${((v / report.budgetMs) * 100).toFixed(0)}%`
  const lines = [
    `ehi-gateway simulate: ${report.scenario} (${report.format}) at ${report.rate}/s for ${report.durationS}s -> ${report.target}`,
    `${report.newConnectionPerMessage ? 'a new TLS connection per message (as Thredd)' : 'kept-alive connections'}; latency from each message's scheduled send time`,
    '',
    `latency (${l.count} answers)   p50 ${ms(l.p50)}   p90 ${ms(l.p90)}   p99 ${ms(l.p99)}   p99.9 ${ms(l.p999)}   max ${ms(l.max)}`,
    `budget ${report.budgetMs} ms        p99 is ${share(l.p99)} of it; ${l.overBudget} answer(s) over budget`,
    '',
    'class        sent   2xx  non-2xx  ack=1  ack=0  non-conforming  errors',
  ]
  for (const [cls, c] of Object.entries(report.byClass)) {
    lines.push(
      `${cls.padEnd(11)}${String(c.sent).padStart(6)}${String(c.ok2xx).padStart(6)}${String(c.non2xx).padStart(9)}${String(c.ack1).padStart(7)}${String(c.ack0).padStart(7)}${String(c.nonConforming).padStart(16)}${String(c.errors).padStart(8)}`,
    )
  }
  const errors = Object.entries(report.errors)
  if (errors.length) lines.push('', `errors: ${errors.map(([code, n]) => `${code} x${n}`).join(', ')}`)
  if (report.skipped)
    lines.push(
      '',
      `${report.skipped} message(s) not sent: more than 2000 were still open (the target is far behind)`,
    )
  lines.push(
    '',
    `statuses: ${
      Object.entries(report.statuses)
        .map(([s, n]) => `${s} x${n}`)
        .join(', ') || 'none'
    }`,
  )
  return `${lines.join('\n')}\n`
}
