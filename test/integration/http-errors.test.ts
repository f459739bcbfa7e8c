/** Requests a verified client gets wrong are answered with their own reason and never forwarded. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki, { routes: { paths: ['/ehi', '/ehi/cutoff'], bodyLimitBytes: 16384 } })
})
afterAll(() => h.close())

describe('HTTP-level errors for a verified client', () => {
  it('answers 404 not_found on another path', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good, path: '/other' })
    expect(res.status).toBe(404)
    expect(res.headers['x-ehi-gateway-reason']).toBe('not_found')
  })

  it('answers 405 method_not_allowed with Allow: POST', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good, method: 'GET', body: '' })
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('POST')
    expect(res.headers['x-ehi-gateway-reason']).toBe('method_not_allowed')
  })

  it('answers 400 ehi_too_large past the body limit', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good, body: Buffer.alloc(20_000, 'a') })
    expect(res.status).toBe(400)
    expect(res.headers['x-ehi-gateway-reason']).toBe('ehi_too_large')
  })

  it('closes the connection after ehi_too_large: the rest of the body is not read', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good, body: Buffer.alloc(20_000, 'a') })
    expect(res.headers.connection).toBe('close')
  })

  it('serves every configured path', async () => {
    expect((await post(pki, h.port, { client: pki.clients.good, path: '/ehi/cutoff' })).status).toBe(200)
  })

  it('forwarded none of the bad requests', () => {
    expect(h.host.received).toHaveLength(1)
  })
})
