/**
 * In `handshake` mode a refused client gets no HTTP answer at all: the connection is closed as
 * soon as the handshake completes, before the gateway reads a request byte.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { post, rawExchange, SAMPLE_REQUEST } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki, { clientAuth: { rejectMode: 'handshake' } })
})
afterAll(() => h.close())

describe('handshake reject mode', () => {
  it('closes the connection of a client without a certificate without any HTTP answer', async () => {
    const result = await rawExchange(pki, h.port, { request: SAMPLE_REQUEST })
    expect(result.data).toBe('')
    expect(h.host.received).toHaveLength(0)
    expect(h.logs.findLast((l) => l.event === 'connection_refused')).toMatchObject({
      reason: 'no_client_cert',
      mode: 'handshake',
    })
  })

  it('closes the connection of an untrusted client without any HTTP answer', async () => {
    const result = await rawExchange(pki, h.port, { client: pki.clients.otherCa, request: SAMPLE_REQUEST })
    expect(result.data).toBe('')
    expect(h.host.received).toHaveLength(0)
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'untrusted_issuer' })).toBe(1)
  })

  it('still serves a verified client', async () => {
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
  })
})
