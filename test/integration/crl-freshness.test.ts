/** An expired CRL refuses the clients of its CA as crl_expired, distinct from revoked. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki, {
    tls: {
      crl: {
        enabled: true,
        files: [pki.files['thredd-root-ca.crl.pem'], pki.files['thredd-issuing-ca.expired.crl.pem']],
      },
    },
  })
})
afterAll(() => h.close())

describe('CRL freshness', () => {
  it('refuses a valid client of a CA whose CRL is past nextUpdate as crl_expired', async () => {
    const res = await post(pki, h.port, { client: pki.clients.good })
    expect(res.status).toBe(403)
    expect(res.headers['x-ehi-gateway-reason']).toBe('crl_expired')
    expect(h.host.received).toHaveLength(0)
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'crl_expired' })).toBe(1)
  })

  it('warns at startup that the CRL has expired', () => {
    expect(h.logs.some((l) => l.event === 'config_warning' && String(l.msg).includes('expired'))).toBe(true)
  })
})
