/** Security headers on every answer, the host's and the gateway's own refusals alike. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
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
