/**
 * Hardening, part 3a: the internal host fails. For each fault: what the client sees (by message
 * class), that no message is lost or acknowledged by the gateway when the host did not
 * acknowledge it (client answers audited against the host's own record), and that the gateway
 * recovers by itself once the host behaves again (no reload, no restart).
 */
import { afterEach, describe, expect, inject, it } from 'vitest'
import { startHarness, type Harness } from '../support/harness.ts'
import { sleep } from '../support/wait.ts'
import { startFaultHost, type FaultHost, type FaultMode } from './fault-host.ts'
import { hardeningCase, type CaseContext } from './recorder.ts'
import { audit, describeAudit, sendMany, type ClientAnswer } from './traffic.ts'

const pki = inject('pki')
const DEADLINE_MS = 300
let h: Harness | undefined
let host: FaultHost | undefined

afterEach(async () => {
  await h?.close()
  await host?.close()
  h = undefined
  host = undefined
})

async function gatewayFor(faultHost: FaultHost, admin: Record<string, unknown> = {}): Promise<Harness> {
  return startHarness(pki, {
    upstream: { url: faultHost.url, connectTimeoutMs: 200 },
    ehi: {
      threddBudgetMs: 1000,
      deadlineMs: Object.fromEntries(
        ['decision', 'reversal', 'advice', 'financial', 'cutoff', 'other'].map((c) => [c, DEADLINE_MS]),
      ),
    },
    admin: { port: 0, hostProbeIntervalMs: 100, ...admin },
  })
}

/** The class's safe answer when the host gave none (README: "When the host gives no usable answer"). */
function isSafeAnswer(a: ClientAnswer): boolean {
  if (a.status === 0) return false
  if (a.cls === 'decision') return a.status >= 500 && a.ack === undefined && a.responseStatus === undefined
  if (a.cls === 'cutoff') return a.status === 200 && a.ack === '0' && a.synthesized
  if (a.cls === 'reversal')
    return a.status === 200 && a.ack === '0' && a.responseStatus === '96' && a.synthesized
  return a.status === 200 && a.ack === '0' && a.synthesized
}

/** The host's own answer, passed through. */
const isHostAnswer = (a: ClientAnswer) =>
  a.status === 200 && !a.synthesized && a.ack === '1' && a.hostId === a.id

/**
 * Runs a batch against a host in `mode`, then switches the host back to approve and checks the
 * gateway serves normally again. Records both halves in the observation.
 */
async function faultCase(
  c: CaseContext,
  mode: FaultMode,
  expectReason: string | string[],
  options: { count?: number; concurrency?: number; maxLatencyMs?: number } = {},
) {
  host = await startFaultHost({ mode })
  h = await gatewayFor(host)
  const count = options.count ?? 20
  const during = await sendMany(pki, h.port, count, { concurrency: options.concurrency ?? 4 })
  const duringAudit = audit(during, host.records)
  const reasons = new Set(during.map((a) => a.reason))
  const slowest = Math.max(...during.map((a) => a.latencyMs))
  host.mode = 'approve'
  const after = await sendMany(pki, h.port, 10, { concurrency: 2 })
  const afterAudit = audit(after, host.records)
  const recovered = after.filter(isHostAnswer).length
  c.observe(
    `during: ${describeAudit(duringAudit)}; slowest ${Math.round(slowest)} ms | after the host recovered: ${recovered}/10 host answers, ${describeAudit(afterAudit)}`,
  )
  expect(during.filter((a) => !isSafeAnswer(a))).toEqual([])
  for (const reason of reasons) expect([expectReason].flat()).toContain(reason)
  expect(duringAudit.falseAcks).toEqual([])
  expect(duringAudit.crossed).toEqual([])
  if (options.maxLatencyMs) expect(slowest).toBeLessThan(options.maxLatencyMs)
  expect(recovered).toBe(10)
  expect(afterAudit.falseAcks).toEqual([])
  expect(afterAudit.crossed).toEqual([])
}

const SAFE =
  'each message gets its class safe answer (decision 502/504 without a body, reversal 96/Ack 0, others Ack 0, Cut_Off Cut_OffResult 0), no Ack 1 the host did not give; the gateway serves normally again as soon as the host does'

describe('host faults', () => {
  it(
    'host refusing connections',
    hardeningCase(
      'fault',
      'internal host refusing connections',
      `${SAFE}; reason host_unreachable`,
      async (c) => {
        host = await startFaultHost({ listen: false })
        h = await gatewayFor(host)
        const during = await sendMany(pki, h.port, 20)
        const a = audit(during, host.records)
        await host.start()
        const after = await sendMany(pki, h.port, 10, { concurrency: 2 })
        const recovered = after.filter(isHostAnswer).length
        c.observe(`during: ${describeAudit(a)} | host back: ${recovered}/10 host answers`)
        expect(during.filter((x) => !isSafeAnswer(x))).toEqual([])
        expect(new Set(during.map((x) => x.reason))).toEqual(new Set(['host_unreachable']))
        expect(a.falseAcks).toEqual([])
        expect(recovered).toBe(10)
      },
    ),
  )

  it(
    'host resetting mid-answer',
    hardeningCase(
      'fault',
      'internal host resetting the connection mid-answer',
      `${SAFE}; reason host_bad_response`,
      (c) => faultCase(c, 'reset_mid_answer', 'host_bad_response'),
    ),
  )

  it(
    'host stalling past the deadline',
    hardeningCase(
      'fault',
      `internal host stalling past the deadline (${DEADLINE_MS} ms)`,
      `${SAFE}; reason host_timeout, answered within the deadline plus a margin, never held`,
      (c) =>
        faultCase(c, 'stall', 'host_timeout', {
          count: 40,
          concurrency: 8,
          maxLatencyMs: DEADLINE_MS + 1200,
        }),
    ),
  )

  it(
    'host answering garbage',
    hardeningCase(
      'fault',
      'internal host answering bytes that are not HTTP',
      `${SAFE}; reason host_bad_response`,
      (c) => faultCase(c, 'garbage', 'host_bad_response'),
    ),
  )

  it(
    'host declaring a longer Content-Length',
    hardeningCase(
      'fault',
      'internal host declaring a Content-Length longer than its body, then closing',
      `${SAFE}; reason host_bad_response`,
      (c) => faultCase(c, 'long_content_length', 'host_bad_response'),
    ),
  )

  it(
    'host declaring a shorter Content-Length',
    hardeningCase(
      'fault',
      'internal host declaring a Content-Length shorter than its body (junk left on a kept-alive connection)',
      'the declared (truncated) answer is passed through and counted non-conforming, or a safe answer; never another message’s answer (no desynchronised pool connection), no Ack 1 the host did not give; normal service after',
      async (c) => {
        host = await startFaultHost({ mode: 'short_content_length' })
        h = await gatewayFor(host)
        const during = await sendMany(pki, h.port, 20, { concurrency: 1 })
        const a = audit(during, host.records)
        const nonConforming = await h.counter('ehi_gateway_host_answers_nonconforming_total')
        host.mode = 'approve'
        const after = await sendMany(pki, h.port, 10, { concurrency: 2 })
        const recovered = after.filter(isHostAnswer).length
        c.observe(
          `during: ${describeAudit(a)}; non-conforming counted ${nonConforming} | after: ${recovered}/10 host answers, crossed ${audit(after, host.records).crossed.length}`,
        )
        expect(during.filter((x) => x.status === 0)).toEqual([])
        expect(a.crossed).toEqual([])
        expect(a.falseAcks).toEqual([])
        expect(recovered).toBe(10)
      },
    ),
  )

  it(
    'host slowly recovering',
    hardeningCase(
      'fault',
      'internal host slowly recovering (down 1.5 s, then answering past the deadline 1.5 s, then normal)',
      'every message answered (safe answers while down or slow, no Ack 1 the host did not give); back to host answers within a second of the host recovering, readiness back to ready, without any operator action',
      async (c) => {
        host = await startFaultHost({ listen: false })
        // Readiness follows the host only when asked to (admin.readinessChecksHost).
        h = await gatewayFor(host, { readinessChecksHost: true })
        const readyz = async () => (await fetch(`http://127.0.0.1:${h!.gateway.adminPort}/readyz`)).status
        let stop = false
        const traffic = sendMany(pki, h.port, 10_000, { intervalMs: 40, stop: () => stop })
        await sleep(1500)
        const readyWhileDown = await readyz()
        await host.start()
        host.delayMs = DEADLINE_MS + 200
        await sleep(1500)
        host.delayMs = 0
        const recoveredAt = performance.now()
        await sleep(2000)
        stop = true
        const answers = await traffic
        const a = audit(answers, host.records)
        const readyAfter = await readyz()
        // Every message sent once the host was normal again got the host's answer.
        const sentAfter = answers.filter((x) => x.sentAt >= recoveredAt)
        const firstHostAnswer = sentAfter.find(isHostAnswer)
        const tail = answers.slice(-20)
        c.observe(
          `${answers.length} messages: ${describeAudit(a)}; readyz while down ${readyWhileDown}, after ${readyAfter}; sent after recovery: ${sentAfter.filter(isHostAnswer).length}/${sentAfter.length} host answers, the first ${firstHostAnswer ? `${Math.round(firstHostAnswer.sentAt - recoveredAt)} ms after` : 'never'}`,
        )
        expect(answers.filter((x) => x.status === 0)).toEqual([])
        expect(answers.filter((x) => !isHostAnswer(x) && !isSafeAnswer(x))).toEqual([])
        expect(a.falseAcks).toEqual([])
        expect(a.crossed).toEqual([])
        expect(readyWhileDown).toBe(503)
        expect(readyAfter).toBe(200)
        expect(tail.every(isHostAnswer)).toBe(true)
        expect(firstHostAnswer && firstHostAnswer.sentAt - recoveredAt).toBeLessThan(1000)
      },
    ),
    30_000,
  )
})
