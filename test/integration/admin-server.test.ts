/**
 * The admin server: /livez, /readyz that follows the host's reachability, /metrics with every
 * documented metric. Plain HTTP on its own port, never the EHI port.
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

describe('readiness follows the internal host', () => {
  let h2: Harness
  let stand: Server
  let hostPort: number
  beforeAll(async () => {
    stand = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => stand.listen(0, '127.0.0.1', resolve))
    hostPort = (stand.address() as AddressInfo).port
    h2 = await startHarness(pki, {
      upstream: { url: `http://127.0.0.1:${hostPort}/ehi` },
      admin: { hostProbeIntervalMs: 100 },
    })
  })
  afterAll(async () => {
    await h2.close()
    stand.close()
  })

  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${h2.gateway.adminPort}/readyz`)
    return {
      status: res.status,
      body: (await res.json()) as { checks: { name: string; ok: boolean; detail: string }[] },
    }
  }

  it('is ready while the host accepts connections, fails when it goes down, and recovers', async () => {
    expect((await poll(readyz, (r) => r.status === 200)).status).toBe(200)
    await new Promise((resolve) => stand.close(resolve))
    const down = await poll(readyz, (r) => r.status === 503)
    expect(down.status).toBe(503)
    expect(down.body.checks.find((c) => c.name === 'host')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('ECONNREFUSED'),
    })
    stand = createServer((socket) => socket.destroy())
    await new Promise<void>((resolve) => stand.listen(hostPort, '127.0.0.1', resolve))
    expect((await poll(readyz, (r) => r.status === 200)).status).toBe(200)
  })
})
