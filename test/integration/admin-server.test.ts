/**
 * The admin server: /livez, /readyz (which follows the host's reachability only with
 * admin.readinessChecksHost), /metrics with every documented metric. Plain HTTP on its own port,
 * never the EHI port.
 */
import { createServer, type AddressInfo, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { metricCatalog } from '../../src/tools/docs/render-docs.ts'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { poll } from '../support/wait.ts'

const pki = inject('pki')
let h: Harness
let admin: string

async function get(path: string) {
  const res = await fetch(`${admin}${path}`)
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') }
}

beforeAll(async () => {
  h = await startHarness(pki, { admin: { hostProbeIntervalMs: 100 } })
  admin = `http://127.0.0.1:${h.gateway.adminPort}`
})
afterAll(() => h.close())

describe('admin server', () => {
  it('runs on its own port', () => {
    expect(h.gateway.adminPort).toBeGreaterThan(0)
    expect(h.gateway.adminPort).not.toBe(h.port)
  })

  it('answers /livez', async () => {
    expect(await get('/livez')).toMatchObject({ status: 200 })
  })

  it('answers /readyz 200 with every check passing once the host was probed', async () => {
    const res = await poll(
      () => get('/readyz'),
      (r) => r.status === 200,
    )
    expect(res.status).toBe(200)
    const body = JSON.parse(res.text) as { ready: boolean; checks: { name: string; ok: boolean }[] }
    expect(body.ready).toBe(true)
    expect(body.checks.map((c) => c.name)).toEqual([
      'serving',
      'server_certificate',
      'client_cas',
      'crls',
      'host',
    ])
  })

  it('exposes every documented metric in Prometheus text format', async () => {
    await post(pki, h.port, { client: pki.clients.good })
    const res = await get('/metrics')
    expect(res.type).toContain('text/plain')
    for (const metric of metricCatalog()) expect(res.text, metric.name).toContain(`# TYPE ${metric.name} `)
    expect(res.text).toMatch(/^ehi_gateway_requests_total\{class="decision",outcome="host_answer"\} 1$/m)
    expect(res.text).toMatch(/^ehi_gateway_trust_config_info\{hash="[0-9a-f]{64}"\} 1$/m)
    expect(res.text).toMatch(
      /^ehi_gateway_certificate_expiry_timestamp_seconds\{role="client_ca",subject="O=Thredd Test, CN=Test Thredd Root CA"\} \d+/m,
    )
    expect(res.text).toMatch(
      /^ehi_gateway_crl_next_update_timestamp_seconds\{issuer="O=Thredd Test, CN=Test Thredd Issuing CA"\} \d+/m,
    )
    expect(res.text).toMatch(/^ehi_gateway_client_certificate_expiry_timestamp_seconds \d+/m)
  })

  it('is not served on the EHI port', async () => {
    const res = await post(pki, h.port, {
      client: pki.clients.good,
      path: '/metrics',
      method: 'GET',
      body: '',
    })
    expect(res.status).toBe(404)
    expect(res.body.toString()).not.toContain('# TYPE')
  })
})

describe('the internal host and readiness', () => {
  let stand: Server
  let hostPort: number
  let byDefault: Harness
  let checksHost: Harness
  beforeAll(async () => {
    stand = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => stand.listen(0, '127.0.0.1', resolve))
    hostPort = (stand.address() as AddressInfo).port
    const upstream = { url: `http://127.0.0.1:${hostPort}/ehi` }
    byDefault = await startHarness(pki, { upstream, admin: { hostProbeIntervalMs: 100 } })
    checksHost = await startHarness(pki, {
      upstream,
      admin: { hostProbeIntervalMs: 100, readinessChecksHost: true },
    })
  })
  afterAll(async () => {
    await byDefault?.close()
    await checksHost?.close()
    stand.close()
  })

  const adminGet = async (h: Harness, path: string) => {
    const res = await fetch(`http://127.0.0.1:${h.gateway.adminPort}${path}`)
    return { status: res.status, text: await res.text() }
  }
  const readyz = async (h: Harness) => {
    const res = await adminGet(h, '/readyz')
    return {
      status: res.status,
      body: JSON.parse(res.text) as { checks: { name: string; ok: boolean; detail: string }[] },
    }
  }
  const hostReachable = async (h: Harness) =>
    /^ehi_gateway_host_reachable (\d)$/m.exec((await adminGet(h, '/metrics')).text)?.[1]

  it('reports ehi_gateway_ready 1 at a scrape before anything asked /readyz', async () => {
    const text = (await adminGet(byDefault, '/metrics')).text
    expect(/^ehi_gateway_ready (\d)$/m.exec(text)?.[1]).toBe('1')
  })

  it('by default stays ready through a host outage, reporting the host; with admin.readinessChecksHost it turns unready and recovers', async () => {
    for (const h of [byDefault, checksHost])
      expect(
        (
          await poll(
            () => readyz(h),
            (r) => r.status === 200,
          )
        ).status,
      ).toBe(200)
    await new Promise((resolve) => stand.close(resolve))

    // admin.readinessChecksHost: true: unready, the host check names the failure.
    const down = await poll(
      () => readyz(checksHost),
      (r) => r.status === 503,
    )
    expect(down.status).toBe(503)
    expect(down.body.checks.find((c) => c.name === 'host')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('ECONNREFUSED'),
    })

    // The default: the probe sees the outage (metric and /readyz line), readiness stays.
    expect(
      await poll(
        () => hostReachable(byDefault),
        (v) => v === '0',
      ),
    ).toBe('0')
    const stays = await readyz(byDefault)
    expect(stays.status).toBe(200)
    expect(stays.body.checks.find((c) => c.name === 'host')).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/ECONNREFUSED.*reported only: admin\.readinessChecksHost is off/),
    })

    stand = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => stand.listen(hostPort, '127.0.0.1', resolve))
    expect(
      (
        await poll(
          () => readyz(checksHost),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200)
    expect(
      await poll(
        () => hostReachable(byDefault),
        (v) => v === '1',
      ),
    ).toBe('1')
  })
})
