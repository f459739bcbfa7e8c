/**
 * Ledger test helpers: a config section with the defaults, events shaped like the request path's,
 * a captured logger and a fresh metrics registry. Stores are always real engines.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { validateConfig } from '../../src/config/load-config.ts'
import { openLedger, type Ledger, type LedgerDeps } from '../../src/ledger/ledger.ts'
import type { LedgerEvent } from '../../src/ledger/rules/ledger-record.ts'
import { ledgerSettings, type LedgerConfig, type LedgerSettings } from '../../src/ledger/ledger-settings.ts'
import { createLedgerMetrics, type LedgerMetrics } from '../../src/observability/metrics.ts'

export type LogLine = Record<string, unknown> & { level: string; msg: string }

export function captureLogger() {
  const lines: LogLine[] = []
  const at = (level: string) => (object: object, msg: string) => lines.push({ ...object, level, msg })
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, lines }
}

/** The ledger section with its defaults and `overrides`, validated by the real schema. */
export function ledgerConfig(url: string | undefined, overrides: Partial<LedgerConfig> = {}): LedgerConfig {
  const { config, issues } = validateConfig({
    upstream: { url: 'http://127.0.0.1:9/ehi' },
    ledger: { ...(url === undefined ? {} : { url }), ...overrides },
  })
  const ledgerIssues = issues.filter((i) => i.path.startsWith('ledger'))
  if (ledgerIssues.length) throw new Error(JSON.stringify(ledgerIssues))
  return config.ledger
}

export function settingsFor(
  url: string,
  overrides: Partial<LedgerConfig> = {},
  password?: string,
): LedgerSettings {
  const config = ledgerConfig(url, overrides)
  const { settings, issues } = ledgerSettings(config, () => Buffer.from(password ?? ''))
  if (!settings) throw new Error(JSON.stringify(issues))
  return settings
}

export interface TestLedger {
  ledger: Ledger
  metrics: LedgerMetrics
  registry: Registry
  lines: LogLine[]
}

export async function openTestLedger(
  url: string,
  overrides: Partial<LedgerConfig> = {},
  extra: Partial<LedgerDeps> = {},
): Promise<TestLedger> {
  const registry = new Registry()
  const metrics = createLedgerMetrics(registry)
  const { logger, lines } = captureLogger()
  const ledger = await openLedger({
    settings: settingsFor(url, overrides),
    logger,
    metrics,
    instance: 'test-gw',
    ...extra,
  })
  return { ledger, metrics, registry, lines }
}

export async function counterValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name)
  if (!metric) throw new Error(`no metric ${name}`)
  const { values } = await metric.get()
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
    .reduce((sum, v) => sum + v.value, 0)
}

export interface MessageSpec {
  txnId?: string
  mtid?: string
  type?: string
  cls?: string
  attempt?: number
  abg?: string
  stat?: string
  ack?: '0' | '1'
  responseStatus?: string
  outcome?: string
  synthesized?: boolean
  format?: 'xml' | 'json'
  productId?: string
  requestId?: string
  arrivedAt?: number
  resendOf?: string
  hostAnswerBody?: string
}

/** An event as the request path would build it for one message and its answer. */
export function message(spec: MessageSpec = {}): LedgerEvent {
  const fields: Record<string, string> = {
    TXn_ID: spec.txnId ?? '9000000001',
    MTID: spec.mtid ?? '0120',
    Txn_Type: spec.type ?? 'J',
    ProductID: spec.productId ?? '9001',
    SendingAttemptCount: String(spec.attempt ?? 0),
    Authorised_by_GPS: spec.abg ?? 'N',
    Txn_Stat_Code: spec.stat ?? 'A',
  }
  const synthesized = spec.synthesized ?? false
  const event: LedgerEvent = {
    requestId: spec.requestId ?? randomUUID(),
    arrivedAt: spec.arrivedAt ?? Date.now(),
    format: spec.format ?? 'xml',
    root: 'GetTransaction',
    messageClass: spec.cls ?? 'advice',
    mode: 1,
    fields,
    tokenHash: 'AbCdEfGhIjKlMnOpQrStUv',
    outcome: spec.outcome ?? (synthesized ? 'synthesized' : 'host_answer'),
    answer: {
      status: 200,
      synthesized,
      Acknowledgement: spec.ack ?? '1',
      ...(spec.responseStatus ? { Responsestatus: spec.responseStatus } : {}),
      conforming: true,
    },
    timings: { totalMs: 3.5, exchangeMs: 7.25, hostMs: 1.5 },
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    client: { serial: '1A2B3C', spkiSha256: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=' },
    resendOf: spec.resendOf,
  }
  if (spec.hostAnswerBody !== undefined)
    event.hostAnswer = {
      status: 200,
      headers: { 'content-type': spec.format === 'json' ? 'application/json' : 'text/xml; charset=utf-8' },
      body: spec.hostAnswerBody,
    }
  return event
}

/** The lookup query for a message spec (its extracted fields). */
export function query(spec: MessageSpec = {}) {
  const e = message(spec)
  return { fields: e.fields!, format: e.format, root: e.root, messageClass: e.messageClass }
}

/** A Cut_Off event with Thredd's XML counter names. */
export function cutoff(
  cutoffId: string,
  first: string,
  last: string,
  counters: [number, number, number, number, number, number, number, number],
  productId = '9001',
): LedgerEvent {
  const names = [
    'Auths_Acknowledged',
    'Auths_NotAcknowledged',
    'Financials_Acknowledged',
    'Financials_NotAcknowledged',
    'LoadsUnloads_Acknowledged',
    'LoadsUnloads_NotAcknowledged',
    'BalanceAdjustExpiry_Acknowledged',
    'BalanceAdjustExpiry_NotAcknowledged',
  ]
  return {
    requestId: randomUUID(),
    arrivedAt: Date.now(),
    format: 'xml',
    root: 'Cut_Off',
    messageClass: 'cutoff',
    mode: 1,
    fields: {
      CutoffID: cutoffId,
      ProductID: productId,
      CutoffDate: '2026-11-27',
      FirstTxn_ID: first,
      LastTxn_ID: last,
      ...Object.fromEntries(names.map((n, i) => [n, String(counters[i])])),
    },
    outcome: 'host_answer',
    answer: { status: 200, synthesized: false, Cut_OffResult: '1', conforming: true },
  }
}

export const LEDGER_CHILD = join(import.meta.dirname, 'ledger-child.ts')

export interface ChildLine {
  step: string
  [key: string]: unknown
}

/**
 * Runs test/support/ledger-child.ts with `plan`, bounded in time. `setup` (shell commands) runs
 * first inside a private mount namespace (unshare -m), so a mount it makes (a read-only bind, a
 * small tmpfs) exists for that process only and vanishes with it.
 */
export function runLedgerChild(
  plan: object,
  options: { setup?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; lines: ChildLine[]; stderr: string }> {
  const env = { ...process.env, LEDGER_CHILD_PLAN: JSON.stringify(plan) }
  const node = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(LEDGER_CHILD)}`
  const child = options.setup
    ? spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `set -e; ${options.setup}; ${node}`], {
        env,
      })
    : spawn(process.execPath, [LEDGER_CHILD], { env })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer)
      const lines = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as ChildLine)
      resolve({ code, lines, stderr })
    })
  })
}

/** True when this machine lets a process mount in a private namespace (root with CAP_SYS_ADMIN). */
export function canMountPrivately(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'ehi-gateway-mount-probe-'))
  try {
    const r = spawnSync(
      'unshare',
      ['-m', '--propagation', 'private', 'mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe],
      {
        timeout: 10_000,
      },
    )
    return r.status === 0
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}
