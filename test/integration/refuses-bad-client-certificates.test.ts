/**
 * Every client-certificate failure gets its own reason code, the same in the answer, the log
 * line and the metric; the connection is closed after the answer, and the internal host sees
 * nothing. Real TLS over loopback with a PKI made at test start.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import type { ClientName } from '../support/test-pki.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki)
})
afterAll(() => h.close())

async function expectRefused(client: ClientName | undefined, status: number, reason: string) {
  const hostBefore = h.host.received.length
  const refusedBefore = await h.counter('ehi_gateway_connections_refused_total', { reason })
  const res = await post(pki, h.port, client ? { client: pki.clients[client] } : {})
  expect(res.status).toBe(status)
  const body = JSON.parse(res.body.toString()) as { reason: string; message: string }
  expect(body.reason).toBe(reason)
  expect(res.headers['x-ehi-gateway-reason']).toBe(reason)
  expect(res.closed).toBe(true)
  expect(h.host.received.length).toBe(hostBefore)
  expect(await h.counter('ehi_gateway_connections_refused_total', { reason })).toBe(refusedBefore + 1)
  const line = h.logs.findLast((l) => l.event === 'connection_refused')
  expect(line).toMatchObject({ reason, peer: { address: '127.0.0.1' } })
  return body
}

describe('client certificate refusals (http mode)', () => {
  it('answers 400 "No required SSL certificate was sent" without a certificate', async () => {
    const body = await expectRefused(undefined, 400, 'no_client_cert')
    expect(body.message).toContain('No required SSL certificate was sent')
  })

  it('refuses a certificate from another CA as untrusted_issuer', async () => {
    await expectRefused('otherCa', 403, 'untrusted_issuer')
  })

  it('refuses a self-signed certificate that copies the real subject as untrusted_issuer', async () => {
    await expectRefused('selfSigned', 403, 'untrusted_issuer')
  })

  it("refuses a certificate signed with another key under the Issuing CA's name as untrusted_issuer", async () => {
    await expectRefused('fakeIssuer', 403, 'untrusted_issuer')
  })

  it('refuses an expired certificate as expired', async () => {
    await expectRefused('expired', 403, 'expired')
  })

  it('refuses a certificate that is not valid yet as not_yet_valid', async () => {
    await expectRefused('notYetValid', 403, 'not_yet_valid')
  })

  it('refuses a serverAuth-only certificate as bad_eku', async () => {
    await expectRefused('serverAuthOnly', 403, 'bad_eku')
  })

  it('refuses a certificate without any EKU as bad_eku', async () => {
    await expectRefused('noEku', 403, 'bad_eku')
  })

  it('refuses a revoked certificate as revoked', async () => {
    await expectRefused('revoked', 403, 'revoked')
  })

  it('logs the refused certificate identity, never a body', async () => {
    await post(pki, h.port, { client: pki.clients.expired, body: '<Token>SECRET-TOKEN-VALUE</Token>' })
    const line = h.logs.findLast((l) => l.event === 'connection_refused' && l.reason === 'expired')
    expect(line?.client).toMatchObject({ subject: expect.stringContaining('CN=thredd-ehi-transport') })
    expect(JSON.stringify(h.logs)).not.toContain('SECRET-TOKEN-VALUE')
  })
})
