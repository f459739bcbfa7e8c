/**
 * A body that is not a well-formed EHI message is answered 400 with its own reason code and
 * never forwarded.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildMessage } from '../../src/tools/messages/synthetic-messages.ts'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki, { routes: { bodyLimitBytes: 16384 } })
})
afterAll(() => h.close())

const xml = buildMessage('auth', 'xml')
const json = buildMessage('auth', 'json')

describe.each([
  {
    name: 'an XML body with a DTD',
    body: `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ELEMENT x ANY>]>${xml.slice(xml.indexOf('<s:Envelope'))}`,
    type: 'text/xml',
    reason: 'ehi_malformed',
  },
  {
    name: 'an XML body with an entity declaration (XXE)',
    body: `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${xml.slice(xml.indexOf('<s:Envelope'))}`,
    type: 'application/xml',
    reason: 'ehi_malformed',
  },
  {
    name: 'an entity expansion bomb',
    body: `<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>`,
    type: 'text/xml',
    reason: 'ehi_malformed',
  },
  {
    name: 'truncated XML',
    body: xml.slice(0, Math.floor(xml.length / 2)),
    type: 'text/xml',
    reason: 'ehi_malformed',
  },
  {
    name: 'truncated JSON',
    body: json.slice(0, Math.floor(json.length / 2)),
    type: 'application/json',
    reason: 'ehi_malformed',
  },
  {
    name: 'JSON with a duplicate TXn_ID',
    body: json.replace('{', '{"TXn_ID":1,'),
    type: 'application/json',
    reason: 'ehi_malformed',
  },
  {
    name: 'XML that is not a SOAP envelope',
    body: '<GetTransaction xmlns="http://tempuri.org/"><MTID>0100</MTID></GetTransaction>',
    type: 'text/xml',
    reason: 'ehi_malformed',
  },
  { name: 'a wrong content type', body: xml, type: 'text/plain', reason: 'ehi_unsupported_media_type' },
  { name: 'no content type at all', body: xml, type: '', reason: 'ehi_unsupported_media_type' },
  {
    name: 'a body over the limit',
    body: Buffer.alloc(20000, 'a'),
    type: 'text/xml',
    reason: 'ehi_too_large',
  },
])('$name', ({ body, type, reason }) => {
  it(`is answered 400 ${reason} and not forwarded`, async () => {
    const before = h.host.received.length
    const res = await post(pki, h.port, {
      client: pki.clients.good,
      body,
      headers: type ? { 'content-type': type } : { 'content-type': '' },
    })
    expect(res.status).toBe(400)
    expect(res.headers['x-ehi-gateway-reason']).toBe(reason)
    expect(JSON.parse(res.body.toString()).reason).toBe(reason)
    expect(h.host.received.length).toBe(before)
    const line = h.logs.findLast((l) => l.event === 'request')!
    expect(line).toMatchObject({ status: 400, reason, outcome: 'rejected' })
    expect(await h.counter('ehi_gateway_request_errors_total', { reason })).toBeGreaterThan(0)
  })
})

describe('what is tolerated', () => {
  it('forwards a message with control characters and NUL in a text field, unchanged', async () => {
    const odd = buildMessage('auth', 'xml', { Merch_Name_DE43: 'SYN\u0000\u0001THETIC GROCER' })
    const before = h.host.received.length
    const res = await post(pki, h.port, { client: pki.clients.good, body: odd })
    expect(res.status).toBe(200)
    expect(h.host.received[before]!.body.toString()).toBe(odd)
  })

  it('forwards a JSON message carrying \\u0000 escapes', async () => {
    const body = buildMessage('auth', 'json').replace('"SYNTHETIC GROCER"', '"SYN\\u0000THETIC"')
    const res = await post(pki, h.port, {
      client: pki.clients.good,
      body,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
    })
    expect(res.status).toBe(200)
  })

  it('routes on the body, whatever the soapaction says', async () => {
    const res = await post(pki, h.port, {
      client: pki.clients.good,
      body: buildMessage('cutoff', 'xml'),
      headers: { soapaction: '"http://tempuri.org/IEndpointVersion52/GetTransaction"' },
    })
    expect(res.body.toString()).toContain('<Cut_OffResult>1</Cut_OffResult>')
  })
})
