/**
 * Shadow trust across processes: `serve` with two workers and a candidate trust counts the
 * differences in the workers, the primary's /readyz and /metrics report them summed, and
 * `ehi-gateway check --admin` prints them as an informational check that never fails the run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startReferenceHost, type ReferenceHost } from '../../src/tools/reference-host/reference-host.ts'
import { asThredd, evidenceOf, runCheck } from '../support/check-cli.ts'
import { runCli, type CliRun } from '../support/cli.ts'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { sumMetric } from '../support/metrics-text.ts'
import { freePort } from '../support/ports.ts'
import { until } from '../support/wait.ts'

const pki = inject('pki')
const f = pki.files
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-candidate-'))
const ID = 'gateway.candidate-trust'

let host: ReferenceHost
let run: CliRun
let port: number
let adminPort: number
const admin = () => `http://127.0.0.1:${adminPort}`

beforeAll(async () => {
  host = await startReferenceHost()
  port = await freePort()
  adminPort = await freePort()
  const file = join(dir, 'gateway.json')
  writeFileSync(
    file,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      admin: { host: '127.0.0.1', port: adminPort, hostProbeIntervalMs: 200 },
      tls: {
        serverCertificates: [{ cert: f['server-chain.pem'], key: f['server.key'] }],
        clientCa: [f['thredd-root-ca.pem'], f['thredd-issuing-ca.pem']],
      },
      // The rotation rehearsal: the candidate trusts only the new CA.
      candidateTrust: { enabled: true, clientCa: [f['other-root-ca.pem']] },
      upstream: { url: host.url },
      ehi: { threddBudgetMs: 10000, deadlineMs: { decision: 5000 } },
      reload: { watchFiles: false },
      workers: 2,
    }),
  )
  run = runCli(['serve', '--config', file])
  await run.waitFor('ehi-gateway started', 20_000)
  expect(await until(async () => (await fetch(`${admin()}/readyz`)).status === 200, 20_000)).toBe(true)
}, 40_000)

afterAll(async () => {
  run?.child.kill('SIGTERM')
  await run?.exited
  await host?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('a candidate trust in cluster mode', () => {
  it('is counted in the workers and summed by the primary for /metrics and /readyz', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await post(pki, port, { client: pki.clients.good })).status).toBe(200)
      expect((await post(pki, port, { client: pki.clients.otherCa })).status).toBe(403)
    }
    const pids = new Set(
      run
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"event":"request"'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid),
    )
    expect(pids.size).toBe(2)
    const metrics = await (await fetch(`${admin()}/metrics`)).text()
    expect(sumMetric(metrics, 'ehi_gateway_candidate_trust_connections_total')).toBe(20)
    expect(
      sumMetric(metrics, 'ehi_gateway_candidate_trust_differences_total', {
        kind: 'would_refuse',
        reason: 'untrusted_issuer',
      }),
    ).toBe(10)
    expect(
      sumMetric(metrics, 'ehi_gateway_candidate_trust_differences_total', {
        kind: 'would_allow',
        reason: 'untrusted_issuer',
      }),
    ).toBe(10)
    // One log line per certificate and kind in each worker that saw it, not one per connection.
    const logged = run
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"event":"candidate_trust_difference"'))
    expect(logged.length).toBeGreaterThanOrEqual(2)
    expect(logged.length).toBeLessThanOrEqual(4)

    const ready = (await (await fetch(`${admin()}/readyz`)).json()) as {
      ready: boolean
      checks: { name: string; ok: boolean; detail: string }[]
    }
    expect(ready.ready).toBe(true)
    expect(ready.checks.find((c) => c.name === 'candidate_trust')).toMatchObject({
      ok: true,
      detail: expect.stringContaining(
        '20 connections compared: 10 would_refuse (untrusted_issuer 10), 10 would_allow (untrusted_issuer 10)',
      ) as unknown,
    })
  })

  it('is reported by check --admin as an informational check', async () => {
    const result = await runCheck(asThredd(pki, `https://127.0.0.1:${port}/ehi`, ['--admin', admin()]))
    const check = result.report.checks.find((c) => c.id === ID)
    expect(check).toMatchObject({ required: false, status: 'warn' })
    expect(check?.summary).toMatch(/^\d+ would_refuse, \d+ would_allow over \d+ connections$/)
    expect(evidenceOf(result, ID)).toMatch(/would_refuse untrusted_issuer: \d+/)
    expect(evidenceOf(result, ID)).toMatch(/would_allow untrusted_issuer: \d+/)
    expect(evidenceOf(result, ID)).toContain(
      '/readyz candidate_trust: loaded (reported only, never enforced)',
    )
    // Differences are a rehearsal's findings, not a failed go-live check.
    expect(result.report.failed).toEqual([])
    expect(result.code).toBe(0)
  }, 60_000)
})

describe('check --admin', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness(pki)
  })
  afterAll(() => h.close())

  it('skips the check when the gateway has no candidate trust', async () => {
    const result = await runCheck(
      asThredd(pki, `https://127.0.0.1:${h.port}/ehi`, [
        '--admin',
        `http://127.0.0.1:${h.gateway.adminPort}`,
      ]),
    )
    expect(result.report.checks.find((c) => c.id === ID)).toMatchObject({ required: false, status: 'skip' })
    expect(result.code).toBe(0)
  }, 60_000)

  it('refuses an admin address that is not an http URL', async () => {
    const cli = runCli(['check', `https://127.0.0.1:${h.port}/ehi`, '--admin', '127.0.0.1:8442'])
    expect(await cli.exited).toBe(2)
    expect(cli.stderr()).toContain('--admin must be the admin server URL')
    // One line that says where the usage is (cli-help.test.ts checks --help lists --admin URL).
    expect(cli.stderr().trim().split('\n')).toEqual([
      expect.stringMatching(/\(see ehi-gateway check --help\)$/),
    ])
  })
})
