/**
 * TLS resumption skips the certificate exchange, and OpenSSL replays the verdict stored in the
 * session. A certificate revoked in a CRL loaded after its session was established must not
 * pass when that session is resumed.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { validateConfig } from '../../src/config/load-config.ts'
import { compileRuntime } from '../../src/runtime/compile-runtime.ts'
import { post } from '../support/clients.ts'
import { baseConfig, startHarness, type Harness } from '../support/harness.ts'
import { mintIssuingCrl } from '../support/test-pki.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki)
})
afterAll(() => h.close())

function runtimeWithCrl(issuingCrl: string) {
  const raw = baseConfig(pki, h.host.url) as { tls: { crl: { files: string[] } } }
  raw.tls.crl.files = [pki.files['thredd-root-ca.crl.pem']!, issuingCrl]
  const { config, issues } = validateConfig(raw)
  expect(issues).toEqual([])
  return compileRuntime(config)
}

describe('revocation and resumed sessions', () => {
  it('resumes sessions of a valid client (so the next test exercises resumption)', async () => {
    let session: Buffer | undefined
    await post(pki, h.port, { client: pki.clients.good, onSession: (s) => (session = s) })
    expect(session).toBeDefined()
    let resumed = false
    const res = await post(pki, h.port, {
      client: pki.clients.good,
      session: session!,
      onSocket: (socket) => socket.once('secureConnect', () => (resumed = socket.isSessionReused())),
    })
    expect(res.status).toBe(200)
    expect(resumed).toBe(true)
  })

  it('refuses a resumed session once its issuer CRL has passed nextUpdate, though OpenSSL resumes it', async () => {
    const shortCrl = mintIssuingCrl(pki, `short-${Date.now()}.crl.pem`, {
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 1500),
    })
    const shortLived = await startHarness(pki, {
      tls: { crl: { enabled: true, files: [pki.files['thredd-root-ca.crl.pem'], shortCrl] } },
    })
    try {
      let session: Buffer | undefined
      const first = await post(pki, shortLived.port, {
        client: pki.clients.good,
        onSession: (s) => (session = s),
      })
      expect(first.status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 1700))
      let resumed = false
      const res = await post(pki, shortLived.port, {
        client: pki.clients.good,
        session: session!,
        onSocket: (socket) => socket.once('secureConnect', () => (resumed = socket.isSessionReused())),
      })
      // OpenSSL resumed the session with its old verdict; the gateway's own check refused it.
      expect(resumed).toBe(true)
      expect(res.status).toBe(403)
      expect(res.headers['x-ehi-gateway-reason']).toBe('crl_expired')
      expect(shortLived.host.received).toHaveLength(1)
    } finally {
      await shortLived.close()
    }
  })

  it('refuses a session established before the CRL that revokes its certificate was loaded', async () => {
    let session: Buffer | undefined
    const first = await post(pki, h.port, { client: pki.clients.good, onSession: (s) => (session = s) })
    expect(first.status).toBe(200)

    h.gateway.applyRuntime(runtimeWithCrl(pki.files['thredd-issuing-ca.revokes-good.crl.pem']!))
    const hostBefore = h.host.received.length
    const res = await post(pki, h.port, { client: pki.clients.good, session: session! })
    expect(res.status).toBe(403)
    expect(res.headers['x-ehi-gateway-reason']).toBe('revoked')
    expect(h.host.received.length).toBe(hostBefore)
  })
})
