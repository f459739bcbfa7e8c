/**
 * Each message class, in XML and in JSON, goes through the gateway to the reference host and
 * back; the host gets the exact bytes and the routing headers, and the one audit line carries
 * the right class and fields.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  buildMessage,
  contentTypeOf,
  SCENARIOS,
  soapActionOf,
  type Scenario,
} from '../../src/ehi/synthetic-messages.ts'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki, { ehi: { productModes: { '9002': 3 } } })
})
afterAll(() => h.close())

const EXPECTED: Record<Scenario, { cls: string; answer: RegExp[] }> = {
  auth: { cls: 'decision', answer: [/Responsestatus"?[>:]"?00/, /Acknowledgement"?[>:]"?1/] },
  auth_sms: { cls: 'decision', answer: [/Responsestatus"?[>:]"?00/, /Acknowledgement"?[>:]"?1/] },
  reversal: { cls: 'reversal', answer: [/Responsestatus"?[>:]"?00/, /Acknowledgement"?[>:]"?1/] },
  advice: { cls: 'advice', answer: [/Acknowledgement"?[>:]"?1/] },
  presentment: { cls: 'financial', answer: [/Acknowledgement"?[>:]"?1/] },
  visa_presentment: { cls: 'financial', answer: [/Acknowledgement"?[>:]"?1/] },
  load: { cls: 'other', answer: [/Acknowledgement"?[>:]"?1/] },
  cutoff: { cls: 'cutoff', answer: [/Cut_OffResult"?[>:]"?1/] },
}

const cases = SCENARIOS.flatMap((scenario) =>
  (['xml', 'json'] as const).map((format) => ({ scenario, format })),
)

describe('every class, both formats, through the gateway', () => {
  it.each(cases)('$scenario in $format reaches the host and comes back', async ({ scenario, format }) => {
    const body = buildMessage(scenario, format, scenario === 'cutoff' ? {} : { TXn_ID: '9007199254740993' })
    const headers: Record<string, string> = { 'content-type': contentTypeOf(format) }
    if (format === 'xml') headers.soapaction = soapActionOf(scenario)
    const before = h.host.received.length
    const res = await post(pki, h.port, { client: pki.clients.good, body, headers })

    expect(res.status).toBe(200)
    for (const pattern of EXPECTED[scenario].answer) expect(res.body.toString()).toMatch(pattern)
    expect(res.headers['content-length']).toBe(String(res.body.length))

    const received = h.host.received[before]!
    expect(received.body.toString()).toBe(body)
    expect(received.headers['x-ehi-class']).toBe(EXPECTED[scenario].cls)
    expect(received.headers['x-ehi-format']).toBe(format)
    if (scenario === 'cutoff') expect(received.headers['x-ehi-cutoff-id']).toBe('7000000001')
    else expect(received.headers['x-ehi-txn-id']).toBe('9007199254740993')

    const line = h.logs.findLast((l) => l.event === 'request')!
    expect(line).toMatchObject({
      status: 200,
      outcome: 'host_answer',
      ehi: { class: EXPECTED[scenario].cls, format },
    })
    const ehi = line.ehi as { fields: Record<string, string>; tokenHmac?: string }
    if (scenario === 'cutoff') expect(ehi.fields.CutoffID).toBe('7000000001')
    else {
      // Lossless: 2^53 + 1 keeps its last digit in both formats.
      expect(ehi.fields.TXn_ID).toBe('9007199254740993')
      expect(ehi.fields).toHaveProperty('Txn_Type')
      expect(ehi.tokenHmac).toMatch(/^[A-Za-z0-9_-]{22}$/)
    }
    expect(line.timings).toMatchObject({
      parseMs: expect.any(Number),
      hostMs: expect.any(Number),
      totalMs: expect.any(Number),
    })
  })

  it('trims the Visa MTID and logs the conformance of the answer', async () => {
    await post(pki, h.port, { client: pki.clients.good, body: buildMessage('visa_presentment', 'xml') })
    const line = h.logs.findLast((l) => l.event === 'request')!
    expect((line.ehi as { fields: Record<string, string> }).fields.MTID).toBe('05')
    expect(line.answer).toMatchObject({
      status: 200,
      synthesized: false,
      conforming: true,
      Acknowledgement: '1',
    })
  })

  it('classifies an authorisation of a mode-3 product as an advice', async () => {
    await post(pki, h.port, {
      client: pki.clients.good,
      body: buildMessage('auth', 'json', { ProductID: '9002' }),
      headers: { 'content-type': 'application/json' },
    })
    const line = h.logs.findLast((l) => l.event === 'request')!
    expect(line.ehi).toMatchObject({ class: 'advice', mode: 3 })
  })

  it('counts repeats (SendingAttemptCount above 0)', async () => {
    const before = await h.counter('ehi_gateway_repeats_total', { class: 'advice' })
    await post(pki, h.port, { client: pki.clients.good, body: buildMessage('advice', 'xml') })
    expect(await h.counter('ehi_gateway_repeats_total', { class: 'advice' })).toBe(before + 1)
  })

  it('counts requests by class and outcome', async () => {
    expect(
      await h.counter('ehi_gateway_requests_total', { class: 'cutoff', outcome: 'host_answer' }),
    ).toBeGreaterThanOrEqual(2)
  })
})
