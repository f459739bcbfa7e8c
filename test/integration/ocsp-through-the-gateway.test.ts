/**
 * OCSP on the request path, over real TLS, against a real responder (`openssl ocsp`, started and
 * stopped by the test): a good answer admits, a revoked one refuses with the same reason code
 * as a CRL, no good answer refuses (hard) or admits with a warning (soft), and nothing refused
 * reaches the host.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { post, rawExchange, SAMPLE_REQUEST } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { refusedPortUrl, startOcspResponder, type RunningServer } from '../support/ocsp.ts'
import { buildOcspPki, type OcspPki, type PkiCert } from '../support/ocsp-pki.ts'

const pki = inject('pki')
let ocspPki: OcspPki
let responder: RunningServer
let rogueResponder: RunningServer
let h: Harness | undefined

beforeAll(async () => {
  // Leaves of the test PKI's Issuing CA, so they chain to the gateway's trust.
  ocspPki = buildOcspPki(mkdtempSync(join(tmpdir(), 'ehi-gateway-ocsp-gw-')), {
    certFile: pki.files['thredd-issuing-ca.pem']!,
    keyFile: pki.files['thredd-issuing-ca.key']!,
  })
  responder = await startOcspResponder({ ...ocspPki.issuerSigner, index: ocspPki.index })
  rogueResponder = await startOcspResponder({
    ca: ocspPki.issuer.file,
    rsigner: ocspPki.rogue.file,
    rkey: ocspPki.rogue.keyFile,
    index: ocspPki.index,
  })
})
afterAll(async () => {
  await responder?.stop()
  await rogueResponder?.stop()
})
afterEach(async () => {
  await h?.close()
  h = undefined
})

const client = (leaf: PkiCert) => ({ cert: leaf.file, key: leaf.keyFile })
const ocsp = (responderUrl: string, policy: 'hard' | 'soft' = 'hard') => ({
  // A generous first-sight wait: this test is about the verdicts, not the budget.
  tls: { ocsp: { enabled: true, policy, responderUrl, firstSightTimeoutMs: 3000 } },
})

describe('OCSP through the gateway', () => {
  it('admits a certificate the responder says is good, and serves the next connection from the cache', async () => {
    h = await startHarness(pki, ocsp(responder.url))
    expect((await post(pki, h.port, { client: client(ocspPki.good) })).status).toBe(200)
    expect((await post(pki, h.port, { client: client(ocspPki.good) })).status).toBe(200)
    expect(h.host.received).toHaveLength(2)
    expect(await h.counter('ehi_gateway_ocsp_queries_total')).toBe(1)
  })

  it('refuses a certificate the responder says is revoked, as revoked, and forwards nothing', async () => {
    h = await startHarness(pki, ocsp(responder.url))
    const answer = await post(pki, h.port, { client: client(ocspPki.revoked) })
    expect(answer.status).toBe(403)
    expect(answer.headers['x-ehi-gateway-reason']).toBe('revoked')
    expect(h.host.received).toHaveLength(0)
    expect(await h.counter('ehi_gateway_request_errors_total', { reason: 'revoked' })).toBe(1)
    expect(h.logs.findLast((l) => l.event === 'request')).toMatchObject({ reason: 'revoked' })
  })

  it('refuses a certificate the responder does not know (hard policy) as ocsp_unavailable', async () => {
    h = await startHarness(pki, ocsp(responder.url))
    const answer = await post(pki, h.port, { client: client(ocspPki.unknown) })
    expect(answer.status).toBe(403)
    expect(answer.headers['x-ehi-gateway-reason']).toBe('ocsp_unavailable')
    expect(h.host.received).toHaveLength(0)
  })

  it('refuses every client when the responder is down (hard policy)', async () => {
    h = await startHarness(pki, ocsp(await refusedPortUrl()))
    const answer = await post(pki, h.port, { client: client(ocspPki.good) })
    expect(answer.headers['x-ehi-gateway-reason']).toBe('ocsp_unavailable')
    expect(h.host.received).toHaveLength(0)
  })

  it('does not believe a responder the issuing CA did not authorise', async () => {
    h = await startHarness(pki, ocsp(rogueResponder.url))
    const answer = await post(pki, h.port, { client: client(ocspPki.good) })
    expect(answer.headers['x-ehi-gateway-reason']).toBe('ocsp_unavailable')
    expect(h.host.received).toHaveLength(0)
  })

  it('admits without a good answer under the soft policy, with a warning on the audit line and a count', async () => {
    h = await startHarness(pki, ocsp(await refusedPortUrl(), 'soft'))
    expect((await post(pki, h.port, { client: client(ocspPki.good) })).status).toBe(200)
    expect(await h.counter('ehi_gateway_ocsp_soft_admissions_total')).toBe(1)
    expect(String(h.logs.findLast((l) => l.event === 'request')?.detail)).toContain('tls.ocsp.policy is soft')
  })

  it('refuses a revoked certificate under the soft policy too', async () => {
    h = await startHarness(pki, ocsp(responder.url, 'soft'))
    const answer = await post(pki, h.port, { client: client(ocspPki.revoked) })
    expect(answer.headers['x-ehi-gateway-reason']).toBe('revoked')
  })

  it('refuses at the handshake, in handshake mode, a certificate the cache knows is revoked', async () => {
    h = await startHarness(pki, { ...ocsp(responder.url), clientAuth: { rejectMode: 'handshake' } })
    // The first connection asks the responder; its request gets the verdict.
    expect((await post(pki, h.port, { client: client(ocspPki.revoked) })).status).toBe(403)
    const second = await rawExchange(pki, h.port, {
      client: client(ocspPki.revoked),
      request: SAMPLE_REQUEST,
    })
    expect(second.data).toBe('')
    expect(h.logs.findLast((l) => l.event === 'connection_refused')).toMatchObject({
      reason: 'revoked',
      mode: 'handshake',
    })
    expect(h.host.received).toHaveLength(0)
  })

  it('asks nothing when OCSP is off (the default)', async () => {
    h = await startHarness(pki)
    expect((await post(pki, h.port, { client: client(ocspPki.revoked) })).status).toBe(200)
    expect(await h.counter('ehi_gateway_ocsp_queries_total')).toBe(0)
  })
})
