/**
 * The EHI route as a function: a request value in, an answer value and the record's decision
 * out. Each row gives the host's behaviour (its answer, a failure, or nothing because the
 * deadline had passed) or a body the parser refuses, and says exactly what is answered and
 * recorded, and whether the host was called.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Registry } from 'prom-client'
import { describe, expect, inject, it } from 'vitest'
import { validateConfig } from '../../../../src/config/load-config.ts'
import { getTransactionAnswer, cutOffAnswer } from '../../../../src/plane/ehi/ehi-answers.ts'
import type { LookupResult } from '../../../../src/ledger/ledger.ts'
import { routeEhiMessage, type EhiRequest, type RouteDeps } from '../../../../src/plane/http/ehi-route.ts'
import { toPeerIdentity } from '../../../../src/plane/identity/peer-identity.ts'
import type { AllowedPeer } from '../../../../src/plane/identity/peer-evaluator.ts'
import type { HostClient, HostResult } from '../../../../src/plane/io/host-client.ts'
import { createMetrics } from '../../../../src/observability/metrics.ts'
import { compileRuntime } from '../../../../src/runtime/compile-runtime.ts'
import {
  buildMessage,
  contentTypeOf,
  soapActionOf,
  type Scenario,
} from '../../../../src/tools/messages/synthetic-messages.ts'
import { baseConfig } from '../../../support/harness.ts'

const pki = inject('pki')

function runtime(ehi: Record<string, unknown> = {}) {
  const raw = baseConfig(pki, 'http://127.0.0.1:1/ehi') as Record<string, Record<string, unknown>>
  const { config, issues } = validateConfig({ ...raw, ehi: { ...raw.ehi, ...ehi } })
  expect(issues).toEqual([])
  return compileRuntime(config)
}

const identity = toPeerIdentity(new X509Certificate(readFileSync(pki.clients.good.cert)))
const peer: AllowedPeer = {
  identity,
  headers: { 'x-ehi-client-verified': 'SUCCESS' },
  clientCertHeaders: () => ({}),
  issuer: undefined,
}

/** A host that answers `result` and remembers what it was sent. */
function host(result: HostResult | (() => never)) {
  const calls: { headers: Record<string, string>; deadlineMs: number }[] = []
  const client: HostClient = {
    url: new URL('http://127.0.0.1:1/ehi'),
    async post(_body, headers, deadlineMs) {
      calls.push({ headers, deadlineMs })
      return typeof result === 'function' ? result() : result
    },
    async close() {},
  }
  return { client, calls }
}

const hostAnswer = (body: string, contentType = 'application/xml'): HostResult => ({
  ok: true,
  status: 200,
  headers: { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) },
  body: Buffer.from(body),
})

function request(scenario: Scenario, format: 'xml' | 'json' = 'xml', overrides: Partial<EhiRequest> = {}) {
  return {
    id: 'req-1',
    body: Buffer.from(buildMessage(scenario, format)),
    headers: {
      'content-type': contentTypeOf(format),
      ...(format === 'xml' ? { soapaction: soapActionOf(scenario) } : {}),
    },
    peer,
    clientAddress: '::ffff:192.0.2.7',
    since: performance.now(),
    ...overrides,
  } satisfies EhiRequest
}

/** No ledger (ledger.url unset), unless a row gives the ledger's answer to the lookup. */
function deps(rt: ReturnType<typeof runtime>, client: HostClient, seen?: LookupResult): RouteDeps {
  return {
    runtime: rt,
    host: client,
    metrics: createMetrics(new Registry()),
    ledger: {
      enabled: seen !== undefined,
      storesAnswers: false,
      lookup: async () => seen ?? { found: 'unknown', resend: false, unknownReason: 'off' },
    },
  }
}

const approve = getTransactionAnswer({ Acknowledgement: '1', Responsestatus: '00' }, 'xml')

describe('routeEhiMessage', () => {
  it('forwards a decision and returns the host answer unchanged, recorded as host_answer', async () => {
    const h = host(hostAnswer(approve))
    const result = await routeEhiMessage(request('auth'), deps(runtime(), h.client))
    expect(h.calls).toHaveLength(1)
    expect(h.calls[0]!.headers['x-forwarded-for']).toBe('192.0.2.7')
    expect(h.calls[0]!.headers['x-request-id']).toBe('req-1')
    expect(result.answer).toMatchObject({ status: 200, close: false, body: Buffer.from(approve) })
    expect(result.answer.errorReason).toBeUndefined()
    expect(result.record).toMatchObject({
      outcome: 'host_answer',
      messageClass: 'decision',
      answer: {
        status: 200,
        synthesized: false,
        Acknowledgement: '1',
        Responsestatus: '00',
        conforming: true,
      },
    })
    expect(result.record.reason).toBeUndefined()
  })

  it.each([
    // class, the host's failure, the policy's answer: status (a reason answer) or a synthesized EHI answer
    ['auth', 'host_timeout', { status: 504, errorReason: 'host_timeout', outcome: 'host_failure' }],
    ['auth', 'host_unreachable', { status: 502, errorReason: 'host_unreachable', outcome: 'host_failure' }],
    ['advice', 'host_timeout', { status: 200, synthesized: 'true', outcome: 'synthesized' }],
    ['reversal', 'host_bad_response', { status: 200, synthesized: 'true', outcome: 'synthesized' }],
    ['cutoff', 'host_error', { status: 200, synthesized: 'true', outcome: 'synthesized' }],
  ] as const)('%s with %s: %j', async (scenario, failure, want) => {
    const h = host({ ok: false, reason: failure, code: 'E' })
    const result = await routeEhiMessage(request(scenario), deps(runtime(), h.client))
    expect(h.calls).toHaveLength(1)
    expect(result.answer.status).toBe(want.status)
    expect(result.record).toMatchObject({ outcome: want.outcome, reason: failure })
    expect(result.record.hostError).toEqual({ reason: failure, code: 'E' })
    if ('errorReason' in want) {
      expect(result.answer.errorReason).toBe(want.errorReason)
      expect(result.answer.headers['x-ehi-gateway-reason']).toBe(failure)
    } else {
      expect(result.answer.errorReason).toBeUndefined()
      expect(result.answer.headers['x-ehi-gateway-synthesized']).toBe(want.synthesized)
      // Thredd's HTTP message format: the request's soapaction on an XML answer.
      expect(result.answer.headers.soapaction).toBe(soapActionOf(scenario))
      // Never an acknowledgement the host did not give.
      expect(String(result.answer.body)).not.toMatch(/<(Acknowledgement|Cut_OffResult)>1</)
    }
  })

  it('does not forward a message whose deadline passed; answers as the class allows', async () => {
    const h = host(hostAnswer(approve))
    const result = await routeEhiMessage(
      request('advice', 'xml', { since: performance.now() - 10_000 }),
      deps(runtime(), h.client),
    )
    expect(h.calls).toHaveLength(0)
    expect(result.record).toMatchObject({
      outcome: 'synthesized',
      reason: 'deadline_passed',
      messageClass: 'advice',
    })
    expect(result.record.hostMs).toBeUndefined()
  })

  it('gives the host what is left of the class deadline, counted from `since`', async () => {
    const h = host(hostAnswer(approve))
    await routeEhiMessage(
      request('auth', 'xml', { since: performance.now() - 1000 }),
      deps(runtime(), h.client),
    )
    expect(h.calls[0]!.deadlineMs).toBeGreaterThan(3900)
    expect(h.calls[0]!.deadlineMs).toBeLessThanOrEqual(4000)
  })

  it.each([
    ['not XML at all', Buffer.from('hello'), 'application/xml', 'ehi_malformed'],
    [
      'a media type the gateway does not take',
      Buffer.from(buildMessage('auth', 'xml')),
      'text/plain',
      'ehi_unsupported_media_type',
    ],
  ])('refuses %s, rejected with its reason and never forwarded', async (_name, body, contentType, reason) => {
    const h = host(hostAnswer(approve))
    const result = await routeEhiMessage(
      request('auth', 'xml', { body, headers: { 'content-type': contentType } }),
      deps(runtime(), h.client),
    )
    expect(h.calls).toHaveLength(0)
    expect(result.answer).toMatchObject({ status: 400, errorReason: reason, close: false })
    expect(result.record).toMatchObject({ outcome: 'rejected', reason })
    expect(result.record.detail).toBeDefined()
  })

  it('replaces a non-conforming host answer when ehi.hostAnswerCheck is replace, keeping what the host said', async () => {
    const h = host(hostAnswer('<not-an-ehi-answer/>'))
    const result = await routeEhiMessage(
      request('advice'),
      deps(runtime({ hostAnswerCheck: 'replace' }), h.client),
    )
    expect(result.record).toMatchObject({ outcome: 'synthesized', reason: 'host_nonconforming' })
    expect(result.record.hostError?.reason).toBe('host_nonconforming')
    expect(result.answer.headers['x-ehi-gateway-synthesized']).toBe('true')
  })

  it('passes a non-conforming host answer on under the default policy, recorded as such', async () => {
    const h = host(hostAnswer('<not-an-ehi-answer/>'))
    const result = await routeEhiMessage(request('advice'), deps(runtime(), h.client))
    expect(result.record).toMatchObject({ outcome: 'host_answer', answer: { conforming: false } })
    expect(String(result.answer.body)).toBe('<not-an-ehi-answer/>')
  })

  it("answers an exact resend the host acknowledged with the host's stored answer, without forwarding it", async () => {
    const h = host(hostAnswer(approve))
    const stored = getTransactionAnswer({ Acknowledgement: '1' }, 'xml')
    const seen: LookupResult = {
      found: 'seen',
      resend: true,
      first: {
        requestId: 'first-1',
        arrivedAt: 0,
        answer: {
          outcome: 'host_answer',
          status: 200,
          acknowledgement: '1',
          responseStatus: null,
          cutOffResult: null,
          synthesized: false,
        },
      },
      replay: {
        requestId: 'first-1',
        status: 200,
        contentType: 'application/xml',
        soapaction: null,
        body: Buffer.from(stored),
      },
    }
    const result = await routeEhiMessage(request('advice'), deps(runtime(), h.client, seen))
    expect(h.calls).toHaveLength(0)
    expect(String(result.answer.body)).toBe(stored)
    expect(result.answer.headers['x-ehi-gateway-replayed-from']).toBe('first-1')
    expect(result.record).toMatchObject({
      outcome: 'replayed',
      answer: { Acknowledgement: '1', synthesized: false },
    })
  })

  it('tells the host which request a resend repeats and what Thredd got for it', async () => {
    const h = host(hostAnswer(approve))
    const seen: LookupResult = {
      found: 'seen',
      resend: true,
      first: {
        requestId: 'first-2',
        arrivedAt: 0,
        answer: {
          outcome: 'host_failure',
          status: 504,
          acknowledgement: null,
          responseStatus: null,
          cutOffResult: null,
          synthesized: false,
        },
      },
    }
    const result = await routeEhiMessage(request('advice'), deps(runtime(), h.client, seen))
    expect(h.calls[0]!.headers['x-ehi-resend-of']).toBe('first-2')
    expect(h.calls[0]!.headers['x-ehi-resend-first-answer']).toBe('host_failure status=504')
    expect(result.record.ledger).toMatchObject({ resend: true, resendOf: 'first-2' })
  })

  it('sends no resend header for a first sight, or when the ledger is off', async () => {
    const h = host(hostAnswer(approve))
    await routeEhiMessage(request('advice'), deps(runtime(), h.client, { found: 'new', resend: false }))
    await routeEhiMessage(request('advice'), deps(runtime(), h.client))
    expect(h.calls.map((c) => c.headers['x-ehi-resend-of'])).toEqual([undefined, undefined])
  })

  it('answers a JSON Cut_Off the host failed with its JSON failure answer', async () => {
    const h = host({ ok: false, reason: 'host_timeout', code: undefined })
    const result = await routeEhiMessage(request('cutoff', 'json'), deps(runtime(), h.client))
    expect(result.answer.headers['content-type']).toContain('application/json')
    expect(result.answer.headers.soapaction).toBeUndefined()
    expect(JSON.parse(String(result.answer.body))).toEqual({ Acknowledgement: '0' })
    expect(cutOffAnswer('0', 'json')).toBe(String(result.answer.body))
  })
})
