/**
 * Sends Thredd-like EHI traffic to a target, open loop: message i is due at start + i/rate, is
 * sent when due whatever the earlier ones are doing, and its latency is measured from when it was
 * due, not from when it was sent, so a slow target cannot hide its queueing (no coordinated
 * omission). By default each message opens a new TLS connection, as Thredd does.
 *
 * As Thredd does (thredd-behaviour.ts): each request carries application/xml (or
 * application/json), a soapaction and a traceparent; the client gives up at the budget and
 * closes the connection (a later answer counts as a timeout); an acknowledgement-type message
 * that got no usable Acknowledgement 1 is resent with the same TXn_ID and SendingAttemptCount+1
 * (every 2 minutes, 5 times, compressed by the caller's schedule); a decision that got no usable
 * decision is followed by Thredd's follow-up advice for the mode. The run ends when every
 * message, resend and follow-up is done.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createSecureContext, type SecureContext } from 'node:tls'
import { Agent, request, type RequestOptions } from 'node:https'
import { checkHostAnswer, type AnswerCheck } from '../../plane/ehi/check-host-answer.ts'
import { classifyEhiMessage, type EhiMode } from '../../plane/ehi/classify-ehi-message.ts'
import type { EhiFormat, MessageClass } from '../../plane/ehi/ehi-message.ts'
import { parseEhiMessage } from '../../plane/ehi/parse-ehi-message.ts'
import { buildMessage, contentTypeOf, soapActionOf, type Scenario } from '../messages/synthetic-messages.ts'
import { summarise, type LatencySummary } from './rules/latency-summary.ts'
import { idsAt, scenarioAt, type SimulationScenario } from './rules/simulation-plan.ts'
import {
  firstAttemptFields,
  nextStep,
  THREDD_RESEND_EVERY_MS,
  THREDD_RESEND_TIMES,
  traceparent,
  type ExchangeOutcome,
} from './rules/thredd-behaviour.ts'

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
  /** Thredd's budget: an answer later than this (from the due time) is over budget. */
  budgetMs: number
  /** When the client gives up on an exchange and closes it (from its send): the budget by default. */
  timeoutMs?: number | undefined
  /** The programme's EHI mode as Thredd applies it (first attempts and follow-ups); 1 by default. */
  mode?: EhiMode | undefined
  /** Thredd's resend interval and count (2 minutes, 5 times by default; 0 times: no resends). */
  resendEveryMs?: number | undefined
  resendTimes?: number | undefined
  /** Send Thredd's follow-up advice after a decision the host missed (true by default). */
  followUps?: boolean | undefined
  onProgress?: (line: string) => void
}

export interface ClassCounts {
  /** Messages sent for the first time (follow-ups included, under their own class). */
  sent: number
  /** Resends of those messages. */
  resent: number
  /** Exchanges with no answer within the give-up time (a late answer is not read). */
  timeouts: number
  ok2xx: number
  non2xx: number
  ack1: number
  ack0: number
  nonConforming: number
  /** Exchanges with no HTTP answer (connection refused or reset, TLS failure). */
  errors: number
  /** Messages that never got a usable Acknowledgement 1, resends included (decisions: a decision). */
  unacknowledged: number
}

export interface SimulationReport {
  target: string
  scenario: SimulationScenario
  format: EhiFormat
  mode: EhiMode
  newConnectionPerMessage: boolean
  rate: number
  durationS: number
  budgetMs: number
  timeoutMs: number
  resendEveryMs: number
  resendTimes: number
  latency: LatencySummary
  byClass: Partial<Record<MessageClass, ClassCounts>>
  /** Follow-up advices sent after decisions the host missed. */
  followUps: number
  errors: Record<string, number>
  statuses: Record<string, number>
  /** Messages not sent because too many were still open (the target is far behind). */
  skipped: number
}

const PARSE_LIMITS = { maxDepth: 16, maxElements: 5000, maxAttributes: 64 }
const MAX_IN_FLIGHT = 2000

interface Outgoing {
  scenario: Scenario
  overrides: Record<string, string>
  resendsLeft: number
  /** A resend of a message already counted as sent. */
  resend: boolean
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const total = Math.max(1, Math.round(options.rate * options.durationS))
  const interval = 1000 / options.rate
  const runId = Math.floor(Date.now() / 1000) % 100_000
  const mode = options.mode ?? 1
  const timeoutMs = options.timeoutMs ?? options.budgetMs
  const resendEveryMs = options.resendEveryMs ?? THREDD_RESEND_EVERY_MS
  const resendTimes = options.resendTimes ?? THREDD_RESEND_TIMES
  const followUps = options.followUps ?? true
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
  let followUpsSent = 0
  const pending = new Set<Promise<void>>()
  const track = (work: Promise<void>) => {
    pending.add(work)
    void work.finally(() => pending.delete(work))
  }

  const counts = (cls: MessageClass) =>
    (byClass[cls] ??= {
      sent: 0,
      resent: 0,
      timeouts: 0,
      ok2xx: 0,
      non2xx: 0,
      ack1: 0,
      ack0: 0,
      nonConforming: 0,
      errors: 0,
      unacknowledged: 0,
    })

  /** Sends one message when due, records the exchange, and does what Thredd does next. */
  const deliver = async (message: Outgoing, due: number): Promise<void> => {
    const wait = due - performance.now()
    if (wait > 1) await sleep(wait)
    const body = buildMessage(message.scenario, options.format, message.overrides)
    const parsed = parseEhiMessage(Buffer.from(body), contentTypeOf(options.format), PARSE_LIMITS)
    const cls: MessageClass = parsed.ok ? classifyEhiMessage(parsed.message, mode) : 'other'
    const c = counts(cls)
    if (message.resend) c.resent++
    else c.sent++
    inFlight++
    const result = await send(options, tls, agent, body, message.scenario, due, timeoutMs)
    inFlight--
    done++
    latencies.push(result.latencyMs)
    const outcome: ExchangeOutcome = { timedOut: false, error: false }
    if ('error' in result) {
      if (result.error === 'TIMEOUT') {
        c.timeouts++
        outcome.timedOut = true
      } else {
        c.errors++
        outcome.error = true
        errors[result.error] = (errors[result.error] ?? 0) + 1
      }
    } else {
      statuses[result.status] = (statuses[result.status] ?? 0) + 1
      if (result.status >= 200 && result.status < 300) c.ok2xx++
      else c.non2xx++
      const check: AnswerCheck = checkHostAnswer(
        { status: result.status, headers: result.headers, body: result.body },
        options.format,
        cls,
      )
      if (!check.conforming) c.nonConforming++
      const ack = cls === 'cutoff' ? check.cutOffResult : check.acknowledgement
      if (ack === '1') c.ack1++
      else if (ack === '0') c.ack0++
      outcome.status = result.status
      outcome.check = check
    }
    const attempt = Number(message.overrides.SendingAttemptCount ?? 0) || 0
    const next = nextStep(cls, mode, outcome, attempt, message.resendsLeft)
    if (next.kind === 'done') {
      if (!next.acknowledged) c.unacknowledged++
    } else if (next.kind === 'resend') {
      track(
        deliver(
          {
            ...message,
            overrides: { ...message.overrides, SendingAttemptCount: String(next.sendingAttemptCount) },
            resendsLeft: message.resendsLeft - 1,
            resend: true,
          },
          performance.now() + resendEveryMs,
        ),
      )
    } else if (followUps) {
      // Thredd decided (or declined) itself: it tells the host at once, same TXn_ID and MTID.
      followUpsSent++
      track(
        deliver(
          {
            ...message,
            overrides: { ...message.overrides, ...next.fields },
            resendsLeft: resendTimes,
            resend: false,
          },
          performance.now(),
        ),
      )
    }
  }

  const start = performance.now()
  const onProgress = options.onProgress
  // Only with a reader: the summary sorts every latency so far.
  const progress = setInterval(() => {
    if (!onProgress) return
    const sorted = summarise(latencies, options.budgetMs)
    onProgress(
      `t=${((performance.now() - start) / 1000).toFixed(0)}s sent=${done + inFlight} done=${done} open=${inFlight} waiting=${pending.size - inFlight} p99=${sorted.p99.toFixed(1)}ms errors=${sumValues(errors)}`,
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
    track(
      deliver(
        {
          scenario,
          overrides: { ...firstAttemptFieldsFor(scenario, mode), ...idsAt(runId, i, scenario) },
          resendsLeft: resendTimes,
          resend: false,
        },
        due,
      ),
    )
  }
  // Resends and follow-ups add work while the earlier work finishes.
  while (pending.size > 0) await Promise.all(pending)
  clearInterval(progress)
  agent?.destroy()

  return {
    target: options.target.href,
    scenario: options.scenario,
    format: options.format,
    mode,
    newConnectionPerMessage: !options.reuseConnections,
    rate: options.rate,
    durationS: options.durationS,
    budgetMs: options.budgetMs,
    timeoutMs,
    resendEveryMs,
    resendTimes,
    latency: summarise(latencies, options.budgetMs),
    byClass,
    followUps: followUpsSent,
    errors,
    statuses,
    skipped,
  }
}

/** The mode's first-attempt fields apply to the authorisation requests only. */
function firstAttemptFieldsFor(scenario: Scenario, mode: EhiMode): Record<string, string> {
  return scenario === 'auth' || scenario === 'auth_visa' || scenario === 'auth_sms'
    ? firstAttemptFields(mode)
    : {}
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
  scenario: Scenario,
  due: number,
  timeoutMs: number,
): Promise<SendResult> {
  return new Promise((resolve) => {
    let settled = false
    const finish = (result: SendResult) => {
      if (settled) return
      settled = true
      clearTimeout(giveUp)
      resolve(result)
    }
    const headers: Record<string, string | number> = {
      'content-type': contentTypeOf(options.format),
      'content-length': Buffer.byteLength(body),
      traceparent: traceparent((bytes) => randomBytes(bytes).toString('hex')),
    }
    if (options.format === 'xml') headers.soapaction = soapActionOf(scenario)
    const req = request(options.target, { method: 'POST', headers, ...tls, agent: agent ?? false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        finish({
          latencyMs: performance.now() - due,
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      )
      res.on('error', (error: NodeJS.ErrnoException) =>
        finish({ latencyMs: performance.now() - due, error: error.code ?? 'ERROR' }),
      )
    })
    // Thredd gives up at its budget and closes: whatever comes later is never read.
    const giveUp = setTimeout(() => {
      finish({ latencyMs: performance.now() - due, error: 'TIMEOUT' })
      req.destroy()
    }, timeoutMs)
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({ latencyMs: performance.now() - due, error: error.code ?? 'ERROR' }),
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
