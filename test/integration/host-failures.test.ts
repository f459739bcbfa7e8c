/** When the internal host gives no answer, the gateway answers fast with its own reason code. */
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { freePort } from '../support/ports.ts'

const pki = inject('pki')

describe('host unreachable', () => {
  let h: Harness
  beforeAll(async () => {
    // A port that was just free: nobody listens there.
    h = await startHarness(pki, { upstream: { url: `http://127.0.0.1:${await freePort()}/ehi` } })
  })
  afterAll(() => h.close())

  it('answers 502 host_unreachable, with the reason in the log and the metric', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good })
    expect(res.status).toBe(502)
    expect(res.headers['x-ehi-gateway-reason']).toBe('host_unreachable')
    expect(JSON.parse(res.body.toString()).reason).toBe('host_unreachable')
    expect(h.logs.findLast((l) => l.event === 'request')).toMatchObject({
      reason: 'host_unreachable',
      outcome: 'host_failure',
      hostError: { reason: 'host_unreachable', code: 'ECONNREFUSED' },
    })
    expect(await h.counter('ehi_gateway_host_errors_total', { reason: 'host_unreachable' })).toBe(1)
  })
})

describe('host too slow', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness(pki, { ehi: { deadlineMs: { decision: 300 } } })
  })
  afterAll(() => h.close())
  afterEach(() => {
    h.host.delayMs = 0
  })

  it('answers 504 host_timeout once the deadline passes, without waiting for the host', async () => {
    h.host.delayMs = 2000
    const started = performance.now()
    const res = await post(pki, h.port, { client: pki.clients.good })
    const elapsed = performance.now() - started
    expect(res.status).toBe(504)
    expect(res.headers['x-ehi-gateway-reason']).toBe('host_timeout')
    expect(elapsed).toBeLessThan(1500)
    expect(await h.counter('ehi_gateway_host_errors_total', { reason: 'host_timeout' })).toBe(1)
  })

  it('answers 200 when the host answers inside the deadline', async () => {
    h.host.delayMs = 10
    const res = await post(pki, h.port, { client: pki.clients.good })
    expect(res.status).toBe(200)
  })
})

describe('host resets the connection', () => {
  let h: Harness
  let server: ReturnType<typeof createServer>
  beforeAll(async () => {
    server = createServer((socket) => socket.once('data', () => socket.resetAndDestroy()))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    h = await startHarness(pki, { upstream: { url: `http://127.0.0.1:${port}/ehi` } })
  })
  afterAll(async () => {
    await h.close()
    await new Promise((resolve) => server.close(resolve))
  })

  it('answers 502 host_bad_response', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good })
    expect(res.status).toBe(502)
    expect(res.headers['x-ehi-gateway-reason']).toBe('host_bad_response')
  })
})

describe('host answer larger than upstream.maxResponseBytes', () => {
  let h: Harness
  let server: ReturnType<typeof createHttpServer>
  beforeAll(async () => {
    const big = `<x>${'a'.repeat(4096)}</x>`
    server = createHttpServer((req, res) => {
      req.resume()
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/xml' }).end(big))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    h = await startHarness(pki, {
      upstream: { url: `http://127.0.0.1:${port}/ehi`, maxResponseBytes: 1024 },
    })
  })
  afterAll(async () => {
    await h.close()
    await new Promise((resolve) => server.close(resolve))
  })

  it('answers 502 host_bad_response and names the limit in the log', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good })
    expect(res.status).toBe(502)
    expect(res.headers['x-ehi-gateway-reason']).toBe('host_bad_response')
    expect(h.logs.findLast((l) => l.event === 'request')).toMatchObject({
      hostError: { reason: 'host_bad_response', code: 'UND_ERR_RES_EXCEEDED_MAX_SIZE' },
    })
  })
})
