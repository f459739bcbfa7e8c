/**
 * Card data never leaves the gateway in logs, errors or metrics. Messages that carry every field
 * of the redaction list (ehi-domain.md, "Implications" §8), and Token, with recognisable values
 * go through every path that writes a log line or makes an answer: accepted, malformed XML and
 * JSON, host down, host stalling, host answering garbage, a non-conforming answer, a refused
 * certificate, a resend. None of those values may appear anywhere the gateway writes.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { SENSITIVE_FIELDS } from '../../src/plane/ehi/ehi-message.ts'
import { buildMessage, contentTypeOf, type Scenario } from '../../src/tools/messages/synthetic-messages.ts'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')

/** A distinct, greppable value per field: `ZQX` + field + digits. */
const marker = (field: string) => `ZQX${field.replace(/[^A-Za-z0-9]/g, '')}4711`
const SENSITIVE: Record<string, string> = Object.fromEntries(
  [...SENSITIVE_FIELDS, 'Token'].map((f) => [f, marker(f)]),
)
// Token is numeric in real messages; the marker must survive the JSON number path too.
const TOKEN_NUMBER = '987654321012345678'
/** A card-number-shaped and a word-shaped string the sender puts where the gateway logs. */
const SENDER_PAN = '5372999988887777'
const SENDER_WORD = 'ZQXsenderchosen4711'

function carrying(scenario: Scenario, format: 'xml' | 'json', extra: Record<string, string> = {}) {
  return buildMessage(scenario, format, { ...SENSITIVE, ...extra })
}

const withoutUuids = (text: string) =>
  text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')

const everything: string[] = []
const harnesses: Harness[] = []
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki, {
    ehi: {
      deadlineMs: { decision: 300, reversal: 300, advice: 300, financial: 300, cutoff: 300, other: 300 },
    },
  })
  harnesses.push(h)
})
afterAll(async () => {
  for (const harness of harnesses) await harness.close()
})

async function send(harness: Harness, body: string, format: 'xml' | 'json', client = pki.clients.good) {
  const res = await post(pki, harness.port, {
    client,
    body,
    headers: { 'content-type': contentTypeOf(format) },
  })
  // Answers the gateway makes itself (errors, synthesized EHI answers) must be clean too.
  if (res.headers['x-ehi-gateway-reason']) everything.push(res.body.toString())
  return res
}

describe('redaction on every path', () => {
  it.each(['xml', 'json'] as const)('accepted %s messages of every class', async (format) => {
    for (const scenario of ['auth', 'reversal', 'advice', 'presentment', 'load'] as const) {
      expect((await send(h, carrying(scenario, format), format)).status).toBe(200)
    }
    expect((await send(h, carrying('auth', format, { Token: TOKEN_NUMBER }), format)).status).toBe(200)
  })

  it.each(['xml', 'json'] as const)(
    'malformed %s messages, broken right after the sensitive fields',
    async (format) => {
      const body = carrying('auth', format)
      const cut = body.indexOf(marker('TokenUniqueReference')) + 30
      expect((await send(h, body.slice(0, cut), format)).status).toBe(400)
      // A JSON error whose parser message would quote the text around a sensitive value.
      if (format === 'json') {
        const broken = body.replace(`"${marker('CVV2')}"`, `"${marker('CVV2')}" x`)
        expect((await send(h, broken, format)).status).toBe(400)
        const duplicate = body.replace('{', `{"CVV2":"${marker('CVV2')}",`)
        expect((await send(h, duplicate, format)).status).toBe(400)
      }
    },
  )

  it('host failures: stall, garbage, non-conforming answer', async () => {
    for (const behaviour of ['stall', 'garbage', 'nonconforming', 'fail'] as const) {
      h.host.behaviour = behaviour
      await send(h, carrying('auth', 'xml'), 'xml')
      await send(h, carrying('reversal', 'json'), 'json')
      await send(h, carrying('cutoff', 'xml'), 'xml')
    }
    h.host.behaviour = 'approve'
  })

  it('a refused certificate and a resend', async () => {
    expect((await send(h, carrying('auth', 'xml'), 'xml', pki.clients.expired)).status).toBe(403)
    expect((await send(h, carrying('advice', 'xml', { SendingAttemptCount: '3' }), 'xml')).status).toBe(200)
  })

  it('a host that is down', async () => {
    const down = await startHarness(pki, { upstream: { url: 'http://127.0.0.1:9/ehi' } })
    harnesses.push(down)
    await send(down, carrying('presentment', 'xml'), 'xml')
    await send(down, carrying('advice', 'json'), 'json')
    await send(down, carrying('auth', 'json'), 'json')
  })

  /**
   * Strings a sender chose are never logged as sent: the request path, a duplicate key's name,
   * the Content-Type's charset and type, a card number placed in a logged field, the declared
   * XML encoding. Each carries SENDER_PAN or SENDER_WORD.
   */
  it('strings the sender chose: path, duplicate key, charset, out-of-format fields', async () => {
    const json = buildMessage('auth', 'json')
    const xml = buildMessage('auth', 'xml')
    const cases: { body: string; type: string; path?: string }[] = [
      { body: xml, type: 'application/xml', path: `/ehi/${SENDER_PAN}` },
      { body: xml, type: 'application/xml', path: `/ehi/${SENDER_WORD}` },
      { body: json.replace('{', `{"${SENDER_WORD}":1,"${SENDER_WORD}":2,`), type: 'application/json' },
      { body: json.replace('{', `{"${SENDER_PAN}":1,"${SENDER_PAN}":2,`), type: 'application/json' },
      { body: xml, type: `application/xml; charset=${SENDER_WORD}` },
      { body: xml, type: `application/${SENDER_WORD}` },
      { body: xml.replace('encoding="utf-8"', `encoding="${SENDER_WORD}"`), type: 'application/xml' },
      // Accepted and forwarded, but the out-of-format values are logged masked.
      { body: buildMessage('advice', 'xml', { MTID: SENDER_PAN }), type: 'application/xml' },
      { body: buildMessage('advice', 'xml', { Resp_Code_DE39: SENDER_WORD }), type: 'application/xml' },
      {
        body: buildMessage('advice', 'xml', { Traceid_Message: `VIS1-X-${SENDER_PAN}` }),
        type: 'application/xml',
      },
    ]
    for (const { body, type, path } of cases) {
      const res = await post(pki, h.port, {
        client: pki.clients.good,
        body,
        headers: { 'content-type': type },
        ...(path ? { path } : {}),
      })
      if (res.headers['x-ehi-gateway-reason']) everything.push(res.body.toString())
    }
    const lines = h.logs.map((line) => JSON.stringify(line)).join('\n')
    expect(lines).toContain('"path":"(not a configured route)"')
    expect(lines).toContain('[masked: not in the documented format]')
    // The masked PAN keeps its last four digits only.
    expect(lines).toContain(`************${SENDER_PAN.slice(-4)}`)
  })

  it('leaves no sensitive value, and no Token in clear, in any log line, answer or metric', async () => {
    const logs = harnesses.flatMap((harness) => harness.logs.map((line) => JSON.stringify(line)))
    const metrics = await Promise.all(harnesses.map((harness) => harness.gateway.registry.metrics()))
    const written = [...logs, ...metrics, ...everything].join('\n')
    // The paths above really ran: every kind of line is there.
    expect(logs.length).toBeGreaterThan(30)
    expect(written).toContain('"outcome":"synthesized"')
    expect(written).toContain('"reason":"ehi_malformed"')
    expect(written).toContain('"event":"connection_refused"')
    expect(written).toContain('"conforming":false')
    expect(written).toContain('tokenHmac')
    for (const [field, value] of Object.entries(SENSITIVE)) {
      expect(written, `${field} leaked`).not.toContain(value)
    }
    expect(written).not.toContain(TOKEN_NUMBER)
    expect(written).not.toContain(SENDER_PAN)
    expect(logs.join('\n')).not.toContain(SENDER_WORD)
    // Any run of 12 digits or more, anywhere in a log line, is masked; request ids (UUIDs, whose
    // last group is all digits about once in 280) are the gateway's own and kept.
    expect(withoutUuids(logs.join('\n'))).not.toMatch(/[0-9]{12}/)
  })
})
