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
} from '../../src/tools/messages/synthetic-messages.ts'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki, { ehi: { productModes: { '9002': 3 } } })
})
afterAll(() => h.close())

const DECIDED = [/Responsestatus"?[>:]"?00/, /Acknowledgement"?[>:]"?1/]
const ACKNOWLEDGED = [/Acknowledgement"?[>:]"?1/]
/** The default product mode is 1. */
const EXPECTED: Record<Scenario, { cls: string; answer: RegExp[] }> = {
  auth: { cls: 'decision', answer: DECIDED },
  auth_visa: { cls: 'decision', answer: DECIDED },
  auth_sms: { cls: 'decision', answer: DECIDED },
  auth_followup: { cls: 'advice', answer: ACKNOWLEDGED },
  stip_advice: { cls: 'advice', answer: ACKNOWLEDGED },
  token_activation: { cls: 'advice', answer: ACKNOWLEDGED },
  reversal: { cls: 'reversal', answer: DECIDED },
  afd_reversal: { cls: 'reversal', answer: DECIDED },
  advice: { cls: 'advice', answer: ACKNOWLEDGED },
  presentment: { cls: 'financial', answer: ACKNOWLEDGED },
  visa_presentment: { cls: 'financial', answer: ACKNOWLEDGED },
  load: { cls: 'other', answer: ACKNOWLEDGED },
  balance_adjustment: { cls: 'other', answer: ACKNOWLEDGED },
  // XML: Cut_OffResult 1; JSON: {"Acknowledgement":"1"}.
  cutoff: { cls: 'cutoff', answer: [/(Cut_OffResult>|"Acknowledgement":")1/] },
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
      // Lossless to the host (header above); in the log, a run of 12+ digits keeps its last 4 only.
      expect(ehi.fields.TXn_ID).toBe('************0993')
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

  it('counts repeats (SendingAttemptCount above 0), and resends by attempt', async () => {
    const before = await h.counter('ehi_gateway_repeats_total', { class: 'advice' })
    const resend = (attempt: string) => h.counter('ehi_gateway_resends_total', { class: 'advice', attempt })
    const [second, sixth] = [await resend('2'), await resend('6+')]
    const send = (SendingAttemptCount: string) =>
      post(pki, h.port, {
        client: pki.clients.good,
        body: buildMessage('advice', 'xml', { SendingAttemptCount }),
      })
    await send('2')
    await send('9')
    await send('0')
    expect(await h.counter('ehi_gateway_repeats_total', { class: 'advice' })).toBe(before + 2)
    expect(await resend('2')).toBe(second + 1)
    // Bounded: any attempt past Thredd's 5 resends is one label value.
    expect(await resend('6+')).toBe(sixth + 1)
    expect(await resend('9')).toBe(0)
  })

  it('counts the follow-ups in which Thredd decided itself, by Txn_Stat_Code', async () => {
    const decided = (txn_stat_code: string) =>
      h.counter('ehi_gateway_thredd_decided_total', { class: 'advice', txn_stat_code })
    const [declined, approved] = [await decided('I'), await decided('A')]
    for (const scenario of ['auth_followup', 'stip_advice', 'token_activation', 'auth'] as const)
      await post(pki, h.port, { client: pki.clients.good, body: buildMessage(scenario, 'xml') })
    // The mode-1 follow-up (declined) and the STIP approval; not the token activation, not a request.
    expect(await decided('I')).toBe(declined + 1)
    expect(await decided('A')).toBe(approved + 1)
  })

  it("answers a JSON Cut_Off with Thredd's JSON names, logging its counters", async () => {
    const body =
      '{"CutOffId":38077,"ProductId":9001,"CutOffDate":"2026-11-29 13:00:01.837","FirstTransactionId":4000000001,"LastTransactionId":4000000002,"AuthsAcknowledged":1,"AuthsNotAcknowledged":1,"FinancialsAcknowledged":0,"FinancialsNotAcknowledged":0,"LoadsUnloadsAcknowledged":0,"LoadsUnloadsNotAcknowledged":0,"BalanceAdjustExpiryAcknowledged":0,"BalanceAdjustExpiryNotAcknowledged":0}'
    const before = h.host.received.length
    const res = await post(pki, h.port, {
      client: pki.clients.good,
      body,
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(200)
    expect(res.body.toString()).toBe('{"Acknowledgement":"1"}')
    expect(h.host.received[before]!.headers).toMatchObject({
      'x-ehi-class': 'cutoff',
      'x-ehi-cutoff-id': '38077',
    })
    const line = h.logs.findLast((l) => l.event === 'request')!
    expect(line).toMatchObject({
      ehi: { class: 'cutoff', root: 'Cut_Off', fields: { CutoffID: '38077', Auths_NotAcknowledged: '1' } },
      answer: { conforming: true, Cut_OffResult: '1' },
    })
  })

  it('counts requests by class and outcome', async () => {
    expect(
      await h.counter('ehi_gateway_requests_total', { class: 'cutoff', outcome: 'host_answer' }),
    ).toBeGreaterThanOrEqual(2)
  })
})
