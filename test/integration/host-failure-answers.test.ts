/**
 * When the host is down, stalls past the deadline or answers garbage, each class gets the answer
 * that keeps Thredd's guarantees: a decision a fast non-2xx (Thredd applies the mode's default),
 * an acknowledgement-type message Acknowledgement 0 (reversals 96) so Thredd resends, a Cut_Off
 * Cut_OffResult 0 and an error line. Never an approval, never Acknowledgement 1 the host did
 * not give.
 */
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  buildMessage,
  contentTypeOf,
  SCENARIOS,
  soapActionOf,
  type Scenario,
} from '../../src/tools/messages/synthetic-messages.ts'
import type { ReferenceBehaviour } from '../../src/tools/reference-host/reference-host.ts'
import { post, type PostResult } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')

/** In the default mode 1. */
const CLASS_OF: Record<Scenario, string> = {
  auth: 'decision',
  auth_visa: 'decision',
  auth_sms: 'decision',
  auth_followup: 'advice',
  stip_advice: 'advice',
  token_activation: 'advice',
  reversal: 'reversal',
  afd_reversal: 'reversal',
  advice: 'advice',
  presentment: 'financial',
  visa_presentment: 'financial',
  load: 'other',
  balance_adjustment: 'other',
  cutoff: 'cutoff',
}
const SOAPACTION = '"http://tempuri.org/IEndpointVersion52/GetTransaction"'

/** The Acknowledgement, Responsestatus and Cut_OffResult in an answer body, whatever its format. */
function answerValues(res: PostResult): Record<string, string> {
  const text = res.body.toString()
  const out: Record<string, string> = {}
  for (const name of ['Acknowledgement', 'Responsestatus', 'Cut_OffResult']) {
    const match = new RegExp(`<${name}>([^<]*)</${name}>|"${name}":"([^"]*)"`).exec(text)
    if (match) out[name] = match[1] ?? match[2]!
  }
  return out
}

function expectSafeAnswer(
  scenario: Scenario,
  res: PostResult,
  failureReason: string,
  format: 'xml' | 'json' = 'xml',
) {
  const values = answerValues(res)
  const cls = CLASS_OF[scenario]
  expect(res.headers['x-ehi-gateway-reason']).toBe(failureReason)
  if (cls === 'decision') {
    expect(res.status).toBeGreaterThanOrEqual(500)
    expect(values).toEqual({})
    return
  }
  expect(res.status).toBe(200)
  expect(res.headers['x-ehi-gateway-synthesized']).toBe('true')
  // Thredd's HTTP message format: application/xml (or application/json), and on XML the
  // request's soapaction.
  expect(res.headers['content-type']).toBe(format === 'xml' ? 'application/xml' : 'application/json')
  expect(res.headers.soapaction).toBe(format === 'xml' ? soapActionOf(scenario) : undefined)
  if (cls === 'cutoff') {
    // XML: Cut_OffResult 0; JSON: Thredd's JSON Cut_Off answer is an Acknowledgement.
    expect(values).toEqual(format === 'xml' ? { Cut_OffResult: '0' } : { Acknowledgement: '0' })
  } else if (cls === 'reversal') {
    expect(values).toEqual({ Responsestatus: '96', Acknowledgement: '0' })
  } else {
    expect(values).toEqual({ Acknowledgement: '0' })
  }
}

const matrix = SCENARIOS.flatMap((scenario) =>
  (['xml', 'json'] as const).map((format) => ({ scenario, format })),
)

/** As Thredd sends it: its Content-Type, and the soapaction of the root on XML. */
async function send(
  h: Harness,
  scenario: Scenario,
  format: 'xml' | 'json',
  overrides: Record<string, string> = {},
) {
  return post(pki, h.port, {
    client: pki.clients.good,
    body: buildMessage(scenario, format, overrides),
    headers: {
      'content-type': contentTypeOf(format),
      ...(format === 'xml' ? { soapaction: soapActionOf(scenario) } : {}),
    },
  })
}

describe('host down', () => {
  let h: Harness
  beforeAll(async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    await new Promise((resolve) => server.close(resolve))
    h = await startHarness(pki, { upstream: { url: `http://127.0.0.1:${port}/ehi` } })
  })
  afterAll(() => h.close())

  it.each(matrix)('$scenario in $format gets the safe answer', async ({ scenario, format }) => {
    expectSafeAnswer(scenario, await send(h, scenario, format), 'host_unreachable', format)
  })

  it('answers an XML message that came without a soapaction without one', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good, body: buildMessage('advice', 'xml') })
    expect(res.headers['x-ehi-gateway-synthesized']).toBe('true')
    expect(res.headers).not.toHaveProperty('soapaction')
  })

  it('logs a Cut_Off the host did not take as an error, and counts every synthesized answer', async () => {
    await send(h, 'cutoff', 'xml')
    const line = h.logs.findLast((l) => l.event === 'request')!
    expect(line).toMatchObject({
      level: 'error',
      outcome: 'synthesized',
      answer: { synthesized: true, Cut_OffResult: '0' },
    })
    expect(
      await h.counter('ehi_gateway_synthesized_answers_total', {
        class: 'cutoff',
        reason: 'host_unreachable',
      }),
    ).toBe(3)
    expect(await h.counter('ehi_gateway_synthesized_answers_total', { class: 'decision' })).toBe(0)
  })
})

describe.each<{ behaviour: ReferenceBehaviour; reason: string }>([
  { behaviour: 'stall', reason: 'host_timeout' },
  { behaviour: 'garbage', reason: 'host_bad_response' },
  { behaviour: 'reset', reason: 'host_bad_response' },
])('host that does "$behaviour"', ({ behaviour, reason }) => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness(pki, {
      ehi: {
        deadlineMs: { decision: 300, reversal: 300, advice: 300, financial: 300, cutoff: 300, other: 300 },
      },
    })
    h.host.behaviour = behaviour
  })
  afterAll(() => h.close())

  it.each(matrix)('$scenario in $format gets the safe answer', async ({ scenario, format }) => {
    const started = performance.now()
    expectSafeAnswer(scenario, await send(h, scenario, format), reason, format)
    // Never held past the deadline (plus the connection set-up it includes).
    expect(performance.now() - started).toBeLessThan(1500)
  })
})

describe('host answers but without the shape Thredd expects', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness(pki)
    h.host.behaviour = 'nonconforming'
  })
  afterAll(() => h.close())

  it('passes the answer through unchanged by default, and counts and logs the problems', async () => {
    const res = await send(h, 'advice', 'xml')
    expect(res.status).toBe(200)
    expect(res.body.toString()).toContain('<CurBalance>null</CurBalance>')
    const line = h.logs.findLast((l) => l.event === 'request')!
    expect(line).toMatchObject({
      level: 'warn',
      answer: {
        conforming: false,
        problems: expect.arrayContaining(['missing_acknowledgement', 'null_numeric']),
      },
    })
    expect(
      await h.counter('ehi_gateway_host_answers_nonconforming_total', {
        class: 'advice',
        problem: 'null_numeric',
      }),
    ).toBe(1)
  })
})

describe('hostAnswerCheck: replace', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness(pki, { ehi: { hostAnswerCheck: 'replace' } })
    h.host.behaviour = 'nonconforming'
  })
  afterAll(() => h.close())

  it('answers a non-conforming acknowledgement as if the host had failed', async () => {
    const res = await send(h, 'reversal', 'json')
    expectSafeAnswer('reversal', res, 'host_nonconforming', 'json')
  })
})

describe('a host that answers Acknowledgement 0 itself', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness(pki)
    h.host.behaviour = 'ack0'
  })
  afterAll(() => h.close())

  it.each(matrix.filter(({ scenario }) => CLASS_OF[scenario] !== 'decision'))(
    '$scenario in $format gets the host answer, not an acknowledgement',
    async ({ scenario, format }) => {
      const res = await send(h, scenario, format)
      expect(res.headers['x-ehi-gateway-synthesized']).toBeUndefined()
      const values = answerValues(res)
      expect(values.Acknowledgement ?? values.Cut_OffResult).toBe('0')
    },
  )
})

describe('decision failures by EHI mode', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness(pki, {
      ehi: {
        defaultMode: 1,
        productModes: { '9004': 4, '9002': 2 },
        onHostFailure: { decision: 'decline', declineResponseStatus: '91' },
        deadlineMs: { decision: 300 },
      },
    })
    h.host.behaviour = 'stall'
  })
  afterAll(() => h.close())

  it('declines with 91 for a mode-1 product when configured to', async () => {
    const res = await send(h, 'auth', 'xml')
    expect(res.status).toBe(200)
    expect(answerValues(res)).toEqual({ Responsestatus: '91', Acknowledgement: '1' })
    expect(res.headers.soapaction).toBe(SOAPACTION)
    expect(h.logs.findLast((l) => l.event === 'request')).toMatchObject({
      outcome: 'synthesized',
      answer: { synthesized: true, Responsestatus: '91' },
    })
  })

  // The decline is for a first attempt Thredd has not decided only: a follow-up declined and
  // acknowledged by the gateway would stop Thredd's resends, and a late host approval would
  // never be reversed.
  it.each<{ scenario: Scenario; name: string; overrides: Record<string, string> }>([
    { scenario: 'auth_followup', name: "Thredd's follow-up after a timeout (Y, attempt 1)", overrides: {} },
    { scenario: 'auth', name: 'a resend (attempt 2)', overrides: { SendingAttemptCount: '2' } },
    {
      scenario: 'auth',
      name: 'a request Thredd decided (Y, attempt 0)',
      overrides: { Authorised_by_GPS: 'Y' },
    },
    { scenario: 'token_activation', name: 'a token activation', overrides: {} },
  ])('never declines $name: Acknowledgement 0, so Thredd resends it', async ({ scenario, overrides }) => {
    const res = await send(h, scenario, 'xml', overrides)
    expect(res.status).toBe(200)
    expect(answerValues(res)).toEqual({ Acknowledgement: '0' })
    expect(h.logs.findLast((l) => l.event === 'request')).toMatchObject({
      ehi: { class: 'advice', mode: 1 },
      answer: { synthesized: true, Acknowledgement: '0' },
    })
  })

  it.each([
    { product: '9004', mode: 4 },
    { product: '9002', mode: 2 },
  ])('never declines for a mode-$mode product: a fast 504 lets Thredd decide', async ({ product }) => {
    const res = await post(pki, h.port, {
      client: pki.clients.good,
      body: buildMessage('auth', 'xml', { ProductID: product }),
    })
    expect(res.status).toBe(504)
    expect(answerValues(res)).toEqual({})
  })
})

describe('a message whose deadline passed before it could be forwarded', () => {
  let h: Harness
  beforeAll(async () => {
    // 1 ms from TCP accept: the TLS handshake alone spends it.
    h = await startHarness(pki, { ehi: { deadlineMs: { decision: 1, reversal: 1 } } })
  })
  afterAll(() => h.close())

  it('is not forwarded, and gets the class answer with deadline_passed', async () => {
    const decision = await send(h, 'auth', 'xml')
    expect(decision.status).toBe(504)
    expect(decision.headers['x-ehi-gateway-reason']).toBe('deadline_passed')
    const reversal = await send(h, 'reversal', 'xml')
    expectSafeAnswer('reversal', reversal, 'deadline_passed')
    expect(h.host.received).toHaveLength(0)
  })
})

describe("a host answer carrying only Acknowledgement 1 (valid in Thredd's processing rules)", () => {
  let h: Harness
  let minimal: Server
  const MINIMAL =
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetTransactionResponse xmlns="http://tempuri.org/"><GetTransactionResult><Acknowledgement>1</Acknowledgement></GetTransactionResult></GetTransactionResponse></s:Body></s:Envelope>'
  beforeAll(async () => {
    minimal = createHttpServer((req, res) => {
      req.resume()
      req.on('end', () =>
        res
          .writeHead(200, { 'content-type': 'application/xml', 'content-length': MINIMAL.length })
          .end(MINIMAL),
      )
    })
    await new Promise<void>((resolve) => minimal.listen(0, '127.0.0.1', resolve))
    const { port } = minimal.address() as AddressInfo
    // replace: a non-conforming answer would be replaced by Acknowledgement 0.
    h = await startHarness(pki, {
      upstream: { url: `http://127.0.0.1:${port}/ehi` },
      ehi: { hostAnswerCheck: 'replace' },
    })
  })
  afterAll(async () => {
    await h.close()
    await new Promise((resolve) => minimal.close(resolve))
  })

  it('is passed through, not replaced, and counted and logged as a warning', async () => {
    const res = await send(h, 'advice', 'xml')
    expect(res.status).toBe(200)
    expect(res.headers['x-ehi-gateway-synthesized']).toBeUndefined()
    expect(res.body.toString()).toBe(MINIMAL)
    expect(h.logs.findLast((l) => l.event === 'request')).toMatchObject({
      level: 'info',
      outcome: 'host_answer',
      answer: { conforming: true, Acknowledgement: '1', warnings: ['missing_numeric'] },
    })
    expect(
      await h.counter('ehi_gateway_host_answer_warnings_total', {
        class: 'advice',
        problem: 'missing_numeric',
      }),
    ).toBe(1)
    expect(await h.counter('ehi_gateway_host_answers_nonconforming_total')).toBe(0)
  })
})
