/** Renders check results: a table with the evidence under it, or JSON. Pure. */
import type { CheckResult } from './checks.ts'
import { allRequiredPass } from '../evaluate-checks.ts'

export interface CheckReport {
  url: string
  checkedAt: string
  ok: boolean
  counts: Record<'pass' | 'warn' | 'fail' | 'skip', number>
  /** Ids of the required checks that did not pass. */
  failed: string[]
  checks: CheckResult[]
  notes: string[]
}

export function buildReport(
  url: string,
  checks: CheckResult[],
  now: Date,
  notes: string[] = [],
): CheckReport {
  const counts = { pass: 0, warn: 0, fail: 0, skip: 0 }
  for (const c of checks) counts[c.status]++
  return {
    url,
    checkedAt: now.toISOString(),
    ok: allRequiredPass(checks),
    counts,
    failed: checks.filter((c) => c.required && (c.status === 'fail' || c.status === 'skip')).map((c) => c.id),
    checks,
    notes,
  }
}

const MARK = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' } as const

export function renderText(report: CheckReport): string {
  const idWidth = Math.max(...report.checks.map((c) => c.id.length), 5)
  const lines = [`ehi-gateway check ${report.url}`, '']
  lines.push(`  ${'RESULT'.padEnd(6)}  ${'CHECK'.padEnd(idWidth)}  SUMMARY`)
  for (const c of report.checks) {
    const optional = c.required ? '' : ' (optional)'
    lines.push(`  ${MARK[c.status].padEnd(6)}  ${c.id.padEnd(idWidth)}  ${c.summary}${optional}`)
  }
  lines.push('', 'Evidence:')
  for (const c of report.checks) {
    lines.push(`  ${c.id} (${c.title}): ${MARK[c.status]}`)
    for (const e of c.evidence) lines.push(`      ${e}`)
  }
  for (const note of report.notes) lines.push(`Note: ${note}`)
  const { pass, warn, fail, skip } = report.counts
  lines.push(
    '',
    `${pass} passed, ${warn} warnings, ${fail} failed, ${skip} skipped.`,
    report.ok
      ? 'Every required check passed.'
      : `Not ready for Thredd: ${report.failed.join(', ')} did not pass.`,
    '',
  )
  return lines.join('\n')
}

export function renderJson(report: CheckReport): string {
  return `${JSON.stringify(report, null, 2)}\n`
}
