/**
 * The importable monitoring in deploy/monitoring/ only uses metrics, labels and label values that
 * exist: every PromQL expression of the alerting rules and of the Grafana dashboard is checked
 * against the metric catalog (src/observability/metrics.ts), the reason codes and the message
 * classes. With promtool installed, the rules are also checked, unit-tested and every dashboard
 * query is parsed.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { metricCatalog } from '../../src/tools/docs/render-docs.ts'
import { MESSAGE_CLASSES } from '../../src/plane/ehi/ehi-message.ts'
import { REASONS } from '../../src/reasons.ts'
import { CRL_FETCH_FAILURES, CRL_FETCH_SUCCESSES } from '../../src/control/rules/crl-schedule.ts'
import { freePort } from '../support/ports.ts'
import { eventually, sleep } from '../support/wait.ts'

const root = join(import.meta.dirname, '..', '..')
const dir = join(root, 'deploy', 'monitoring')
const RULES = join(dir, 'prometheus-alerts.yaml')
const RULE_TESTS = join(dir, 'prometheus-alerts.test.yaml')
const DASHBOARD = join(dir, 'grafana-dashboard.json')
const ALERTMANAGER = join(dir, 'alertmanager.yaml')

// ---------------------------------------------------------------------------------------------
// What exists: the catalog, the prom-client defaults we use, and what Prometheus adds itself.

/** prom-client default metrics the rules and dashboard may use (each must be a real default). */
const PROCESS_DEFAULTS = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_p99_seconds',
]
/** Series Prometheus makes itself for every target. */
const PROMETHEUS_SERIES = ['up']
/** Labels Prometheus attaches to every scraped series. */
const TARGET_LABELS = ['job', 'instance']

/** Values of the bounded labels, from their sources where the code exports them. */
const LABEL_VALUES: Record<string, readonly string[]> = {
  reason: Object.keys(REASONS),
  class: [...MESSAGE_CLASSES, 'unclassified'],
  // The Outcome type of src/plane/http/ehi-route.ts (also listed in the metric's help).
  outcome: ['host_answer', 'synthesized', 'refused', 'rejected', 'host_failure', 'replayed'],
  role: ['server', 'client_ca'],
  result: ['success', 'failure'],
  kind: [...CRL_FETCH_SUCCESSES, ...CRL_FETCH_FAILURES],
  // The message ledger's labels (src/ledger/, listed in each metric's help).
  verdict: ['match', 'mismatch', 'incomplete'],
  found: ['seen', 'new', 'unknown'],
  cause: ['queue_full', 'shutdown'],
  error: ['unavailable', 'timeout', 'full', 'readonly', 'corrupt', 'schema', 'other'],
}

interface Known {
  type: string
  labels: string[]
}

function knownMetrics(): Map<string, Known> {
  const known = new Map<string, Known>()
  for (const m of metricCatalog()) known.set(m.name, { type: m.type, labels: m.labels })
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const defaults = new Map(registry.getMetricsAsArray().map((m) => [m.name, m]))
  for (const name of PROCESS_DEFAULTS) {
    const metric = defaults.get(name) as unknown as
      { labelNames?: string[]; constructor: { name: string } } | undefined
    if (!metric) throw new Error(`${name} is not a prom-client default metric`)
    known.set(name, { type: metric.constructor.name.toLowerCase(), labels: [...(metric.labelNames ?? [])] })
  }
  for (const name of PROMETHEUS_SERIES) known.set(name, { type: 'gauge', labels: [] })
  return known
}

const KNOWN = knownMetrics()

/** The catalog entry a series name belongs to: histograms expose _bucket, _sum and _count. */
function resolve(series: string): { base: string; known: Known; bucket: boolean } | undefined {
  const direct = KNOWN.get(series)
  if (direct) return { base: series, known: direct, bucket: false }
  const match = /^(.+)_(bucket|sum|count)$/.exec(series)
  const base = match?.[1] ? KNOWN.get(match[1]) : undefined
  if (match?.[1] && base?.type === 'histogram')
    return { base: match[1], known: base, bucket: match[2] === 'bucket' }
  return undefined
}

/** Labels a series can be selected or grouped by. */
function labelsOf(series: string): string[] {
  const r = resolve(series)
  if (!r) return []
  return [...r.known.labels, ...TARGET_LABELS, ...(r.bucket ? ['le'] : [])]
}

// ---------------------------------------------------------------------------------------------
// A small PromQL reader: enough to find selectors, their matchers and the grouping clauses.

type Token = { kind: 'ident' | 'number' | 'string' | 'punct'; text: string; value: string }

function tokenize(expr: string): Token[] {
  const tokens: Token[] = []
  const pattern =
    /\s+|#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|`([^`]*)`|([a-zA-Z_:][a-zA-Z0-9_:]*)|(\$[a-zA-Z_][a-zA-Z0-9_]*|\$\{[^}]+\})|(\d[\w.]*)|(=~|!~|!=|==|>=|<=|[(){}[\],=<>+\-*/%^@:])/y
  let pos = 0
  while (pos < expr.length) {
    pattern.lastIndex = pos
    const m = pattern.exec(expr)
    if (!m) throw new Error(`cannot read PromQL at ${JSON.stringify(expr.slice(pos, pos + 20))} in ${expr}`)
    pos = pattern.lastIndex
    const str = m[1] ?? m[2] ?? m[3]
    if (str !== undefined) tokens.push({ kind: 'string', text: m[0], value: str })
    else if (m[4]) tokens.push({ kind: 'ident', text: m[4], value: m[4] })
    else if (m[5])
      tokens.push({ kind: 'number', text: m[5], value: m[5] }) // a Grafana variable
    else if (m[6]) tokens.push({ kind: 'number', text: m[6], value: m[6] })
    else if (m[7]) tokens.push({ kind: 'punct', text: m[7], value: m[7] })
  }
  return tokens
}

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
])
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'atan2',
  'inf',
  'nan',
])

interface Matcher {
  label: string
  op: string
  value: string
}
interface Selector {
  name: string
  matchers: Matcher[]
  at: number
}
interface Grouping {
  clause: string
  labels: string[]
  /** Token range of the expression the clause applies to (the aggregated body, or the whole). */
  from: number
  to: number
}
interface Analysis {
  selectors: Selector[]
  groupings: Grouping[]
}

function closing(tokens: Token[], open: number): number {
  let depth = 0
  for (let i = open; i < tokens.length; i++) {
    const t = tokens[i]?.text
    if (t === '(' || t === '[' || t === '{') depth++
    else if (t === ')' || t === ']' || t === '}') depth--
    if (depth === 0) return i
  }
  throw new Error('unbalanced brackets')
}

function labelList(tokens: Token[], open: number): { labels: string[]; end: number } {
  const end = closing(tokens, open)
  const labels = tokens
    .slice(open + 1, end)
    .filter((t) => t.kind === 'ident' || t.kind === 'string')
    .map((t) => t.value)
  return { labels, end }
}

function analyse(expr: string): Analysis {
  const tokens = tokenize(expr)
  const selectors: Selector[] = []
  const groupings: Grouping[] = []
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]
    if (!token) continue
    const next = tokens[i + 1]
    if (token.text === '[') {
      i = closing(tokens, i) // a range or subquery: durations only
      continue
    }
    if (token.kind !== 'ident') continue
    if (AGGREGATIONS.has(token.text)) {
      // op by (labels) (body)  or  op (body) by (labels)
      if (next?.text === 'by' || next?.text === 'without') {
        const { labels, end } = labelList(tokens, i + 2)
        const bodyEnd = closing(tokens, end + 1)
        groupings.push({ clause: next.text, labels, from: end + 1, to: bodyEnd })
        i = end
      } else if (next?.text === '(') {
        const bodyEnd = closing(tokens, i + 1)
        const after = tokens[bodyEnd + 1]?.text
        if (after === 'by' || after === 'without') {
          const { labels } = labelList(tokens, bodyEnd + 2)
          groupings.push({ clause: after, labels, from: i + 1, to: bodyEnd })
        }
      }
      continue
    }
    if (token.text === 'by' || token.text === 'without') {
      i = labelList(tokens, i + 1).end // the trailing clause, recorded with its aggregation
      continue
    }
    if (['on', 'ignoring', 'group_left', 'group_right'].includes(token.text)) {
      if (next?.text === '(') {
        const { labels, end } = labelList(tokens, i + 1)
        groupings.push({ clause: token.text, labels, from: 0, to: tokens.length - 1 })
        i = end
      }
      continue
    }
    if (KEYWORDS.has(token.text) || next?.text === '(') continue // keyword or function call
    const selector: Selector = { name: token.text, matchers: [], at: i }
    if (next?.text === '{') {
      const end = closing(tokens, i + 1)
      const inner = tokens.slice(i + 2, end)
      for (let j = 0; j < inner.length; j++) {
        const [label, op, value] = [inner[j], inner[j + 1], inner[j + 2]]
        if (label?.text === ',') continue
        if (!label || !op || !value || value.kind !== 'string') throw new Error(`bad matcher in ${expr}`)
        selector.matchers.push({ label: label.value, op: op.text, value: value.value })
        j += 2
      }
      i = end
    }
    selectors.push(selector)
  }
  return { selectors, groupings }
}

// ---------------------------------------------------------------------------------------------
// The files.

interface Rule {
  alert?: string
  record?: string
  expr: string
  for?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[]
}
interface Target {
  expr?: string
  refId?: string
  legendFormat?: string
}
interface Panel {
  id: number
  type: string
  title: string
  datasource?: { type?: string; uid?: string }
  gridPos: { x: number; y: number; w: number; h: number }
  targets?: Target[]
  panels?: Panel[]
  fieldConfig?: {
    defaults?: { thresholds?: { steps?: { value: number | null }[] }; custom?: Record<string, unknown> }
    overrides?: {
      matcher: { id: string; options: string }
      properties: { id: string; value: { steps?: { color: string; value: number | null }[] } }[]
    }[]
  }
}
interface Dashboard {
  schemaVersion: number
  uid: string
  title: string
  panels: Panel[]
  annotations: { list: { expr?: string; name: string }[] }
  templating: { list: { name: string; type: string; query: string | { query: string } }[] }
}

const rules = parse(readFileSync(RULES, 'utf8')) as RuleFile
const alerts = rules.groups.flatMap((g) => g.rules.filter((r) => r.alert))
const alert = (name: string) => alerts.find((a) => a.alert === name)
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
const dataPanels = allPanels.filter((p) => p.type !== 'row')

/** Every PromQL expression, with where it is. Grafana's label_values(selector, label) is split. */
function expressions(): { where: string; expr: string; labelOf?: string }[] {
  const list: { where: string; expr: string; labelOf?: string }[] = []
  for (const a of alerts) list.push({ where: `alert ${a.alert}`, expr: a.expr })
  for (const p of dataPanels)
    for (const t of p.targets ?? []) list.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr ?? '' })
  for (const a of dashboard.annotations.list)
    if (a.expr) list.push({ where: `annotation ${a.name}`, expr: a.expr })
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue
    const query = typeof v.query === 'string' ? v.query : v.query.query
    const m = /^label_values\((.+),\s*([a-zA-Z_]\w*)\)$/.exec(query)
    if (m?.[1] && m[2]) list.push({ where: `variable ${v.name}`, expr: m[1], labelOf: m[2] })
    else list.push({ where: `variable ${v.name}`, expr: query })
  }
  return list
}

const EXPRESSIONS = expressions()

// ---------------------------------------------------------------------------------------------

/** The alerts issue 4 (item 8) and the monitoring brief ask for. */
const REQUIRED_ALERTS = [
  'EhiGatewayServerCertificateExpiringSoon',
  'EhiGatewayClientCaExpiringSoon',
  'EhiGatewayCrlNextUpdateSoon',
  'EhiGatewayCrlStale',
  'EhiGatewayRefusalSpike',
  'EhiGatewayClientCertificateRefused',
  'EhiGatewayDecisionLatencyOverBudget',
  'EhiGatewayDecisionLatencyNearBudget',
  'EhiGatewayHostErrors',
  'EhiGatewayHostUnreachable',
  'EhiGatewayReloadFailed',
  'EhiGatewayNotReady',
  'EhiGatewayMetricsAbsent',
  'EhiGatewaySynthesizedAnswers',
  'EhiGatewayCutoffNotTaken',
  'EhiGatewayNonConformingHostAnswers',
  'EhiGatewayWorkerRestarted',
  'EhiGatewayClientCertificateExpiringSoon',
  'EhiGatewayNoTraffic',
  'EhiGatewayLedgerCutoffMismatch',
  'EhiGatewayLedgerRecordsDropped',
  'EhiGatewayLedgerStoreDown',
]

describe('PromQL reader', () => {
  it('finds selectors, matchers and grouping clauses', () => {
    const a = analyse(
      'histogram_quantile(0.99, sum by (job, le) (rate(ehi_gateway_request_duration_seconds_bucket{class="decision",job=~"$job"}[$__rate_interval]))) > 0.2 ' +
        'or sum(x_total unless x_total offset 30m) without (reason) or count(up{job="a"}) by (instance) - time()',
    )
    expect(a.selectors.map((s) => s.name)).toEqual([
      'ehi_gateway_request_duration_seconds_bucket',
      'x_total',
      'x_total',
      'up',
    ])
    expect(a.selectors[0]?.matchers).toEqual([
      { label: 'class', op: '=', value: 'decision' },
      { label: 'job', op: '=~', value: '$job' },
    ])
    expect(a.groupings.map((g) => [g.clause, g.labels])).toEqual([
      ['by', ['job', 'le']],
      ['without', ['reason']],
      ['by', ['instance']],
    ])
  })

  it('reads every expression of the rules and the dashboard', () => {
    expect(EXPRESSIONS.length).toBeGreaterThan(50)
    for (const { where, expr } of EXPRESSIONS) {
      expect(() => analyse(expr), where).not.toThrow()
      expect(analyse(expr).selectors.length, `${where} selects no series`).toBeGreaterThan(0)
    }
  })
})

describe('alerting rules (deploy/monitoring/prometheus-alerts.yaml)', () => {
  it('is a rule file of alerts with unique names', () => {
    expect(rules.groups.length).toBeGreaterThan(0)
    for (const group of rules.groups) {
      expect(group.name).toMatch(/\S/)
      expect(group.rules.length).toBeGreaterThan(0)
    }
    const names = alerts.map((a) => a.alert)
    expect(new Set(names).size).toBe(names.length)
  })

  it.each(REQUIRED_ALERTS)('has the alert %s', (name) => {
    expect(alert(name)).toBeDefined()
  })

  it('gives every alert an expression, a for, a severity, a summary and a description', () => {
    for (const a of alerts) {
      const where = `alert ${a.alert}`
      expect(a.expr, where).toMatch(/\S/)
      expect(a.for, where).toMatch(/^\d+[smhd]$/)
      expect(['page', 'ticket'], where).toContain(a.labels?.severity)
      expect(a.annotations?.summary, where).toMatch(/\S/)
      expect(a.annotations?.description?.length ?? 0, where).toBeGreaterThan(40)
    }
  })

  it('pages for what hurts Thredd now and makes tickets for what can wait', () => {
    const severity = (name: string) => alert(name)?.labels?.severity
    for (const name of [
      'EhiGatewayCrlStale',
      'EhiGatewayClientCertificateRefused',
      'EhiGatewayDecisionLatencyOverBudget',
      'EhiGatewayHostErrors',
      'EhiGatewayNotReady',
      'EhiGatewayCutoffNotTaken',
      'EhiGatewayMetricsAbsent',
    ])
      expect(severity(name), name).toBe('page')
    for (const name of [
      'EhiGatewayServerCertificateExpiringSoon',
      'EhiGatewayClientCaExpiringSoon',
      'EhiGatewayCrlNextUpdateSoon',
      'EhiGatewayDecisionLatencyNearBudget',
      'EhiGatewayRefusalSpike',
      'EhiGatewayReloadFailed',
      'EhiGatewaySynthesizedAnswers',
      'EhiGatewayNoTraffic',
    ])
      expect(severity(name), name).toBe('ticket')
  })

  it('alerts on the thresholds the runbook states', () => {
    const expr = (name: string) => alert(name)?.expr.replace(/\s+/g, ' ').trim() ?? ''
    expect(expr('EhiGatewayServerCertificateExpiringSoon')).toContain('< 30 * 86400')
    expect(expr('EhiGatewayClientCaExpiringSoon')).toContain('< 30 * 86400')
    expect(expr('EhiGatewayClientCertificateExpiringSoon')).toContain('< 30 * 86400')
    expect(expr('EhiGatewayDecisionLatencyOverBudget')).toMatch(
      /histogram_quantile\(0\.99,.*class="decision".*\) > 0\.2$/,
    )
    expect(expr('EhiGatewayDecisionLatencyNearBudget')).toMatch(
      /histogram_quantile\(0\.99,.*class="decision".*\) > 0\.15$/,
    )
    expect(expr('EhiGatewayMetricsAbsent')).toBe('absent(ehi_gateway_ready)')
    expect(expr('EhiGatewayCrlStale')).toContain(
      'ehi_gateway_crl_next_update_timestamp_seconds - time() <= 0',
    )
  })

  it("measures the decision budget as Thredd's timer does: from TCP accept (exchange duration)", () => {
    for (const name of ['EhiGatewayDecisionLatencyOverBudget', 'EhiGatewayDecisionLatencyNearBudget'])
      expect(
        analyse(alert(name)?.expr ?? '').selectors.map((s) => s.name),
        name,
      ).toEqual(['ehi_gateway_exchange_duration_seconds_bucket'])
  })

  it('replays a host outage in the unit tests: every page alert is listed and only one fires', () => {
    interface RuleTest {
      name?: string
      alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: unknown[] }[]
    }
    const tests = (parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: RuleTest[] }).tests
    const outages = tests.filter((t) => t.name?.startsWith('one host outage pages once'))
    expect(outages.length).toBeGreaterThanOrEqual(2)
    const pages = alerts.filter((a) => a.labels?.severity === 'page').map((a) => a.alert)
    for (const t of outages) {
      const times = new Map<string, { listed: string[]; firing: string[] }>()
      for (const c of t.alert_rule_test ?? []) {
        const at = times.get(c.eval_time) ?? { listed: [], firing: [] }
        at.listed.push(c.alertname)
        if (c.exp_alerts?.length) at.firing.push(c.alertname)
        times.set(c.eval_time, at)
      }
      for (const [time, { listed, firing }] of times) {
        expect(listed, `${t.name} at ${time}`).toEqual(expect.arrayContaining(pages))
        expect(firing.filter((n) => pages.includes(n)).length, `${t.name} at ${time}`).toBeLessThanOrEqual(1)
      }
      expect(
        [...times.values()].some((at) => at.firing.length === 1),
        t.name,
      ).toBe(true)
    }
  })

  it('pages on every client-certificate refusal that may be Thredd (all identity reasons but no_client_cert)', () => {
    const identity = Object.entries(REASONS)
      .filter(([code, info]) => info.stage === 'identity' && code !== 'no_client_cert')
      .map(([code]) => code)
    const matched = analyse(alert('EhiGatewayClientCertificateRefused')?.expr ?? '')
      .selectors.flatMap((s) => s.matchers)
      .filter((m) => m.label === 'reason' && m.op === '=~')
      .flatMap((m) => m.value.split('|'))
    expect([...matched].sort()).toEqual([...identity].sort())
    // The ticket for refusal spikes leaves those to the page.
    const excluded = analyse(alert('EhiGatewayRefusalSpike')?.expr ?? '')
      .selectors.flatMap((s) => s.matchers)
      .filter((m) => m.label === 'reason' && m.op === '!~')
      .flatMap((m) => m.value.split('|'))
    expect(excluded).toEqual(expect.arrayContaining(identity))
  })

  it('is listed alert by alert in deploy/monitoring/README.md', () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8')
    const rows = [...readme.matchAll(/^\| `(EhiGateway\w+)` \| (page|ticket) \|/gm)].map((m) => [m[1], m[2]])
    expect(rows).toEqual(alerts.map((a) => [a.alert, a.labels?.severity]))
  })
})

describe('Grafana dashboard (deploy/monitoring/grafana-dashboard.json)', () => {
  it('is an importable dashboard with a Prometheus data source variable', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/)
    expect(dashboard.title).toMatch(/\S/)
    const ds = dashboard.templating.list.find((v) => v.name === 'datasource')
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' })
  })

  it('has unique panel ids, non-overlapping panels and a target on every panel', () => {
    const ids = allPanels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    const cells = new Set<string>()
    for (const p of allPanels) {
      const { x, y, w, h } = p.gridPos
      expect(x + w, p.title).toBeLessThanOrEqual(24)
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `panel "${p.title}" overlaps another`).toBe(false)
          cells.add(`${i},${j}`)
        }
    }
    expect(dataPanels.length).toBeGreaterThan(20)
    for (const p of dataPanels) {
      expect(['timeseries', 'stat'], p.title).toContain(p.type)
      expect(p.datasource?.uid, p.title).toBe('${datasource}')
      expect(p.targets?.length ?? 0, `panel "${p.title}" has no target`).toBeGreaterThan(0)
      for (const t of p.targets ?? []) expect(t.expr, `panel "${p.title}"`).toMatch(/\S/)
    }
  })

  it('shows every metric of the catalog', () => {
    const used = new Set(
      EXPRESSIONS.filter((e) => !e.where.startsWith('alert')).flatMap((e) =>
        analyse(e.expr).selectors.map((s) => resolve(s.name)?.base ?? s.name),
      ),
    )
    const missing = metricCatalog()
      .map((m) => m.name)
      .filter((name) => !used.has(name))
    expect(missing).toEqual([])
    for (const name of PROCESS_DEFAULTS) expect(used).toContain(name)
  })

  it('draws the budget only over the exchange duration, from TCP accept as Thredd counts', () => {
    const budget = dataPanels.filter(
      (p) =>
        p.fieldConfig?.defaults?.thresholds?.steps?.some((s) => s.value === 0.2) &&
        (p.type === 'stat' ||
          (p.fieldConfig.defaults.custom?.thresholdsStyle as { mode?: string } | undefined)?.mode !== 'off'),
    )
    // The request duration leaves the handshake out: never against Thredd's budget.
    for (const p of budget)
      for (const t of p.targets ?? [])
        expect(t.expr, `panel "${p.title}"`).not.toContain('ehi_gateway_request_duration_seconds')
    const endToEnd = budget.filter((p) => /^(Decision|Round trip)/.test(p.title))
    expect(endToEnd.map((p) => p.title)).toHaveLength(3)
    for (const p of endToEnd)
      for (const t of p.targets ?? [])
        expect(t.expr, `panel "${p.title}"`).toContain('ehi_gateway_exchange_duration_seconds_bucket')
  })

  it('shows the workers up and, red from one, how many of the configured ones are missing', () => {
    const panel = dataPanels.find((p) => p.title === 'Workers')!
    const byLegend = new Map((panel.targets ?? []).map((t) => [t.legendFormat, t.expr ?? '']))
    expect(analyse(byLegend.get('up') ?? '').selectors.map((s) => s.name)).toEqual(['ehi_gateway_workers'])
    expect(
      analyse(byLegend.get('missing') ?? '')
        .selectors.map((s) => s.name)
        .sort(),
    ).toEqual(['ehi_gateway_workers', 'ehi_gateway_workers_configured'])
    expect(byLegend.get('missing')).toMatch(
      /^sum\(ehi_gateway_workers_configured\{.*\}\) - sum\(ehi_gateway_workers\{/,
    )
    const missing = panel.fieldConfig?.overrides?.find((o) => o.matcher.options === 'missing')
    expect(missing?.properties[0]?.value.steps).toEqual([
      { color: 'green', value: null },
      { color: 'red', value: 1 },
    ])
    // The count itself is never red: one worker without a cluster is the normal case.
    expect(panel.fieldConfig?.defaults?.thresholds?.steps).toEqual([{ color: 'green', value: null }])
  })

  it('draws the 200 ms budget on the decision latency panel', () => {
    const panel = dataPanels.find((p) => p.title.startsWith('Decision latency'))
    expect(panel?.fieldConfig?.defaults?.custom?.thresholdsStyle).toMatchObject({
      mode: expect.stringContaining('line'),
    })
    const steps = panel?.fieldConfig?.defaults?.thresholds?.steps?.map((s) => s.value)
    expect(steps).toContain(0.2)
    expect(panel?.targets?.map((t) => /histogram_quantile\(([\d.]+)/.exec(t.expr ?? '')?.[1])).toEqual([
      '0.5',
      '0.9',
      '0.99',
    ])
  })
})

describe('every expression of the rules and the dashboard', () => {
  it('uses only metrics that exist (the catalog, the listed process defaults, up)', () => {
    const unknown = EXPRESSIONS.flatMap(({ where, expr }) =>
      analyse(expr)
        .selectors.filter((s) => !resolve(s.name))
        .map((s) => `${where}: ${s.name}`),
    )
    expect(unknown).toEqual([])
    const used = new Set(EXPRESSIONS.flatMap(({ expr }) => analyse(expr).selectors.map((s) => s.name)))
    expect([...used].filter((n) => n.startsWith('ehi_gateway_')).length).toBeGreaterThan(20)
  })

  it('selects and groups only by labels the metrics have', () => {
    const problems: string[] = []
    for (const { where, expr, labelOf } of EXPRESSIONS) {
      const { selectors, groupings } = analyse(expr)
      for (const s of selectors.filter((s) => resolve(s.name)))
        for (const m of s.matchers)
          if (!labelsOf(s.name).includes(m.label))
            problems.push(`${where}: ${s.name} has no label ${m.label}`)
      for (const g of groupings) {
        const inside = selectors.filter((s) => s.at > g.from && s.at < g.to && resolve(s.name))
        for (const label of g.labels) {
          const without = inside.filter((s) => !labelsOf(s.name).includes(label)).map((s) => s.name)
          if (without.length)
            problems.push(`${where}: ${g.clause} (${label}) but ${without.join(', ')} has no such label`)
        }
      }
      if (labelOf)
        for (const s of selectors)
          if (!labelsOf(s.name).includes(labelOf))
            problems.push(`${where}: ${s.name} has no label ${labelOf}`)
    }
    expect(problems).toEqual([])
  })

  it('matches only real reason codes, classes, outcomes, roles and results', () => {
    const problems: string[] = []
    let reasonMatchers = 0
    for (const { where, expr } of EXPRESSIONS)
      for (const s of analyse(expr).selectors)
        for (const m of s.matchers) {
          const allowed = LABEL_VALUES[m.label]
          if (!allowed) continue
          if (m.label === 'reason') reasonMatchers++
          const values = m.op === '=~' || m.op === '!~' ? m.value.split('|') : [m.value]
          for (const v of values)
            if (!allowed.includes(v))
              problems.push(`${where}: ${s.name}{${m.label}${m.op}"${m.value}"}: ${v} is not a ${m.label}`)
        }
    expect(problems).toEqual([])
    expect(reasonMatchers).toBeGreaterThan(3)
  })
})

// ---------------------------------------------------------------------------------------------
// promtool (Debian package prometheus; .ci/run installs it).

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' })
const hasPromtool = promtool.status === 0
const skipNote = hasPromtool ? '' : ' [skipped: promtool not installed; apt-get install prometheus]'

function runPromtool(args: string[], cwd = dir) {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

describe('promtool', () => {
  it.skipIf(!hasPromtool)(`check rules accepts the alerting rules${skipNote}`, () => {
    const r = runPromtool(['check', 'rules', RULES])
    expect(r.output).toContain('SUCCESS')
    expect(r.status, r.output).toBe(0)
  })

  it.skipIf(!hasPromtool)(`test rules: the alerts fire on the unit-test series${skipNote}`, () => {
    const r = runPromtool(['test', 'rules', RULE_TESTS])
    expect(r.status, r.output).toBe(0)
  })

  it.skipIf(!hasPromtool)(`every dashboard query is valid PromQL${skipNote}`, () => {
    const queries = EXPRESSIONS.filter((e) => !e.where.startsWith('alert'))
    const file = {
      groups: [
        {
          name: 'dashboard',
          rules: queries.map((q, i) => ({
            record: `dashboard:query_${i}`,
            expr: q.expr
              .replaceAll('$__rate_interval', '5m')
              .replaceAll('$__interval', '1m')
              .replace(/\$\{?\w+\}?/g, '.*'),
          })),
        },
      ],
    }
    const tmp = mkdtempSync(join(tmpdir(), 'ehi-dashboard-'))
    try {
      writeFileSync(join(tmp, 'dashboard.rules.yaml'), stringify(file))
      const r = runPromtool(['check', 'rules', 'dashboard.rules.yaml'], tmp)
      expect(r.status, r.output).toBe(0)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Alertmanager (Debian package prometheus-alertmanager: amtool and the server).

const amtool = spawnSync('amtool', ['--version'], { encoding: 'utf8' }).status === 0
const alertmanagerBin = ['prometheus-alertmanager', 'alertmanager'].find(
  (bin) => spawnSync(bin, ['--version'], { encoding: 'utf8' }).status === 0,
)
const amSkipNote = ' [skipped: apt-get install prometheus-alertmanager]'

describe('alertmanager.yaml', () => {
  const config = parse(readFileSync(ALERTMANAGER, 'utf8')) as {
    route: { group_by: string[]; routes: { matchers: string[]; receiver: string }[] }
    inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal?: string[] }[]
  }

  it('routes pages and tickets apart, one notification per alert and job', () => {
    expect(config.route.group_by).toEqual(['alertname', 'job'])
    expect(config.route.routes).toContainEqual(
      expect.objectContaining({ matchers: ['severity="page"'], receiver: 'ehi-gateway-page' }),
    )
  })

  it('names only alerts that exist in its inhibit rules', () => {
    const names = new Set(alerts.map((a) => a.alert))
    const unknown: string[] = []
    for (const rule of config.inhibit_rules)
      for (const m of [...rule.source_matchers, ...rule.target_matchers]) {
        const match = /^alertname(=~|=|!=)"(.+)"$/.exec(m)
        if (!match || match[2] === 'EhiGateway.+') continue
        for (const name of match[2]!.split('|')) if (!names.has(name)) unknown.push(`${m}: ${name}`)
      }
    expect(unknown).toEqual([])
  })

  it.skipIf(!amtool)(`amtool check-config accepts it${amtool ? '' : amSkipNote}`, () => {
    const r = spawnSync('amtool', ['check-config', ALERTMANAGER], { encoding: 'utf8' })
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0)
    expect(r.stdout).toContain('SUCCESS')
  })
})

/** What a running Alertmanager with alertmanager.yaml mutes, given a set of firing alerts. */
describe.skipIf(!alertmanagerBin)(
  `Alertmanager with alertmanager.yaml (${alertmanagerBin ?? 'not installed'})${alertmanagerBin ? '' : amSkipNote}`,
  () => {
    let child: ReturnType<typeof spawn> | undefined
    let exited: Promise<unknown> | undefined
    let base = ''
    let storage = ''

    beforeAll(async () => {
      storage = mkdtempSync(join(tmpdir(), 'ehi-alertmanager-'))
      const port = await freePort()
      base = `http://127.0.0.1:${port}`
      child = spawn(
        alertmanagerBin!,
        [
          `--config.file=${ALERTMANAGER}`,
          `--storage.path=${storage}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--cluster.listen-address=',
          '--log.level=warn',
        ],
        { stdio: 'ignore' },
      )
      exited = new Promise((resolve) => child!.once('exit', resolve))
      await eventually(async () => (await fetch(`${base}/-/ready`)).ok, 15_000, 'Alertmanager to be ready')
    }, 20_000)

    afterAll(async () => {
      child?.kill('SIGTERM')
      await exited
      rmSync(storage, { recursive: true, force: true })
    })

    type Labels = Record<string, string>
    /** Posts the alerts, then reads back which are muted (inhibited) once the states settle. */
    async function muted(firing: Labels[]): Promise<Map<string, boolean>> {
      const key = (l: Labels) => `${l.alertname}@${l.instance ?? '-'}`
      const response = await fetch(`${base}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(firing.map((labels) => ({ labels, startsAt: new Date().toISOString() }))),
      })
      expect(response.status).toBe(200)
      let previous = ''
      const deadline = Date.now() + 5000
      for (;;) {
        const list = (await (await fetch(`${base}/api/v2/alerts`)).json()) as {
          labels: Labels
          status: { inhibitedBy: string[] }
        }[]
        const states = new Map(
          list
            .filter((a) => firing.some((f) => key(f) === key(a.labels)))
            .map((a) => [key(a.labels), a.status.inhibitedBy.length > 0] as const),
        )
        const now = JSON.stringify([...states].sort())
        if (states.size === firing.length && now === previous) return states
        if (Date.now() > deadline) throw new Error(`alerts did not settle: ${now}`)
        previous = now
        await sleep(200)
      }
    }

    const gw = (instance: string, alertname: string, severity: string, extra: Labels = {}): Labels => ({
      alertname,
      severity,
      job: 'ehi-gateway',
      instance,
      ...extra,
    })

    it('one host outage: the host page stays, the pages and tickets that follow are muted, another gateway and a lost Cut_Off are not', async () => {
      const states = await muted([
        gw('gw1', 'EhiGatewayHostUnreachable', 'page'),
        gw('gw1', 'EhiGatewayHostErrors', 'page', { reason: 'host_unreachable' }),
        gw('gw1', 'EhiGatewayDecisionsNotAnsweredByHost', 'page'),
        gw('gw1', 'EhiGatewayNotReady', 'page'),
        gw('gw1', 'EhiGatewaySynthesizedAnswers', 'ticket', { class: 'advice', reason: 'host_unreachable' }),
        gw('gw1', 'EhiGatewayHighRepeatRate', 'ticket', { class: 'advice' }),
        gw('gw1', 'EhiGatewayThreddDecidesForHost', 'ticket'),
        gw('gw1', 'EhiGatewayDecisionLatencyNearBudget', 'ticket'),
        gw('gw1', 'EhiGatewayCutoffNotTaken', 'page'),
        gw('gw2', 'EhiGatewaySynthesizedAnswers', 'ticket', { class: 'advice', reason: 'host_timeout' }),
      ])
      expect(Object.fromEntries(states)).toEqual({
        'EhiGatewayHostUnreachable@gw1': false,
        'EhiGatewayHostErrors@gw1': true,
        'EhiGatewayDecisionsNotAnsweredByHost@gw1': true,
        'EhiGatewayNotReady@gw1': true,
        'EhiGatewaySynthesizedAnswers@gw1': true,
        'EhiGatewayHighRepeatRate@gw1': true,
        'EhiGatewayThreddDecidesForHost@gw1': true,
        'EhiGatewayDecisionLatencyNearBudget@gw1': true,
        'EhiGatewayCutoffNotTaken@gw1': false,
        'EhiGatewaySynthesizedAnswers@gw2': false,
      })
    })

    it('a gateway Prometheus cannot scrape: its other alerts and "no metrics at all" are muted', async () => {
      const states = await muted([
        gw('gw3', 'EhiGatewayDown', 'page'),
        gw('gw3', 'EhiGatewayWorkerRestarted', 'ticket'),
        { alertname: 'EhiGatewayMetricsAbsent', severity: 'page' },
        gw('gw4', 'EhiGatewayWorkerRestarted', 'ticket'),
      ])
      expect(Object.fromEntries(states)).toEqual({
        'EhiGatewayDown@gw3': false,
        'EhiGatewayWorkerRestarted@gw3': true,
        'EhiGatewayMetricsAbsent@-': true,
        'EhiGatewayWorkerRestarted@gw4': false,
      })
    })
  },
)
