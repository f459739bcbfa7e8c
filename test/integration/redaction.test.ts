/**
 * Card data never leaves the gateway in logs, errors or metrics. Messages that carry every field
 * of the redaction list (ehi-domain.md, "Implications" §8), and Token, with recognisable values
 * go through every path that writes a log line or makes an answer: accepted, malformed XML and
 * JSON, host down, host stalling, host answering garbage, a non-conforming answer, a refused
 * certificate, a resend. None of those values may appear anywhere the gateway writes.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { SENSITIVE_FIELDS } from '../../src/ehi/ehi-message.ts'
import { buildMessage, contentTypeOf, type Scenario } from '../../src/ehi/synthetic-messages.ts'
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

function carrying(scenario: Scenario, format: 'xml' | 'json', extra: Record<string, string> = {}) {
  return buildMessage(scenario, format, { ...SENSITIVE, ...extra })
}

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
  })
})
