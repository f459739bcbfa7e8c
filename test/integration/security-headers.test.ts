/** Security headers on every answer, the host's and the gateway's own refusals alike. */
import fastifyHelmet from '@fastify/helmet'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { HELMET_OPTIONS, securityHeaders } from '../../src/plane/http/security-headers.ts'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki)
})
afterAll(() => h.close())

describe.each([
  { name: 'a host answer', client: () => pki.clients.good, status: 200 },
  { name: 'a refusal without a certificate', client: () => undefined, status: 400 },
  { name: 'a refusal of an untrusted certificate', client: () => pki.clients.otherCa, status: 403 },
])('$name', ({ client, status }) => {
  it('carries HSTS and the API security headers', async () => {
    const res = await post(pki, h.port, { client: client() })
    expect(res.status).toBe(status)
    expect(res.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains')
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['x-frame-options']).toBe('DENY')
    expect(res.headers['referrer-policy']).toBe('no-referrer')
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'")
  })
})

describe('the precomputed header set', () => {
  it('is exactly what @fastify/helmet sends with the same options', async () => {
    const reference = Fastify()
    await reference.register(fastifyHelmet, HELMET_OPTIONS)
    reference.get('/', () => 'ok')
    const res = await reference.inject({ method: 'GET', url: '/' })
    await reference.close()
    const fromPlugin = Object.fromEntries(
      Object.entries(res.headers).filter(
        ([name]) => !['content-type', 'content-length', 'date', 'connection'].includes(name),
      ),
    )
    expect(securityHeaders()).toEqual(fromPlugin)
  })

  it('is on a gateway answer, every header of it', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good })
    for (const [name, value] of Object.entries(securityHeaders())) expect(res.headers[name]).toBe(value)
  })
})
