/**
 * Thredd-like client traffic for the fault cases, and the audit that compares what the clients
 * were told with what the host actually answered: no Acknowledgement 1 (or Cut_OffResult 1, or
 * approval) the host did not give, no answer that belongs to another message, no message lost.
 */
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { classifyEhiMessage } from '../../src/plane/ehi/classify-ehi-message.ts'
import { parseEhiMessage } from '../../src/plane/ehi/parse-ehi-message.ts'
import { buildMessage, contentTypeOf, type Scenario } from '../../src/tools/messages/synthetic-messages.ts'
import type { TestPki } from '../support/test-pki.ts'
import type { HostRecord } from './fault-host.ts'

/** One of each class, in both formats. */
const CYCLE: [Scenario, 'xml' | 'json'][] = [
  ['auth', 'xml'],
  ['advice', 'json'],
  ['reversal', 'xml'],
  ['presentment', 'xml'],
  ['auth', 'json'],
  ['load', 'xml'],
  ['cutoff', 'xml'],
  ['reversal', 'json'],
  ['visa_presentment', 'json'],
  ['auth_sms', 'xml'],
]

export interface ClientAnswer {
  id: string
  scenario: Scenario
  cls: string
  /** HTTP status, or 0 when the client got no HTTP answer. */
  status: number
  error: string | undefined
  /** Acknowledgement (Cut_OffResult for a Cut_Off) in the answer body. */
  ack: string | undefined
  responseStatus: string | undefined
  reason: string | undefined
  synthesized: boolean
  /** The message id the host echoed, when the answer came from the host. */
  hostId: string | undefined
  latencyMs: number
  /** performance.now() when the message was sent. */
  sentAt: number
}

let sequence = 0

/** A unique id for each message of this test process. */
function nextId(): string {
  sequence++
  return `7${String(process.pid % 100_000).padStart(5, '0')}${String(sequence).padStart(8, '0')}`
}

export function messageAt(index: number): {
  id: string
  scenario: Scenario
  format: 'xml' | 'json'
  body: string
  cls: string
} {
  const [scenario, format] = CYCLE[index % CYCLE.length]!
  const id = nextId()
  const body = buildMessage(scenario, format, scenario === 'cutoff' ? { CutoffID: id } : { TXn_ID: id })
  const parsed = parseEhiMessage(Buffer.from(body), contentTypeOf(format), {
    maxDepth: 32,
    maxElements: 10_000,
    maxAttributes: 64,
  })
  const cls = parsed.ok ? classifyEhiMessage(parsed.message, 1) : 'unclassified'
  return { id, scenario, format, body, cls }
}

/** Sends one message on a new TLS connection, as Thredd does. */
export function sendMessage(
  pki: TestPki,
  port: number,
  index: number,
  options: { timeoutMs?: number } = {},
): Promise<ClientAnswer> {
  const m = messageAt(index)
  const started = performance.now()
  return new Promise((resolve) => {
    const done = (fields: Partial<ClientAnswer>) =>
      resolve({
        id: m.id,
        scenario: m.scenario,
        cls: m.cls,
        status: 0,
        error: undefined,
        ack: undefined,
        responseStatus: undefined,
        reason: undefined,
        synthesized: false,
        hostId: undefined,
        latencyMs: performance.now() - started,
        sentAt: started,
        ...fields,
      })
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/ehi',
        method: 'POST',
        servername: 'localhost',
        ca: readFileSync(pki.files['server-root-ca.pem']!),
        cert: readFileSync(pki.clients.good.cert),
        key: readFileSync(pki.clients.good.key),
        agent: false,
        timeout: options.timeoutMs ?? 5000,
        headers: { 'content-type': contentTypeOf(m.format), 'content-length': Buffer.byteLength(m.body) },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          const value = (name: string) =>
            new RegExp(`<${name}>([^<]*)</${name}>|"${name}":"?([^",}]*)`).exec(text)?.slice(1).find(Boolean)
          done({
            status: res.statusCode ?? 0,
            ack: value(m.scenario === 'cutoff' ? 'Cut_OffResult' : 'Acknowledgement'),
            responseStatus: value('Responsestatus'),
            reason: res.headers['x-ehi-gateway-reason'] as string | undefined,
            synthesized: res.headers['x-ehi-gateway-synthesized'] === 'true',
            hostId: res.headers['x-host-txn-id'] as string | undefined,
          })
        })
      },
    )
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })),
    )
    req.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }))
    req.end(m.body)
  })
}

/**
 * Sends `count` messages, `concurrency` at a time (or paced at `intervalMs` when given), each on
 * its own connection.
 */
export async function sendMany(
  pki: TestPki,
  port: number,
  count: number,
  options: { concurrency?: number; intervalMs?: number; timeoutMs?: number; stop?: () => boolean } = {},
): Promise<ClientAnswer[]> {
  const answers: ClientAnswer[] = []
  if (options.intervalMs !== undefined) {
    const pending: Promise<void>[] = []
    for (let i = 0; i < count && !options.stop?.(); i++) {
      pending.push(sendMessage(pki, port, i, options).then((a) => void answers.push(a)))
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs))
    }
    await Promise.all(pending)
    return answers
  }
  let next = 0
  const worker = async () => {
    while (next < count && !options.stop?.()) {
      const index = next++
      answers.push(await sendMessage(pki, port, index, options))
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker))
  return answers
}

export interface Audit {
  answered: number
  noAnswer: number
  /** Client answers claiming an acknowledgement or approval the host did not give. */
  falseAcks: ClientAnswer[]
  /** Host answers that reached the client of another message. */
  crossed: ClientAnswer[]
  byOutcome: Record<string, number>
}

/** Compares what the clients were told with what the host completed. */
export function audit(answers: ClientAnswer[], records: HostRecord[]): Audit {
  const given = new Map<string, HostRecord[]>()
  for (const r of records) if (r.id) given.set(r.id, [...(given.get(r.id) ?? []), r])
  const falseAcks: ClientAnswer[] = []
  const crossed: ClientAnswer[] = []
  const byOutcome: Record<string, number> = {}
  for (const a of answers) {
    const key = a.error
      ? `error ${a.error}`
      : `${a.status}${a.reason ? ` ${a.reason}` : ''}${a.ack !== undefined ? ` ack${a.ack}` : ''}`
    byOutcome[key] = (byOutcome[key] ?? 0) + 1
    if (a.hostId !== undefined && a.hostId !== a.id) crossed.push(a)
    const host = (given.get(a.id) ?? []).filter((r) => r.completed)
    if (a.ack === '1' && !host.some((r) => r.ack === '1')) falseAcks.push(a)
    if (a.responseStatus === '00' && !host.some((r) => r.responseStatus === '00')) falseAcks.push(a)
  }
  return {
    answered: answers.filter((a) => a.status > 0).length,
    noAnswer: answers.filter((a) => a.status === 0).length,
    falseAcks,
    crossed,
    byOutcome,
  }
}

export function describeAudit(a: Audit): string {
  const outcomes = Object.entries(a.byOutcome)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${v}× ${k}`)
    .join(', ')
  return `${outcomes}; unanswered ${a.noAnswer}; acks the host did not give ${a.falseAcks.length}; answers crossed ${a.crossed.length}`
}
