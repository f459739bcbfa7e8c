/**
 * Shadow trust (candidateTrust): every connection is also evaluated against a candidate trust;
 * differences are counted, logged once per certificate and shown by readiness, and the live
 * verdict never changes. Real TLS over loopback with the test PKI.
 */
import { afterEach, describe, expect, inject, it } from 'vitest'
import { post } from '../support/clients.ts'
import { startHarness, type Harness, type LogLine } from '../support/harness.ts'

const pki = inject('pki')
const f = pki.files
let h: Harness | undefined

afterEach(async () => {
  await h?.close()
  h = undefined
})

const DIFFERENCES = 'ehi_gateway_candidate_trust_differences_total'
const COMPARED = 'ehi_gateway_candidate_trust_connections_total'

/** A candidate that trusts only the other CA: what a rotation to a new Thredd CA looks like. */
const OTHER_CA_ONLY = { candidateTrust: { enabled: true, clientCa: [f['other-root-ca.pem']] } }
/** The live Thredd CAs as candidate, with CRLs; `more` adds pins, subjects or other CRLs. */
function threddCandidate(more: Record<string, unknown> = {}) {
  return {
    candidateTrust: {
      enabled: true,
      clientCa: [f['thredd-root-ca.pem'], f['thredd-issuing-ca.pem']],
      crl: { enabled: true, files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.crl.pem']] },
      ...more,
    },
  }
}

const differences = (kind: string, reason: string) => h!.counter(DIFFERENCES, { kind, reason })
const differenceLines = (): LogLine[] => h!.logs.filter((l) => l.event === 'candidate_trust_difference')

async function readiness(): Promise<{
  ready: boolean
  checks: { name: string; ok: boolean; detail: string }[]
}> {
  const res = await fetch(`http://127.0.0.1:${h!.gateway.adminPort}/readyz`)
  return (await res.json()) as { ready: boolean; checks: { name: string; ok: boolean; detail: string }[] }
}

describe('a candidate that trusts another CA only', () => {
  it('counts would_refuse untrusted_issuer for Thredd and leaves its 200 as it is', async () => {
    h = await startHarness(pki, OTHER_CA_ONLY)
    const res = await post(pki, h.port, { client: pki.clients.good })
    expect(res.status).toBe(200)
    expect(h.host.received).toHaveLength(1)
    expect(await differences('would_refuse', 'untrusted_issuer')).toBe(1)
    expect(await differences('would_allow', 'untrusted_issuer')).toBe(0)
    expect(await h.counter(COMPARED)).toBe(1)
  })

  it('counts would_allow untrusted_issuer for a client of the other CA, still refused and not forwarded', async () => {
    h = await startHarness(pki, OTHER_CA_ONLY)
    const res = await post(pki, h.port, { client: pki.clients.otherCa })
    expect(res.status).toBe(403)
    expect(res.headers['x-ehi-gateway-reason']).toBe('untrusted_issuer')
    expect(h.host.received).toHaveLength(0)
    expect(await differences('would_allow', 'untrusted_issuer')).toBe(1)
    expect(await differences('would_refuse', 'untrusted_issuer')).toBe(0)
  })

  it('logs each certificate and kind once, however many connections it makes', async () => {
    h = await startHarness(pki, OTHER_CA_ONLY)
    for (let i = 0; i < 5; i++) {
      expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
      expect((await post(pki, h.port, { client: pki.clients.otherCa })).status).toBe(403)
    }
    expect(await differences('would_refuse', 'untrusted_issuer')).toBe(5)
    expect(await differences('would_allow', 'untrusted_issuer')).toBe(5)
    expect(await h.counter(COMPARED)).toBe(10)
    const lines = differenceLines()
    expect(lines).toHaveLength(2)
    expect(lines.find((l) => l.kind === 'would_refuse')).toMatchObject({
      level: 'warn',
      reason: 'untrusted_issuer',
      live: { allow: true },
      candidate: { allow: false, reason: 'untrusted_issuer' },
      peer: { address: '127.0.0.1' },
      client: {
        subject: expect.stringContaining('CN=thredd-ehi-transport') as unknown,
        issuer: expect.stringContaining('CN=Test Thredd Issuing CA') as unknown,
        serial: expect.stringMatching(/^[0-9A-F]+$/) as unknown,
      },
    })
    expect(lines.find((l) => l.kind === 'would_allow')).toMatchObject({
      reason: 'untrusted_issuer',
      live: { allow: false, reason: 'untrusted_issuer' },
      candidate: { allow: true },
      client: { issuer: expect.stringContaining('CN=Other Root CA') as unknown },
    })
  })

  it('shows the candidate and its differences in readiness, without making the gateway unready', async () => {
    h = await startHarness(pki, OTHER_CA_ONLY)
    await post(pki, h.port, { client: pki.clients.good })
    await post(pki, h.port, { client: pki.clients.otherCa })
    await post(pki, h.port, { client: pki.clients.otherCa })
    const body = await readiness()
    const check = body.checks.find((c) => c.name === 'candidate_trust')
    expect(check?.ok).toBe(true)
    expect(check?.detail).toContain('loaded (reported only, never enforced): 1 CAs, first expiry')
    expect(check?.detail).toContain('CRLs off')
    expect(check?.detail).toContain(
      '3 connections compared: 1 would_refuse (untrusted_issuer 1), 2 would_allow (untrusted_issuer 2)',
    )
  })
})

describe('a candidate with the live CAs', () => {
  it('counts would_refuse pin_mismatch when its pin does not match Thredd', async () => {
    h = await startHarness(pki, threddCandidate({ pins: { spkiSha256: [pki.spki.sameNameNewKey] } }))
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
    expect(await differences('would_refuse', 'pin_mismatch')).toBe(1)
    expect(differenceLines()[0]).toMatchObject({ kind: 'would_refuse', reason: 'pin_mismatch' })
  })

  it('counts would_refuse revoked when its CRL revokes Thredd', async () => {
    h = await startHarness(
      pki,
      threddCandidate({
        crl: {
          enabled: true,
          files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.revokes-good.crl.pem']],
        },
      }),
    )
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
    expect(await differences('would_refuse', 'revoked')).toBe(1)
    const body = await readiness()
    expect(body.checks.find((c) => c.name === 'candidate_trust')?.detail).toContain(
      'CRLs current for all 2 CAs',
    )
  })

  it('counts nothing when it agrees with the live trust', async () => {
    h = await startHarness(pki, threddCandidate())
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
    expect((await post(pki, h.port, { client: pki.clients.otherCa })).status).toBe(403)
    expect(await h.counter(COMPARED)).toBe(2)
    expect(await h.counter(DIFFERENCES)).toBe(0)
    expect(differenceLines()).toEqual([])
  })
})

describe('the live verdict stands', () => {
  it('when the candidate evaluation throws: counted and logged as an error', async () => {
    h = await startHarness(pki, OTHER_CA_ONLY)
    const candidate = h.gateway.runtime().gate.candidate!
    candidate.evaluatePeer = () => {
      throw new Error('candidate bug')
    }
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
    expect((await post(pki, h.port, { client: pki.clients.otherCa })).status).toBe(403)
    expect(h.host.received).toHaveLength(2)
    expect(await h.counter('ehi_gateway_candidate_trust_errors_total')).toBe(3)
    expect(await h.counter(DIFFERENCES)).toBe(0)
    // One line per certificate, not per connection.
    expect(h.logs.filter((l) => l.event === 'candidate_trust_error')).toHaveLength(2)
  })
})

describe('without a candidate', () => {
  it('evaluates nothing more, counts nothing and adds no readiness check', async () => {
    h = await startHarness(pki)
    expect(h.gateway.runtime().gate.candidate).toBeUndefined()
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
    expect((await post(pki, h.port, { client: pki.clients.otherCa })).status).toBe(403)
    expect(await h.counter(COMPARED)).toBe(0)
    expect(await h.counter(DIFFERENCES)).toBe(0)
    const body = await readiness()
    expect(body.checks.map((c) => c.name)).not.toContain('candidate_trust')
    const metrics = await (await fetch(`http://127.0.0.1:${h.gateway.adminPort}/metrics`)).text()
    expect(metrics).not.toMatch(/^ehi_gateway_candidate_trust_differences_total\{/m)
    expect(metrics).not.toMatch(/^ehi_gateway_candidate_trust_config_info\{/m)
  })
})

describe('a reload', () => {
  it('adds a candidate, then removes it, without touching live verdicts', async () => {
    h = await startHarness(pki)
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)

    h.rewriteConfig(OTHER_CA_ONLY)
    expect(await h.gateway.reload()).toMatchObject({ ok: true, problems: [] })
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
    expect((await post(pki, h.port, { client: pki.clients.otherCa })).status).toBe(403)
    expect(await differences('would_refuse', 'untrusted_issuer')).toBe(1)
    expect(await differences('would_allow', 'untrusted_issuer')).toBe(1)
    const metrics = await (await fetch(`http://127.0.0.1:${h.gateway.adminPort}/metrics`)).text()
    expect(metrics).toContain(
      `ehi_gateway_candidate_trust_config_info{hash="${h.gateway.runtime().candidate!.hash}"} 1`,
    )

    h.rewriteConfig({ candidateTrust: { enabled: false, clientCa: [] } })
    expect(await h.gateway.reload()).toMatchObject({ ok: true, problems: [] })
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
    // A new candidate (here: none) starts its counts afresh.
    expect(await h.counter(COMPARED)).toBe(0)
    expect(await h.counter(DIFFERENCES)).toBe(0)
    expect((await readiness()).checks.map((c) => c.name)).not.toContain('candidate_trust')
  })

  it('with a bad candidate file fails and keeps the last good state', async () => {
    h = await startHarness(pki, OTHER_CA_ONLY)
    h.rewriteConfig({ candidateTrust: { clientCa: [pki.clients.good.cert] } })
    const result = await h.gateway.reload()
    expect(result.ok).toBe(false)
    expect(result.problems).toEqual([
      expect.stringMatching(/^candidateTrust\.clientCa\[0\]: .* is not a CA certificate/),
    ])
    await post(pki, h.port, { client: pki.clients.otherCa })
    expect(await differences('would_allow', 'untrusted_issuer')).toBe(1)
  })
})
