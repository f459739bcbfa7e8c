/** The simulator's report as a human table, and what makes a run fail. Pure. */
import type { ClassCounts, SimulationReport } from '../run-simulation.ts'

export function renderReport(report: SimulationReport): string {
  const l = report.latency
  const ms = (v: number) => `${v.toFixed(1)} ms`
  const share = (v: number) => `${((v / report.budgetMs) * 100).toFixed(0)}%`
  const resends =
    report.resendTimes > 0
      ? `resends every ${seconds(report.resendEveryMs)}, ${report.resendTimes} times`
      : 'no resends'
  const lines = [
    `ehi-gateway simulate: ${report.scenario} (${report.format}, mode ${report.mode}) at ${report.rate}/s for ${report.durationS}s -> ${report.target}`,
    `${report.newConnectionPerMessage ? 'a new TLS connection per message (as Thredd)' : 'kept-alive connections'}; latency from each message's scheduled send time; gives up after ${report.timeoutMs} ms; ${resends}`,
    '',
    `latency (${l.count} answers)   p50 ${ms(l.p50)}   p90 ${ms(l.p90)}   p99 ${ms(l.p99)}   p99.9 ${ms(l.p999)}   max ${ms(l.max)}`,
    `budget ${report.budgetMs} ms        p99 is ${share(l.p99)} of it; ${l.overBudget} answer(s) over budget`,
    '',
    'class        sent resent timeout   2xx non-2xx  ack=1  ack=0 non-conf errors unacked',
  ]
  for (const [cls, c] of Object.entries(report.byClass)) {
    const cells = [c.sent, c.resent, c.timeouts, c.ok2xx, c.non2xx, c.ack1, c.ack0, c.nonConforming, c.errors]
    const widths = [5, 7, 8, 6, 8, 7, 7, 9, 7, 8]
    lines.push(
      `${cls.padEnd(11)}${[...cells, c.unacknowledged].map((v, i) => String(v).padStart(widths[i]!)).join('')}`,
    )
  }
  if (report.followUps)
    lines.push(
      '',
      `${report.followUps} follow-up advice(s) sent after decisions the host missed (Authorised_by_GPS=Y, as Thredd in mode ${report.mode})`,
    )
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

/**
 * Why a run fails, one reason per line; empty when it passed. A message never acknowledged, an
 * error or a non-conforming answer always fails it; an exchange over the budget (or timed out)
 * fails it unless over-budget answers are allowed.
 */
export function failures(report: SimulationReport, allowOverBudget: boolean): string[] {
  const sum = (key: keyof ClassCounts) =>
    Object.values(report.byClass).reduce((total, c) => total + c[key], 0)
  const out: string[] = []
  if (sum('unacknowledged')) out.push(`${sum('unacknowledged')} message(s) never acknowledged`)
  if (sum('errors')) out.push(`${sum('errors')} exchange(s) without an HTTP answer`)
  if (sum('nonConforming')) out.push(`${sum('nonConforming')} non-conforming answer(s)`)
  if (!allowOverBudget) {
    if (sum('timeouts')) out.push(`${sum('timeouts')} exchange(s) timed out at ${report.timeoutMs} ms`)
    if (report.latency.overBudget)
      out.push(`${report.latency.overBudget} answer(s) over the ${report.budgetMs} ms budget`)
  }
  return out
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${Math.round(ms)} ms`
}
