/**
 * Hot reload: the new material is validated as a whole, then swapped for new connections only;
 * a failed reload keeps the last good state, is logged and counted; a reload never widens
 * access by accident.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { mintIssuingCrl } from '../support/test-pki.ts'
import { sleep } from '../support/wait.ts'

const pki = inject('pki')
const f = pki.files
let h: Harness | undefined

afterEach(async () => {
  await h?.close()
  h = undefined
})

const noCrl = { tls: { crl: { enabled: false, files: [] } } }

describe('a reload that succeeds', () => {
  it('changes who is admitted for new connections while a long request in flight completes', async () => {
    h = await startHarness(pki, noCrl)
    h.host.delayMs = 1500
    const inFlight = post(pki, h.port, { client: pki.clients.good })
    await sleep(300)
    h.host.delayMs = 0

    h.rewriteConfig({ tls: { clientCa: [f['other-root-ca.pem']] } })
    const result = await h.gateway.reload('SIGHUP')
    expect(result).toMatchObject({ ok: true, problems: [] })

    expect((await post(pki, h.port, { client: pki.clients.good })).headers['x-ehi-gateway-reason']).toBe(
      'untrusted_issuer',
    )
    expect((await post(pki, h.port, { client: pki.clients.otherCa })).status).toBe(200)
    expect((await inFlight).status).toBe(200)
    expect(await h.counter('ehi_gateway_reloads_total', { result: 'success' })).toBe(1)
    expect(h.logs.findLast((l) => l.event === 'reloaded')).toMatchObject({
      trigger: 'SIGHUP',
      trustHash: result.trustHash,
    })
  })

  it('publishes the new trust hash', async () => {
    h = await startHarness(pki, noCrl)
    const before = h.gateway.runtime().material.trustHash
    h.rewriteConfig({ tls: { clientCa: [f['other-root-ca.pem']] } })
    await h.gateway.reload()
    const metrics = await (await fetch(`http://127.0.0.1:${h.gateway.adminPort}/metrics`)).text()
    expect(metrics).not.toContain(before)
    expect(metrics).toContain(
      `ehi_gateway_trust_config_info{hash="${h.gateway.runtime().material.trustHash}"} 1`,
    )
  })

  it('adds an allowlist entry (a new Thredd egress address)', async () => {
    h = await startHarness(pki, { network: { allowlist: ['192.0.2.1/32'] } })
    await expect(post(pki, h.port, { client: pki.clients.good })).rejects.toMatchObject({
      code: 'ECONNRESET',
    })
    h.rewriteConfig({ network: { allowlist: ['192.0.2.1/32', '127.0.0.1/32'] } })
    expect((await h.gateway.reload()).ok).toBe(true)
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
  })

  it('reports settings that need a restart and keeps serving on the old port', async () => {
    h = await startHarness(pki)
    h.rewriteConfig({ listen: { host: '127.0.0.1', port: 1 } })
    const result = await h.gateway.reload()
    expect(result).toMatchObject({ ok: true, needsRestart: ['listen'] })
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
  })
})

describe('a reload that fails keeps the last good state', () => {
  it('refuses a corrupt key, keeps serving with the old one, logs and counts the failure', async () => {
    h = await startHarness(pki)
    const badKey = `${h.configFile}.key`
    writeFileSync(badKey, '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n')
    h.rewriteConfig({ tls: { serverCertificates: [{ cert: f['server-chain.pem'], key: badKey }] } })
    const result = await h.gateway.reload('SIGHUP')
    expect(result.ok).toBe(false)
    expect(result.problems.join('\n')).toContain('tls.serverCertificates[0].key')
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
    expect(await h.counter('ehi_gateway_reloads_total', { result: 'failure' })).toBe(1)
    expect(h.logs.findLast((l) => l.event === 'reload_failed')).toMatchObject({
      level: 'error',
      trigger: 'SIGHUP',
    })
  })

  it('refuses a half-written CA file', async () => {
    h = await startHarness(pki)
    const half = `${h.configFile}.ca.pem`
    const text = readFileSync(f['thredd-issuing-ca.pem']!, 'utf8')
    writeFileSync(half, text.slice(0, Math.floor(text.length / 2)))
    h.rewriteConfig({ tls: { clientCa: [f['thredd-root-ca.pem'], half] } })
    const result = await h.gateway.reload()
    expect(result.ok).toBe(false)
    expect(result.problems.join('\n')).toMatch(/incomplete PEM block|holds no PEM certificate/)
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
  })

  it('refuses a reload that would remove the source allowlist', async () => {
    h = await startHarness(pki, { network: { allowlist: ['127.0.0.1/32'] } })
    h.rewriteConfig({ network: { allowlist: [] } })
    const result = await h.gateway.reload()
    expect(result.ok).toBe(false)
    expect(result.problems.join('\n')).toContain('network.allowlist would become empty')
    await expect(
      post(pki, h.port, { client: pki.clients.good, localAddress: '127.0.0.2' }),
    ).rejects.toMatchObject({
      code: 'ECONNRESET',
    })
  })

  it('refuses a reload that would turn CRL checking off', async () => {
    h = await startHarness(pki)
    h.rewriteConfig(noCrl)
    expect((await h.gateway.reload()).problems.join('\n')).toContain('tls.crl.enabled')
    expect((await post(pki, h.port, { client: pki.clients.revoked })).headers['x-ehi-gateway-reason']).toBe(
      'revoked',
    )
  })
})

describe('readiness follows the trust material', () => {
  it('fails when a CRL goes stale and recovers when a fresh one is reloaded', async () => {
    const short = mintIssuingCrl(pki, `ready-${Date.now()}.crl.pem`, {
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 1200),
    })
    h = await startHarness(pki, {
      tls: { crl: { enabled: true, files: [f['thredd-root-ca.crl.pem'], short] } },
    })
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${h!.gateway.adminPort}/readyz`)
      return { status: res.status, body: (await res.json()) as { checks: { name: string; ok: boolean }[] } }
    }
    let res = await readyz()
    for (let i = 0; i < 40 && res.status !== 200; i++) res = (await sleep(50), await readyz())
    expect(res.status).toBe(200)
    await sleep(1400)
    res = await readyz()
    expect(res.status).toBe(503)
    expect(res.body.checks.find((c) => c.name === 'crls')?.ok).toBe(false)

    mintIssuingCrl(pki, short.split('/').pop()!, {
      thisUpdate: new Date(Date.now() - 60_000),
      nextUpdate: new Date(Date.now() + 3_600_000),
    })
    expect((await h.gateway.reload()).ok).toBe(true)
    expect((await readyz()).status).toBe(200)
  })
})

describe('file watching', () => {
  it('reloads when a watched file changes', async () => {
    h = await startHarness(pki, { ...noCrl, reload: { watchFiles: true, debounceMs: 50 } })
    h.rewriteConfig({ tls: { clientCa: [f['other-root-ca.pem']] } })
    for (let i = 0; i < 60 && !h.logs.some((l) => l.event === 'reloaded'); i++) await sleep(50)
    expect(h.logs.find((l) => l.event === 'reloaded')).toMatchObject({ trigger: 'file' })
    expect((await post(pki, h.port, { client: pki.clients.otherCa })).status).toBe(200)
  })
})
