/**
 * Starts a gateway on 127.0.0.1:0 in front of a recording reference host, with the test PKI and
 * captured JSON log lines. Overrides are merged into the config (lists are replaced).
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestPki } from './test-pki.ts'
import { validateConfig } from '../../src/config/load-config.ts'
import { compileRuntime } from '../../src/runtime/compile-runtime.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { startReferenceHost, type ReferenceHost } from '../../src/tools/reference-host/reference-host.ts'
import { startGateway, type RunningGateway } from '../../src/server/start-gateway.ts'
import { formatIssues } from '../../src/config/config-issues.ts'

export type LogLine = Record<string, unknown> & { msg?: string; event?: string; reason?: string }

export interface Harness {
  gateway: RunningGateway
  host: ReferenceHost
  logs: LogLine[]
  port: number
  /** The config file the gateway was started from (and reloads from). */
  configFile: string
  /** Rewrites the config file with these overrides merged into the original config. */
  rewriteConfig(overrides: Record<string, unknown>): void
  /** Sum of a counter (optionally for one label set). */
  counter(name: string, labels?: Record<string, string>): Promise<number>
  close(): Promise<void>
}

/**
 * Generous deadlines: a loaded CI machine must not turn a slow handshake into a 504. Tests of
 * the deadlines themselves set their own.
 */
export const GENEROUS_DEADLINES = Object.freeze({
  threddBudgetMs: 10_000,
  deadlineMs: Object.freeze({
    decision: 5000,
    reversal: 5000,
    advice: 5000,
    financial: 5000,
    cutoff: 5000,
    other: 5000,
  }),
})

export function baseConfig(pki: TestPki, hostUrl: string): Record<string, unknown> {
  const f = pki.files
  return {
    listen: { host: '127.0.0.1', port: 0 },
    tls: {
      serverCertificates: [{ cert: f['server-chain.pem'], key: f['server.key'] }],
      clientCa: [f['thredd-root-ca.pem'], f['thredd-issuing-ca.pem']],
      crl: { enabled: true, files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.crl.pem']] },
      handshakeTimeoutMs: 2000,
    },
    upstream: { url: hostUrl },
    ehi: GENEROUS_DEADLINES,
    admin: { port: 0 },
    // Reloads in tests are explicit; file watching has its own test.
    reload: { watchFiles: false },
    log: { level: 'info' },
  }
}

export async function startHarness(pki: TestPki, overrides: Record<string, unknown> = {}): Promise<Harness> {
  const host = await startReferenceHost()
  const raw = merge(baseConfig(pki, host.url), overrides)
  const configFile = join(mkdtempSync(join(tmpdir(), 'ehi-gateway-config-')), 'gateway.json')
  writeFileSync(configFile, JSON.stringify(raw, null, 2))
  const { config, issues } = validateConfig(raw)
  if (issues.length) throw new Error(formatIssues(issues))
  const runtime = compileRuntime(config)
  const logs: LogLine[] = []
  const logger = createLogger(config.log, {
    write: (line: string) => void logs.push(JSON.parse(line) as LogLine),
  })
  const gateway = await startGateway({ runtime, logger, source: { file: configFile, env: {} } })
  return {
    gateway,
    host,
    logs,
    port: gateway.port,
    configFile,
    rewriteConfig(more) {
      writeFileSync(configFile, JSON.stringify(merge(raw, more), null, 2))
    },
    async counter(name, labels) {
      const metric = gateway.registry.getSingleMetric(name) ?? gateway.controlRegistry?.getSingleMetric(name)
      if (!metric) throw new Error(`no metric ${name}`)
      const { values } = await metric.get()
      return values
        .filter((v) => !labels || Object.entries(labels).every(([k, want]) => v.labels[k] === want))
        .reduce((sum, v) => sum + v.value, 0)
    },
    async close() {
      await gateway.close()
      await host.close()
    },
  }
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const current = out[key]
    out[key] =
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      current &&
      typeof current === 'object' &&
      !Array.isArray(current)
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value
  }
  return out
}
