/**
 * Sends Thredd-like EHI traffic to a target, open loop: message i is due at start + i/rate, is
 * sent when due whatever the earlier ones are doing, and its latency is measured from when it was
 * due, not from when it was sent, so a slow target cannot hide its queueing (no coordinated
 * omission). By default each message opens a new TLS connection, as Thredd does.
 */
import { readFileSync } from 'node:fs'
import { createSecureContext, type SecureContext } from 'node:tls'
import { Agent, request, type RequestOptions } from 'node:https'
import { checkHostAnswer } from '../ehi/check-host-answer.ts'
import { classifyEhiMessage } from '../ehi/classify-ehi-message.ts'
import type { EhiFormat, MessageClass } from '../ehi/ehi-message.ts'
import { parseEhiMessage } from '../ehi/parse-ehi-message.ts'
import { buildMessage, contentTypeOf, soapActionOf } from '../ehi/synthetic-messages.ts'
import { summarise, type LatencySummary } from './latency-summary.ts'
import { idsAt, scenarioAt, type SimulationScenario } from './simulation-plan.ts'

export interface SimulationOptions {
  target: URL
  cert: string
  key: string
  ca?: string | undefined
  scenario: SimulationScenario
  rate: number
  durationS: number
  format: EhiFormat
  reuseConnections: boolean
  budgetMs: number
  /** Per-message timeout: a message still open then counts as an error. */
  timeoutMs: number
  onProgress?: (line: string) => void
}

export interface ClassCounts {
  sent: number
  ok2xx: number
  non2xx: number
  ack1: number
  ack0: number
  nonConforming: number
  errors: number
}

export interface SimulationReport {
  target: string
  scenario: SimulationScenario
  format: EhiFormat
  newConnectionPerMessage: boolean
  rate: number
  durationS: number
  budgetMs: number
  latency: LatencySummary
  byClass: Partial<Record<MessageClass, ClassCounts>>
  errors: Record<string, number>
  statuses: Record<string, number>
  /** Messages not sent because too many were still open (the target is far behind). */
  skipped: number
}

const PARSE_LIMITS = { maxDepth: 16, maxElements: 5000, maxAttributes: 64 }
const MAX_IN_FLIGHT = 2000

export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const total = Math.max(1, Math.round(options.rate * options.durationS))
  const interval = 1000 / options.rate
  const runId = Math.floor(Date.now() / 1000) % 100_000
  // One TLS context for the run, as a real client keeps: building it per message (parsing the key,
  // the certificate and the CA bundle) cost the generator about a millisecond of CPU each time.
  const tls: RequestOptions & { secureContext: SecureContext } = {
    secureContext: createSecureContext({
      cert: readFileSync(options.cert),
      key: readFileSync(options.key),
      ...(options.ca ? { ca: readFileSync(options.ca) } : {}),
    }),
  }
  const agent = options.reuseConnections ? new Agent({ keepAlive: true, maxSockets: 64 }) : undefined
  const latencies: number[] = []
  const byClass: Partial<Record<MessageClass, ClassCounts>> = {}
  const errors: Record<string, number> = {}
  const statuses: Record<string, number> = {}
  let inFlight = 0
  let done = 0
  let skipped = 0
  const pending = new Set<Promise<void>>()

  const counts = (cls: MessageClass) =>
    (byClass[cls] ??= { sent: 0, ok2xx: 0, non2xx: 0, ack1: 0, ack0: 0, nonConforming: 0, errors: 0 })

  const start = performance.now()
  const onProgress = options.onProgress
  // Only with a reader: the summary sorts every latency so far.
  const progress = setInterval(() => {
    if (!onProgress) return
    const sorted = summarise(latencies, options.budgetMs)
    onProgress(
      `t=${((performance.now() - start) / 1000).toFixed(0)}s sent=${done + inFlight} done=${done} open=${inFlight} p99=${sorted.p99.toFixed(1)}ms errors=${sumValues(errors)}`,
    )
  }, 1000)
  progress.unref()

  for (let i = 0; i < total; i++) {
    const due = start + i * interval
    const wait = due - performance.now()
    if (wait > 1) await sleep(wait)
    if (inFlight >= MAX_IN_FLIGHT) {
      skipped++
      continue
    }
    const scenario = scenarioAt(options.scenario, i)
    const body = buildMessage(scenario, options.format, idsAt(runId, i, scenario))
    const parsed = parseEhiMessage(Buffer.from(body), contentTypeOf(options.format), PARSE_LIMITS)
    const cls: MessageClass = parsed.ok ? classifyEhiMessage(parsed.message, 1) : 'other'
    counts(cls).sent++
    inFlight++
    const sent = send(options, tls, agent, body, scenario, due).then((result) => {
      inFlight--
      done++
      latencies.push(result.latencyMs)
      const c = counts(cls)
      if ('error' in result) {
        c.errors++
        errors[result.error] = (errors[result.error] ?? 0) + 1
        return
      }
      statuses[result.status] = (statuses[result.status] ?? 0) + 1
      if (result.status >= 200 && result.status < 300) c.ok2xx++
      else c.non2xx++
      const check = checkHostAnswer(
        { status: result.status, headers: result.headers, body: result.body },
        options.format,
        cls,
      )
      if (!check.conforming) c.nonConforming++
      const ack = cls === 'cutoff' ? check.cutOffResult : check.acknowledgement
      if (ack === '1') c.ack1++
      else if (ack === '0') c.ack0++
    })
    pending.add(sent)
    void sent.then(() => pending.delete(sent))
  }
  await Promise.all(pending)
  clearInterval(progress)
  agent?.destroy()

  return {
    target: options.target.href,
    scenario: options.scenario,
    format: options.format,
    newConnectionPerMessage: !options.reuseConnections,
    rate: options.rate,
    durationS: options.durationS,
    budgetMs: options.budgetMs,
    latency: summarise(latencies, options.budgetMs),
    byClass,
    errors,
    statuses,
    skipped,
  }
}

type SendResult =
  | {
      latencyMs: number
      status: number
      headers: Record<string, string | string[] | undefined>
      body: Buffer
    }
  | { latencyMs: number; error: string }

function send(
  options: SimulationOptions,
  tls: RequestOptions,
  agent: Agent | undefined,
  body: string,
  scenario: Parameters<typeof soapActionOf>[0],
  due: number,
): Promise<SendResult> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = {
      'content-type': contentTypeOf(options.format),
      'content-length': Buffer.byteLength(body),
    }
    if (options.format === 'xml') headers.soapaction = soapActionOf(scenario)
    const req = request(
      options.target,
      { method: 'POST', headers, ...tls, agent: agent ?? false, timeout: options.timeoutMs },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () =>
          resolve({
            latencyMs: performance.now() - due,
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        )
        res.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ latencyMs: performance.now() - due, error: error.code ?? 'ERROR' }),
        )
      },
    )
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })))
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ latencyMs: performance.now() - due, error: error.code ?? 'ERROR' }),
    )
    req.end(body)
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function sumValues(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0)
}
