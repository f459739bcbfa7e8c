/**
 * The `serve` command under operation: SIGHUP reloads, SIGTERM under load drains without
 * losing an accepted request, and with two workers both serve, the metrics sum both, a reload
 * reaches both and a crashed worker is replaced.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startReferenceHost, type ReferenceHost } from '../../src/tools/reference-host/reference-host.ts'
import { runCli, type CliRun } from '../support/cli.ts'
import { post } from '../support/clients.ts'
import { sumMetric } from '../support/metrics-text.ts'
import { freePort } from '../support/ports.ts'
import { sleep, until } from '../support/wait.ts'

const pki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ops-'))
let host: ReferenceHost

beforeAll(async () => {
  host = await startReferenceHost()
})
afterAll(() => host.close())

interface Served {
  run: CliRun
  port: number
  adminPort: number
  file: string
  write(overrides?: Record<string, unknown>): void
  lines(): Record<string, unknown>[]
  metrics(): Promise<string>
}

async function serve(name: string, extra: Record<string, unknown> = {}): Promise<Served> {
  const port = await freePort()
  const adminPort = await freePort()
  const file = join(dir, `${name}.json`)
  const base = {
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort, hostProbeIntervalMs: 200 },
    tls: {
      serverCertificates: [{ cert: pki.files['server-chain.pem'], key: pki.files['server.key'] }],
      clientCa: [pki.files['thredd-root-ca.pem'], pki.files['thredd-issuing-ca.pem']],
    },
    upstream: { url: host.url },
    ehi: { threddBudgetMs: 10000, deadlineMs: { decision: 5000 } },
    reload: { watchFiles: false },
    workers: 1,
    ...extra,
  }
  const write = (overrides: Record<string, unknown> = {}) =>
    writeFileSync(file, JSON.stringify({ ...base, ...overrides }))
  write()
  const run = runCli(['serve', '--config', file])
  await run.waitFor('ehi-gateway started', 20_000)
  return {
    run,
    port,
    adminPort,
    file,
    write,
    lines: () =>
      run
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    metrics: async () => (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text(),
  }
}

describe('without a cluster', () => {
  it('reports its one data plane as one worker, without /readyz being asked first', async () => {
    const s = await serve('single')
    try {
      expect(await s.metrics()).toMatch(/^ehi_gateway_workers 1$/m)
    } finally {
      s.run.child.kill('SIGTERM')
      await s.run.exited
    }
  })
})

describe('SIGHUP', () => {
  it('reloads: a new CA bundle changes who is admitted', async () => {
    const s = await serve('sighup')
    try {
      expect((await post(pki, s.port, { client: pki.clients.otherCa })).status).toBe(403)
      s.write({
        tls: {
          serverCertificates: [{ cert: pki.files['server-chain.pem'], key: pki.files['server.key'] }],
          clientCa: [pki.files['other-root-ca.pem']],
        },
      })
      s.run.child.kill('SIGHUP')
      expect(
        await until(async () => (await post(pki, s.port, { client: pki.clients.otherCa })).status === 200),
      ).toBe(true)
      expect((await post(pki, s.port, { client: pki.clients.good })).headers['x-ehi-gateway-reason']).toBe(
        'untrusted_issuer',
      )
      expect(s.lines().find((l) => l.event === 'reloaded')).toMatchObject({ trigger: 'SIGHUP' })
    } finally {
      s.run.child.kill('SIGTERM')
      await s.run.exited
    }
  })
})

describe('SIGTERM under load', () => {
  it('answers every request it accepted, then exits 0', async () => {
    host.delayMs = 150
    const s = await serve('drain', { shutdown: { drainTimeoutMs: 5000 }, log: { level: 'debug' } })
    const outcomes: string[] = []
    const sends: Promise<void>[] = []
    // A message every 10 ms for 600 ms, each on a new connection as Thredd sends them.
    const load = (async () => {
      for (let i = 0; i < 60; i++) {
        sends.push(
          post(pki, s.port, { client: pki.clients.good }).then(
            (res) =>
              void outcomes.push(
                `http ${res.status} ${String(res.headers['x-ehi-gateway-reason'] ?? '')}`.trim(),
              ),
            (error: NodeJS.ErrnoException) => void outcomes.push(`error ${error.code ?? error.message}`),
          ),
        )
        await sleep(10)
      }
    })()
    await sleep(250)
    s.run.child.kill('SIGTERM')
    await load
    await Promise.all(sends)
    host.delayMs = 0
    expect(await s.run.exited).toBe(0)

    const lines = s.lines()
    const accepted = lines.filter((l) => l.event === 'connection_accepted').length
    const answeredByGateway = lines.filter((l) => l.event === 'request')
    const answered = outcomes.filter((o) => o.startsWith('http'))
    // Requests in flight at SIGTERM finished with the host's answer.
    const inFlightAtSigterm = Number(lines.find((l) => l.event === 'draining')?.inFlight)
    expect(inFlightAtSigterm).toBeGreaterThan(0)
    expect(answered.filter((o) => o === 'http 200').length).toBeGreaterThanOrEqual(inFlightAtSigterm)
    // Every connection the gateway accepted got its request answered, and every answer reached
    // its client. The other clients were refused before the gateway accepted them: connection
    // refused, or reset from the kernel's accept queue when the listener closed (Thredd
    // resends those; they never reached the gateway).
    expect(answeredByGateway.length).toBe(accepted)
    expect(answered.length).toBe(accepted)
    expect(answered.every((o) => o === 'http 200' || o === 'http 503 shutting_down')).toBe(true)
    expect(
      outcomes
        .filter((o) => o.startsWith('error'))
        .every((o) => o === 'error ECONNREFUSED' || o === 'error ECONNRESET'),
    ).toBe(true)
    expect(lines.some((l) => l.event === 'stopped')).toBe(true)
  })
})

describe('two workers', () => {
  let s: Served
  beforeAll(async () => {
    s = await serve('cluster', { workers: 2 })
    expect(
      await until(async () => (await fetch(`http://127.0.0.1:${s.adminPort}/readyz`)).status === 200),
    ).toBe(true)
  }, 40_000)
  afterAll(async () => {
    s.run.child.kill('SIGTERM')
    expect(await s.run.exited).toBe(0)
  })

  it('serves on both workers and sums their metrics on the one admin endpoint', async () => {
    for (let i = 0; i < 40; i++)
      expect((await post(pki, s.port, { client: pki.clients.good })).status).toBe(200)
    const pids = new Set(
      s
        .lines()
        .filter((l) => l.event === 'request')
        .map((l) => l.pid),
    )
    expect(pids.size).toBe(2)
    expect(sumMetric(await s.metrics(), 'ehi_gateway_requests_total')).toBe(40)
    expect(await s.metrics()).toMatch(/^ehi_gateway_workers 2$/m)
  })

  it('has each worker listen on the EHI port itself (SO_REUSEPORT), not the primary for them', () => {
    // /proc/net/tcp: local address as HEXIP:HEXPORT, state 0A = LISTEN.
    const port = s.port.toString(16).toUpperCase().padStart(4, '0')
    const listening = readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([, local, , state]) => local?.endsWith(`:${port}`) && state === '0A')
    expect(listening).toHaveLength(2)
  })

  it('applies a reload in every worker', async () => {
    s.write({ workers: 2, network: { allowlist: ['127.0.0.2/32'] } })
    s.run.child.kill('SIGHUP')
    expect(
      await until(async () => /ehi_gateway_reloads_total\{result="success"\} 1/.test(await s.metrics())),
    ).toBe(true)
    // Every new connection from 127.0.0.1 is now refused, whichever worker takes it.
    for (let i = 0; i < 10; i++) {
      await expect(post(pki, s.port, { client: pki.clients.good })).rejects.toMatchObject({
        code: 'ECONNRESET',
      })
    }
    expect((await post(pki, s.port, { client: pki.clients.good, localAddress: '127.0.0.2' })).status).toBe(
      200,
    )
  })

  it('replaces a worker that crashes and counts it', async () => {
    const workerPid = s.lines().find((l) => l.role === 'worker' && l.event === 'started')?.pid as number
    process.kill(workerPid, 'SIGKILL')
    expect(await until(async () => /ehi_gateway_worker_restarts_total 1/.test(await s.metrics()))).toBe(true)
    expect(
      await until(async () => (await fetch(`http://127.0.0.1:${s.adminPort}/readyz`)).status === 200),
    ).toBe(true)
    expect((await post(pki, s.port, { client: pki.clients.good, localAddress: '127.0.0.2' })).status).toBe(
      200,
    )
  })
})

describe('a worker started after a refused reload', () => {
  it('serves the trust the primary validated, not the widened file on disk', async () => {
    const narrow = { workers: 2, clientAuth: { allowedSubjects: { cn: ['not-thredd'] } } }
    const s = await serve('refork', narrow)
    const forwarded = host.received.length
    try {
      const ready = () =>
        until(async () => (await fetch(`http://127.0.0.1:${s.adminPort}/readyz`)).status === 200, 20_000)
      expect(await ready()).toBe(true)
      const refusedAll = async (n: number) => {
        const answers = []
        for (let i = 0; i < n; i++) answers.push(await post(pki, s.port, { client: pki.clients.good }))
        return answers.map((a) => `${a.status} ${String(a.headers['x-ehi-gateway-reason'])}`)
      }
      expect(new Set(await refusedAll(4))).toEqual(new Set(['403 subject_not_allowed']))
      // Widening on reload (a CN list emptied) is refused; the file on disk keeps the wide list.
      s.write({ workers: 2, clientAuth: { allowedSubjects: { cn: [] } } })
      s.run.child.kill('SIGHUP')
      expect(
        await until(async () => /ehi_gateway_reloads_total\{result="failure"\} 1/.test(await s.metrics())),
      ).toBe(true)
      // Every worker dies and is replaced: the new ones must not read the file.
      const pids = [
        ...new Set(
          s
            .lines()
            .filter((l) => l.role === 'worker' && l.event === 'started')
            .map((l) => l.pid as number),
        ),
      ]
      expect(pids).toHaveLength(2)
      for (const pid of pids) process.kill(pid, 'SIGKILL')
      expect(await until(async () => /ehi_gateway_worker_restarts_total 2/.test(await s.metrics()))).toBe(
        true,
      )
      expect(await ready()).toBe(true)
      expect(new Set(await refusedAll(12))).toEqual(new Set(['403 subject_not_allowed']))
      expect(host.received.length).toBe(forwarded)
    } finally {
      s.run.child.kill('SIGTERM')
      await s.run.exited
    }
  }, 60_000)
})
