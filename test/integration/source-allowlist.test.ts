/**
 * The source allowlist is applied on TCP accept, before any TLS work: a refused address never
 * completes a handshake, is counted once, and the host sees nothing. 127.0.0.2 plays the
 * address that is not Thredd's.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki, { network: { allowlist: ['127.0.0.1/32', '::1/128'] } })
})
afterAll(() => h.close())

describe('source allowlist', () => {
  it('closes a connection from an address outside the list before the TLS handshake', async () => {
    const error = await post(pki, h.port, { client: pki.clients.good, localAddress: '127.0.0.2' }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    )
    expect(error?.code).toBe('ECONNRESET')
    expect(h.host.received).toHaveLength(0)
  })

  it('counts and logs the refusal once, as ip_not_allowed with the peer address', async () => {
    const before = await h.counter('ehi_gateway_connections_refused_total')
    await post(pki, h.port, { client: pki.clients.good, localAddress: '127.0.0.2' }).catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await h.counter('ehi_gateway_connections_refused_total')).toBe(before + 1)
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'ip_not_allowed' })).toBe(
      before + 1,
    )
    expect(h.logs.findLast((l) => l.event === 'connection_refused')).toMatchObject({
      reason: 'ip_not_allowed',
      peer: { address: '127.0.0.2' },
    })
  })

  it('admits a listed address', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good, localAddress: '127.0.0.1' })
    expect(res.status).toBe(200)
    expect(h.host.received).toHaveLength(1)
  })
})
