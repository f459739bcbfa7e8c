/**
 * docs/operations.md and the alerts' runbooks: every alert of deploy/monitoring/prometheus-alerts.yaml
 * has a runbook_url pointing at a section of docs/operations.md, every runbook section belongs to
 * an alert (same order, same severity), and every link of the page leads somewhere that exists.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const root = join(import.meta.dirname, '..', '..')
const OPERATIONS = 'docs/operations.md'
const read = (file: string) => readFileSync(join(root, file), 'utf8')

interface Alert {
  alert: string
  labels: { severity: string }
  annotations: Record<string, string>
}
const alerts = (
  parse(read('deploy/monitoring/prometheus-alerts.yaml')) as { groups: { rules: Alert[] }[] }
).groups.flatMap((g) => g.rules.filter((r) => r.alert))

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

interface Heading {
  level: number
  text: string
  slug: string
  body: string
}

/** The headings of a Markdown file (outside code blocks), each with the text up to the next. */
function headings(markdown: string): Heading[] {
  const list: Heading[] = []
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    const m = fenced ? null : /^(#{1,6}) (.+)$/.exec(line)
    if (m) list.push({ level: m[1]!.length, text: m[2]!, slug: slug(m[2]!), body: '' })
    else if (list.length) list[list.length - 1]!.body += `${line}\n`
  }
  return list
}

const doc = read(OPERATIONS)
const sections = headings(doc)
const runbooksAt = sections.findIndex((h) => h.level === 2 && h.text === 'Runbooks')
const runbooks = sections.slice(runbooksAt + 1).filter((h) => h.level === 3)

describe('runbooks (docs/operations.md)', () => {
  it('has a Runbooks section as its last part', () => {
    expect(runbooksAt).toBeGreaterThan(0)
    expect(sections.slice(runbooksAt + 1).every((h) => h.level >= 3)).toBe(true)
  })

  it('gives every alert a runbook_url to its own section of docs/operations.md', () => {
    const problems: string[] = []
    for (const a of alerts) {
      const url = a.annotations.runbook_url
      const m = /^docs\/operations\.md#([a-z0-9-]+)$/.exec(url ?? '')
      if (!m) problems.push(`${a.alert}: runbook_url ${url ?? '(none)'}`)
      else if (!runbooks.some((r) => r.slug === m[1] && r.text === a.alert))
        problems.push(`${a.alert}: no runbook section #${m[1]}`)
    }
    expect(problems).toEqual([])
  })

  it('has a section for each alert and none for anything else, in the order of the rules', () => {
    expect(runbooks.map((r) => r.text)).toEqual(alerts.map((a) => a.alert))
  })

  it('says in each section whether it pages, what to check, how to fix it and when to escalate', () => {
    const problems: string[] = []
    for (const a of alerts) {
      const body = runbooks.find((r) => r.text === a.alert)?.body ?? ''
      const severity = a.labels.severity === 'page' ? '**Page.**' : '**Ticket.**'
      if (!body.trimStart().startsWith(severity)) problems.push(`${a.alert}: does not open with ${severity}`)
      if (!/\*\*[^*]*\b[Ff]ix\b[^*]*\*\*/.test(body)) problems.push(`${a.alert}: no fix`)
      if (!body.includes('**Escalate**')) problems.push(`${a.alert}: no Escalate`)
    }
    expect(problems).toEqual([])
  })
})

describe('docs/operations.md', () => {
  it('covers the admin endpoints, /readyz, metrics, alerts, reload and drain', () => {
    const h2 = sections.filter((h) => h.level === 2).map((h) => h.text)
    expect(h2).toEqual(
      expect.arrayContaining(['The admin server', 'Reading /readyz', 'Metrics', 'Alerts', 'Reload', 'Drain']),
    )
    for (const endpoint of ['GET /livez', 'GET /readyz', 'GET /metrics']) expect(doc).toContain(endpoint)
    expect(doc).toContain('](metrics.md)')
  })

  it("states the admin port the schema defaults to, and the readiness setting's default", () => {
    const schema = JSON.parse(read('config/ehi-gateway.schema.json')) as {
      properties: { admin: { properties: Record<string, { default: unknown }> } }
    }
    const admin = schema.properties.admin.properties
    expect(doc).toContain(`\`127.0.0.1:${String(admin.port!.default)}\``)
    expect(admin.readinessChecksHost!.default).toBe(false)
    expect(doc).toContain('**Off (the default).**')
  })

  it('links only to files and anchors that exist', () => {
    const problems: string[] = []
    const anchorsOf = new Map<string, Set<string>>()
    const anchors = (file: string) => {
      if (!anchorsOf.has(file)) anchorsOf.set(file, new Set(headings(read(file)).map((h) => h.slug)))
      return anchorsOf.get(file)!
    }
    for (const [, target] of doc.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) {
        problems.push(`${target}: leaves the repository`)
        continue
      }
      const [path, anchor] = target!.split('#') as [string, string | undefined]
      const file = path ? join(dirname(OPERATIONS), path) : OPERATIONS
      if (!existsSync(join(root, file))) problems.push(`${target}: no such file`)
      else if (anchor && file.endsWith('.md') && !anchors(file).has(anchor))
        problems.push(`${target}: no such heading`)
    }
    expect(problems).toEqual([])
  })

  it('is reached from the README and from deploy/monitoring', () => {
    expect(read('README.md')).toContain('](docs/operations.md')
    expect(read('deploy/monitoring/README.md')).toContain('](../../docs/operations.md')
  })
})
