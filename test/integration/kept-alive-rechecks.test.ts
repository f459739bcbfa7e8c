/**
 * A kept-alive connection does not outlive its verdict: every request is re-checked against the
 * current trust (validity, revocation and CRL freshness each time; after a reload, the whole new
 * trust), a reload closes the connections it no longer admits once their exchange in flight is
 * done, and connections have a maximum age and number of requests.
 */
import { afterEach, describe, expect, inject, it } from 'vitest'
import { AUTH_XML, openKeptAlive, rawExchange, type KeptAliveConnection } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { mintClient } from '../support/test-pki.ts'
import { sleep } from '../support/wait.ts'

const pki = inject('pki')
const f = pki.files
let h: Harness | undefined
let conn: KeptAliveConnection | undefined

afterEach(async () => {
  conn?.close()
  conn = undefined
  await h?.close()
  h = undefined
})

const withinMs = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then(() => true), sleep(ms).then(() => false)])
const revokesGood = {
  tls: { crl: { files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.revokes-good.crl.pem']] } },
}

describe('every request on a kept-alive connection is re-checked', () => {
  it('refuses the next request after a reload revokes the certificate, and forwards nothing more', async () => {
    h = await startHarness(pki)
    conn = await openKeptAlive(pki, h.port, pki.clients.good)
    expect((await conn.request()).status).toBe(200)
    h.host.delayMs = 800
    const inFlight = conn.request()
    await sleep(200)
    h.rewriteConfig(revokesGood)
    expect((await h.gateway.reload()).ok).toBe(true)
    // The exchange in flight finishes with the trust it started with, then the connection closes.
    const last = await inFlight
    expect(last.status).toBe(200)
    expect(last.headers.connection).toBe('close')
    expect(await withinMs(conn.closed, 2000)).toBe(true)
    expect(h.host.received).toHaveLength(2)
    expect(h.logs.findLast((l) => l.event === 'connection_refused')).toMatchObject({
      reason: 'revoked',
      after: 'reload',
      closing: 'after its answer',
    })
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'revoked' })).toBe(1)
  })

  it('closes an idle kept-alive connection as soon as a reload refuses its certificate', async () => {
    h = await startHarness(pki)
    conn = await openKeptAlive(pki, h.port, pki.clients.good)
    expect((await conn.request()).status).toBe(200)
    h.rewriteConfig({ clientAuth: { pins: { spkiSha256: [pki.spki.sameNameNewKey] } } })
    expect((await h.gateway.reload()).ok).toBe(true)
    expect(await withinMs(conn.closed, 2000)).toBe(true)
    expect(h.logs.findLast((l) => l.event === 'connection_refused')).toMatchObject({
      reason: 'pin_mismatch',
      after: 'reload',
      closing: 'now',
    })
  })

  it('closes a kept-alive connection whose source address a reload removes from the allowlist', async () => {
    h = await startHarness(pki, { network: { allowlist: ['127.0.0.1/32', '192.0.2.1/32'] } })
    conn = await openKeptAlive(pki, h.port, pki.clients.good)
    expect((await conn.request()).status).toBe(200)
    h.rewriteConfig({ network: { allowlist: ['192.0.2.1/32'] } })
    expect((await h.gateway.reload()).ok).toBe(true)
    expect(await withinMs(conn.closed, 2000)).toBe(true)
    expect(h.logs.findLast((l) => l.event === 'connection_refused')).toMatchObject({
      reason: 'ip_not_allowed',
      after: 'reload',
    })
  })

  it('keeps a connection the new trust still admits', async () => {
    h = await startHarness(pki)
    conn = await openKeptAlive(pki, h.port, pki.clients.good)
    expect((await conn.request()).status).toBe(200)
    h.rewriteConfig({ clientAuth: { pins: { spkiSha256: [pki.spki.good] } } })
    expect((await h.gateway.reload()).ok).toBe(true)
    await sleep(200)
    expect(conn.isClosed()).toBe(false)
    expect((await conn.request()).status).toBe(200)
  })

  it('refuses the first request after the certificate expires mid-connection, with no reload', async () => {
    const now = Date.now()
    const shortLived = mintClient(pki, `client-expires-${now}`, {
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 2500),
    })
    h = await startHarness(pki)
    conn = await openKeptAlive(pki, h.port, shortLived)
    expect((await conn.request()).status).toBe(200)
    await sleep(Math.max(0, now + 3000 - Date.now()))
    const answer = await conn.request()
    expect(answer.status).toBe(403)
    expect(answer.headers['x-ehi-gateway-reason']).toBe('expired')
    expect(answer.headers.connection).toBe('close')
    expect(h.host.received).toHaveLength(1)
    expect(await h.counter('ehi_gateway_request_errors_total', { reason: 'expired' })).toBe(1)
    expect(h.logs.findLast((l) => l.event === 'request')).toMatchObject({
      outcome: 'refused',
      reason: 'expired',
    })
  })
})

describe('connection limits', () => {
  it('closes a connection after limits.maxRequestsPerConnection answers', async () => {
    h = await startHarness(pki, { limits: { maxRequestsPerConnection: 3 } })
    conn = await openKeptAlive(pki, h.port, pki.clients.good)
    expect((await conn.request()).headers.connection).not.toBe('close')
    expect((await conn.request()).headers.connection).not.toBe('close')
    const third = await conn.request()
    expect(third.status).toBe(200)
    expect(third.headers.connection).toBe('close')
    expect(await withinMs(conn.closed, 2000)).toBe(true)
  })

  it('closes a connection older than limits.maxConnectionAgeMs after its next answer', async () => {
    h = await startHarness(pki, { limits: { maxConnectionAgeMs: 600 } })
    conn = await openKeptAlive(pki, h.port, pki.clients.good)
    expect((await conn.request()).headers.connection).not.toBe('close')
    await sleep(700)
    const late = await conn.request()
    expect(late.status).toBe(200)
    expect(late.headers.connection).toBe('close')
    expect(await withinMs(conn.closed, 2000)).toBe(true)
  })
})

describe('Expect', () => {
  const withExpect = (value: string) =>
    `POST /ehi HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nExpect: ${value}\r\nContent-Length: ${Buffer.byteLength(AUTH_XML)}\r\n\r\n`

  it('answers an unsupported expectation 417 with its reason code and security headers, forwarding nothing', async () => {
    h = await startHarness(pki)
    conn = await openKeptAlive(pki, h.port, pki.clients.good)
    const answer = await conn.request(withExpect('foo'))
    expect(answer.status).toBe(417)
    expect(answer.headers['x-ehi-gateway-reason']).toBe('expectation_failed')
    expect(answer.headers['strict-transport-security']).toBeDefined()
    expect(JSON.parse(answer.body)).toMatchObject({ reason: 'expectation_failed' })
    expect(h.host.received).toHaveLength(0)
    expect(await h.counter('ehi_gateway_request_errors_total', { reason: 'expectation_failed' })).toBe(1)
    expect(h.logs.findLast((l) => l.event === 'request')).toMatchObject({ reason: 'expectation_failed' })
  })

  it('sends no 100 Continue to a refused connection: its refusal comes first', async () => {
    h = await startHarness(pki)
    const result = await rawExchange(pki, h.port, {
      client: pki.clients.otherCa,
      request: withExpect('100-continue'),
    })
    expect(result.data).not.toContain('100 Continue')
    expect(result.data).toMatch(/^HTTP\/1\.1 403 /)
    expect(result.data).toContain('untrusted_issuer')
  })

  it('sends 100 Continue to an admitted request, then forwards its body', async () => {
    h = await startHarness(pki)
    const result = await rawExchange(pki, h.port, {
      client: pki.clients.good,
      request: withExpect('100-continue') + AUTH_XML,
      timeoutMs: 1500,
    })
    expect(result.data).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /)
    expect(h.host.received).toHaveLength(1)
  })

  it('refuses an unsupported expectation on a refused connection with the connection refusal', async () => {
    h = await startHarness(pki)
    const result = await rawExchange(pki, h.port, { client: pki.clients.otherCa, request: withExpect('foo') })
    expect(result.data).toMatch(/^HTTP\/1\.1 403 /)
    expect(result.data).toContain('untrusted_issuer')
  })
})
