/**
 * Pins and subject rules are ANDed with chain validation: a pinned or allow-listed certificate
 * must still chain to the client CAs, and a valid chain must still match the pins and rules.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness | undefined

afterEach(async () => {
  await h?.close()
  h = undefined
})

function fingerprint(file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint256
}

describe('SPKI and certificate pins', () => {
  it('refuses a valid certificate whose key matches no pin as pin_mismatch', async () => {
    h = await startHarness(pki, { clientAuth: { pins: { spkiSha256: [pki.spki.good] } } })
    const res = await post(pki, h.port, { client: pki.clients.sameNameNewKey })
    expect(res.status).toBe(403)
    expect(res.headers['x-ehi-gateway-reason']).toBe('pin_mismatch')
    expect(h.host.received).toHaveLength(0)
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'pin_mismatch' })).toBe(1)
  })

  it('admits the pinned key, with the next key listed for rotation', async () => {
    h = await startHarness(pki, {
      clientAuth: { pins: { spkiSha256: [pki.spki.sameNameNewKey, pki.spki.good] } },
    })
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
  })

  it('admits a certificate pinned by its SHA-256 fingerprint (colon form)', async () => {
    h = await startHarness(pki, {
      clientAuth: { pins: { certSha256: [fingerprint(pki.clients.good.cert)] } },
    })
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
    expect((await post(pki, h.port, { client: pki.clients.sameNameNewKey })).status).toBe(403)
  })

  it('does not let a pin replace chain validation', async () => {
    h = await startHarness(pki, { clientAuth: { pins: { spkiSha256: [pki.spki.otherCa] } } })
    const res = await post(pki, h.port, { client: pki.clients.otherCa })
    expect(res.headers['x-ehi-gateway-reason']).toBe('untrusted_issuer')
    expect(h.host.received).toHaveLength(0)
  })
})

describe('subject allow-lists', () => {
  it('refuses a valid certificate whose CN is not listed as subject_not_allowed', async () => {
    h = await startHarness(pki, { clientAuth: { allowedSubjects: { cn: ['someone-else'] } } })
    const res = await post(pki, h.port, { client: pki.clients.good })
    expect(res.status).toBe(403)
    expect(res.headers['x-ehi-gateway-reason']).toBe('subject_not_allowed')
    expect(h.host.received).toHaveLength(0)
  })

  it('refuses a certificate with CN=evil next to the listed CN as subject_not_allowed', async () => {
    h = await startHarness(pki, { clientAuth: { allowedSubjects: { cn: ['thredd-ehi-transport'] } } })
    const res = await post(pki, h.port, { client: pki.clients.twoCns })
    expect(res.status).toBe(403)
    expect(res.headers['x-ehi-gateway-reason']).toBe('subject_not_allowed')
    expect(h.host.received).toHaveLength(0)
    // The same rule still admits the certificate with the one listed CN.
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
  })

  it('admits a certificate with two CNs when both are listed', async () => {
    h = await startHarness(pki, {
      clientAuth: { allowedSubjects: { cn: ['thredd-ehi-transport', 'evil'] } },
    })
    expect((await post(pki, h.port, { client: pki.clients.twoCns })).status).toBe(200)
  })

  it('matches any one of several OUs on the certificate', async () => {
    h = await startHarness(pki, {
      clientAuth: { allowedSubjects: { ou: ['Transport'], o: ['Thredd Test'] } },
    })
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
  })

  it('requires every configured list to match (AND across attributes)', async () => {
    h = await startHarness(pki, {
      clientAuth: { allowedSubjects: { cn: ['thredd-ehi-transport'], sanUri: ['spiffe://elsewhere/ehi'] } },
    })
    expect((await post(pki, h.port, { client: pki.clients.good })).headers['x-ehi-gateway-reason']).toBe(
      'subject_not_allowed',
    )
  })

  it('matches SAN entries', async () => {
    h = await startHarness(pki, {
      clientAuth: { allowedSubjects: { sanUri: ['spiffe://thredd.test/ehi'], sanDns: ['EHI.thredd.test'] } },
    })
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
  })
})
