/**
 * A gateway-like process for the ledger's fault and multi-process tests: opens a ledger as the
 * gateway does (SQLite on worker threads, PostgreSQL pools), then runs the steps of a plan given
 * as JSON in argv[2], printing one JSON line per step on stdout. Run it inside a private mount
 * namespace (unshare -m) to give it a read-only or full file system of its own.
 *
 *   node test/support/ledger-child.ts '{"url":"sqlite:/x/l.db","config":{},"steps":[...]}'
 *
 * (or the plan in LEDGER_CHILD_PLAN, which survives a `sh -c` without quoting).
 */
import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { Registry } from 'prom-client'
import { openLedger } from '../../src/ledger/ledger.ts'
import { createLedgerMetrics } from '../../src/observability/metrics.ts'
import { captureLogger, message, query, settingsFor, type MessageSpec } from './ledger.ts'

export type Step =
  | { do: 'record'; count: number; txnFrom: number; spec?: MessageSpec; everyMs?: number }
  | { do: 'flush'; timeoutMs: number }
  | { do: 'status' }
  | { do: 'lookup'; txnFrom: number; count: number; spec?: MessageSpec }
  | { do: 'shell'; command: string[] }
  | { do: 'rm'; path: string }
  | { do: 'fill'; path: string; bytes: number }
  | { do: 'wait'; ms: number }
  | { do: 'waitState'; state: string; timeoutMs: number }
  | { do: 'close'; timeoutMs: number }

export interface Plan {
  url: string
  config?: Record<string, unknown>
  password?: string
  instance?: string
  steps: Step[]
}

const plan = JSON.parse(process.argv[2] ?? process.env.LEDGER_CHILD_PLAN!) as Plan
const out = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`)

const registry = new Registry()
const metrics = createLedgerMetrics(registry)
const { logger, lines } = captureLogger()
const ledger = await openLedger({
  settings: settingsFor(plan.url, plan.config ?? {}, plan.password),
  logger,
  metrics,
  instance: plan.instance ?? `child-${process.pid}`,
})
out({ step: 'open', status: ledger.status() })

/** Largest gap between two ticks of a 5 ms timer while `work` runs: how long the loop was held. */
async function loopLag<T>(work: () => Promise<T>): Promise<{ result: T; maxLagMs: number }> {
  let last = performance.now()
  let maxLagMs = 0
  const timer = setInterval(() => {
    const now = performance.now()
    maxLagMs = Math.max(maxLagMs, now - last - 5)
    last = now
  }, 5)
  try {
    const result = await work()
    return { result, maxLagMs }
  } finally {
    clearInterval(timer)
  }
}

for (const step of plan.steps) {
  switch (step.do) {
    case 'record': {
      const { result, maxLagMs } = await loopLag(async () => {
        let maxCallMs = 0
        const ids: string[] = []
        for (let i = 0; i < step.count; i++) {
          const event = message({ ...step.spec, txnId: String(step.txnFrom + i) })
          ids.push(event.requestId)
          const t0 = performance.now()
          ledger.record(event)
          maxCallMs = Math.max(maxCallMs, performance.now() - t0)
          if (step.everyMs) await new Promise((resolve) => setTimeout(resolve, step.everyMs))
        }
        return { maxCallMs, ids }
      })
      out({
        step: 'record',
        count: step.count,
        maxCallMs: result.maxCallMs,
        maxLagMs,
        firstId: result.ids[0],
      })
      break
    }
    case 'flush': {
      const { result, maxLagMs } = await loopLag(() => ledger.flush(step.timeoutMs))
      out({ step: 'flush', empty: result, maxLagMs, status: ledger.status() })
      break
    }
    case 'status':
      out({ step: 'status', status: ledger.status() })
      break
    case 'lookup': {
      const results = []
      let maxMs = 0
      for (let i = 0; i < step.count; i++) {
        const t0 = performance.now()
        const r = await ledger.lookup(query({ ...step.spec, txnId: String(step.txnFrom + i) }))
        maxMs = Math.max(maxMs, performance.now() - t0)
        results.push({ found: r.found, source: r.source, first: r.first?.requestId, reason: r.unknownReason })
      }
      out({ step: 'lookup', maxMs, results })
      break
    }
    case 'shell': {
      const r = spawnSync(step.command[0]!, step.command.slice(1), { encoding: 'utf8' })
      out({ step: 'shell', status: r.status, output: `${r.stdout}${r.stderr}` })
      break
    }
    case 'rm':
      rmSync(step.path, { force: true })
      out({ step: 'rm' })
      break
    case 'fill':
      try {
        writeFileSync(step.path, Buffer.alloc(step.bytes, 1))
        out({ step: 'fill', ok: true })
      } catch (error) {
        out({ step: 'fill', ok: false, code: (error as NodeJS.ErrnoException).code })
      }
      break
    case 'wait':
      await new Promise((resolve) => setTimeout(resolve, step.ms))
      out({ step: 'wait' })
      break
    case 'waitState': {
      const deadline = Date.now() + step.timeoutMs
      while (ledger.status().state !== step.state && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20))
      out({ step: 'waitState', status: ledger.status() })
      break
    }
    case 'close':
      await ledger.close(step.timeoutMs)
      out({ step: 'close', status: ledger.status() })
      break
  }
}
out({ step: 'end', logs: lines, metrics: await registry.getMetricsAsJSON() })
