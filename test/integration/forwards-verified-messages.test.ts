/**
 * A verified client's message reaches the internal host byte for byte, with the identity
 * headers the gateway vouches for, and the host's answer comes back unchanged except for
 * hop-by-hop headers.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { post, sequentialOnOneConnection } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')

/** Deliberately awkward bytes: NUL, invalid UTF-8, CR LF inside the body. */
const REQUEST_BODY = Buffer.concat([
  Buffer.from(
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetTransaction xmlns="http://tempuri.org/"><Merch_Name_DE43>',
  ),
  Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a, 0xc3, 0xa9]),
  Buffer.from('</Merch_Name_DE43></GetTransaction></s:Body></s:Envelope>'),
])
const ANSWER_BODY = Buffer.concat([
  Buffer.from('<answer>'),
  Buffer.from([0x00, 0xff, 0x80]),
  Buffer.from('</answer>'),
])

interface Seen {
  url: string | undefined
  headers: IncomingHttpHeaders
  body: Buffer
}

let upstream: Server
let seen: Seen[] = []
let h: Harness

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      seen.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks) })
      res.writeHead(201, [
        ['content-type', 'text/xml; charset=utf-8'],
        ['x-host-header', 'kept'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
        ['keep-alive', 'timeout=5'],
        ['connection', 'keep-alive, x-hop'],
        ['x-hop', 'dropped because Connection names it'],
        ['content-length', String(ANSWER_BODY.length)],
      ])
      res.end(ANSWER_BODY)
    })
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  const { port } = upstream.address() as AddressInfo
  h = await startHarness(pki, { upstream: { url: `http://127.0.0.1:${port}/internal/ehi?x=1` } })
})
afterAll(async () => {
  await h.close()
  await new Promise((resolve) => upstream.close(resolve))
})

async function send(headers: Record<string, string> = {}) {
  seen = []
  const res = await post(pki, h.port, { client: pki.clients.good, body: REQUEST_BODY, headers })
  expect(seen).toHaveLength(1)
  return { res, at: seen[0]! }
}

describe('forwarding a verified message', () => {
  it('delivers the body bytes unchanged with an explicit Content-Length, never chunked', async () => {
    const { at } = await send()
    expect(at.body.equals(REQUEST_BODY)).toBe(true)
    expect(at.headers['content-length']).toBe(String(REQUEST_BODY.length))
    expect(at.headers['transfer-encoding']).toBeUndefined()
  })

  it('posts to the configured host path and query', async () => {
    const { at } = await send()
    expect(at.url).toBe('/internal/ehi?x=1')
  })

  it('returns the host status, headers and body byte for byte, minus hop-by-hop headers', async () => {
    const { res } = await send()
    expect(res.status).toBe(201)
    expect(res.body.equals(ANSWER_BODY)).toBe(true)
    expect(res.headers['content-type']).toBe('text/xml; charset=utf-8')
    expect(res.headers['x-host-header']).toBe('kept')
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    expect(res.headers['content-length']).toBe(String(ANSWER_BODY.length))
    expect(res.headers['x-hop']).toBeUndefined()
    expect(res.headers['transfer-encoding']).toBeUndefined()
  })

  it('sends the verified identity to the host', async () => {
    const { at } = await send()
    const xfcc = String(at.headers['x-forwarded-client-cert'])
    expect(xfcc).toMatch(/^Hash=[0-9a-f]{64};/)
    expect(xfcc).toContain('Subject="O=Thredd Test,OU=EHI,OU=Transport,CN=thredd-ehi-transport"')
    expect(xfcc).toContain(`SPKI=${pki.spki.good}`)
    expect(xfcc).toContain('URI="spiffe://thredd.test/ehi"')
    expect(at.headers['x-ehi-client-verified']).toBe('SUCCESS')
    expect(at.headers['x-ehi-client-serial']).toMatch(/^[0-9A-F]+$/)
    expect(new Date(String(at.headers['x-ehi-client-not-after'])).getTime()).toBeGreaterThan(Date.now())
    expect(at.headers['x-ehi-client-spki-sha256']).toBe(pki.spki.good)
    expect(at.headers['x-forwarded-for']).toBe('127.0.0.1')
    expect(at.headers['x-forwarded-proto']).toBe('https')
  })

  it('strips spoofed identity and forwarding headers sent by the client', async () => {
    const { at } = await send({
      'x-forwarded-client-cert': 'Hash=spoofed;Subject="CN=attacker"',
      'x-ehi-client-verified': 'SPOOFED',
      'x-ehi-client-serial': 'SPOOFED',
      'x-ehi-anything': 'SPOOFED',
      'x-forwarded-for': '6.6.6.6',
      forwarded: 'for=6.6.6.6',
      'x-request-id': 'spoofed-id',
    })
    const all = JSON.stringify(at.headers)
    expect(all).not.toContain('SPOOFED')
    expect(all).not.toContain('spoofed')
    expect(all).not.toContain('6.6.6.6')
    expect(at.headers['x-ehi-anything']).toBeUndefined()
    expect(at.headers.forwarded).toBeUndefined()
  })

  it('passes a valid traceparent on and sets a fresh X-Request-Id', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const { res, at } = await send({ traceparent })
    expect(at.headers.traceparent).toBe(traceparent)
    expect(at.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(res.headers['x-request-id']).toBe(at.headers['x-request-id'])
  })

  it('creates a traceparent when the client sends none or a malformed one', async () => {
    const { at: none } = await send()
    expect(none.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
    const { at: bad } = await send({ traceparent: 'garbage' })
    expect(bad.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
  })

  it('keeps the connection open for the next message from a verified client', async () => {
    seen = []
    const statuses = await sequentialOnOneConnection(pki, h.port, pki.clients.good, 3)
    expect(statuses).toEqual(['HTTP/1.1 201 Created', 'HTTP/1.1 201 Created', 'HTTP/1.1 201 Created'])
    expect(seen).toHaveLength(3)
  })

  it('logs one line per request with the outcome and the client serial', async () => {
    const before = h.logs.length
    const { at } = await send()
    const lines = h.logs.slice(before).filter((l) => l.event === 'request')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      status: 201,
      outcome: 'host_answer',
      client: { serial: at.headers['x-ehi-client-serial'] },
    })
  })
})
