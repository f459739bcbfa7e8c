/**
 * Hardening, part 3b: faults of the gateway's own process and files, under load. An unwritable
 * log destination (a full disk, a reader that went away), reloads with broken key, certificate
 * and CRL files, SIGTERM and SIGHUP, and a worker killed with SIGKILL. For each: what the client
 * sees, no accepted message lost or acknowledged without the host, and recovery without help.
 */
import { closeSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { startHarness, type Harness } from '../support/harness.ts'
import { freePort } from '../support/ports.ts'
import { sleep, until } from '../support/wait.ts'
import { startFaultHost, type FaultHost } from './fault-host.ts'
import {
  baseProcessConfig,
  childPids,
  devFull,
  startGatewayProcess,
  type GatewayProcess,
  reloadVariants,
} from './gateway-process.ts'
import { hardeningCase } from './recorder.ts'
import { audit, describeAudit, sendMany, type ClientAnswer } from './traffic.ts'

const pki = inject('pki')
const f = pki.files
let host: FaultHost
let gw: GatewayProcess | undefined

beforeAll(async () => {
  host = await startFaultHost()
})
afterAll(() => host?.close())
afterEach(async () => {
  await gw?.kill()
  gw = undefined
  host.mode = 'approve'
  host.delayMs = 0
})

const isHostAnswer = (a: ClientAnswer) =>
  a.status === 200 && !a.synthesized && a.ack === '1' && a.hostId === a.id

async function processConfig(extra: Record<string, unknown> = {}) {
  return { ...baseProcessConfig(pki, host.url, await freePort(), await freePort()), ...extra }
}

describe('unwritable log destination', () => {
  // pino's destination re-emits a write error other than EPIPE, and sonic-boom's flushSync
  // retries a failed write forever; observability/logger.ts drops the lines instead.
  it(
    'stdout on a full disk',
    hardeningCase(
      'fault',
      'log destination on a full disk (stdout is /dev/full: every write fails with ENOSPC)',
      'the gateway keeps serving (log lines are lost, requests are not) and still exits 0 on SIGTERM',
      async (c) => {
        const fd = devFull()
        try {
          gw = await startGatewayProcess(await processConfig(), {
            stdoutFd: fd,
            name: 'devfull',
            startTimeoutMs: 2500,
            tolerateNotReady: true,
          })
        } finally {
          closeSync(fd)
        }
        const answers: ClientAnswer[] = []
        for (let i = 0; i < 20; i++) {
          const [answer] = await sendMany(pki, gw.port, 1, { timeoutMs: 1500 })
          answers.push(answer!)
          if (answer!.status === 0) break
        }
        const livez = await gw.readyz()
        const running = !gw.hasExited()
        gw.child.kill('SIGTERM')
        const exit = await Promise.race([gw.exited, sleep(3000).then(() => 'still running after SIGTERM')])
        c.observe(
          `${answers.filter(isHostAnswer).length}/20 answered (${describeAudit(audit(answers, host.records))}); process running=${running}; readyz=${livez || 'no answer'}; SIGTERM: ${typeof exit === 'string' ? exit : `exit ${exit.code ?? exit.signal}`}`,
        )
        expect(answers.filter(isHostAnswer)).toHaveLength(20)
        expect(running).toBe(true)
        expect(exit).toEqual({ code: 0, signal: null })
      },
    ),
    20_000,
  )

  it(
    'stdout closed by its reader',
    hardeningCase(
      'fault',
      'log destination gone (stdout is a pipe whose reader closed: EPIPE)',
      'the gateway keeps serving (log lines are dropped) and exits 0 on SIGTERM',
      async (c) => {
        gw = await startGatewayProcess(await processConfig(), { closeStdout: true, name: 'epipe' })
        const answers = await sendMany(pki, gw.port, 20, { concurrency: 2, timeoutMs: 3000 })
        const running = !gw.hasExited()
        gw.child.kill('SIGTERM')
        const exit = await Promise.race([gw.exited, sleep(5000).then(() => 'still running after SIGTERM')])
        c.observe(
          `${answers.filter(isHostAnswer).length}/20 host answers; process running=${running}; SIGTERM: ${typeof exit === 'string' ? exit : `exit ${exit.code ?? exit.signal}`}`,
        )
        expect(answers.filter(isHostAnswer)).toHaveLength(20)
        expect(running).toBe(true)
        expect(exit).toEqual({ code: 0, signal: null })
      },
    ),
  )
})

describe('reload with broken files during load', () => {
  let h: Harness
  const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-hardening-reload-'))
  const names = [
    'server-chain.pem',
    'server.key',
    'thredd-root-ca.pem',
    'thredd-issuing-ca.pem',
    'thredd-root-ca.crl.pem',
    'thredd-issuing-ca.crl.pem',
  ]
  const local = (name: string) => join(dir, name)

  beforeAll(async () => {
    for (const name of names) copyFileSync(f[name]!, local(name))
    h = await startHarness(pki, {
      tls: {
        serverCertificates: [{ cert: local('server-chain.pem'), key: local('server.key') }],
        clientCa: [local('thredd-root-ca.pem'), local('thredd-issuing-ca.pem')],
        crl: { enabled: true, files: [local('thredd-root-ca.crl.pem'), local('thredd-issuing-ca.crl.pem')] },
      },
    })
  })
  afterAll(async () => {
    await h?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const half = (name: string) => {
    const text = readFileSync(f[name]!, 'utf8')
    writeFileSync(local(name), text.slice(0, Math.floor(text.length / 2)))
  }
  const missing = (name: string) => rmSync(local(name))
  const replace = (name: string, other: string) => copyFileSync(f[other]!, local(name))

  const variants: [string, string, () => void][] = [
    ['server key missing', 'server.key', () => missing('server.key')],
    ['server key truncated', 'server.key', () => half('server.key')],
    ['server key not matching the certificate', 'server.key', () => replace('server.key', 'unrelated.key')],
    ['server certificate missing', 'server-chain.pem', () => missing('server-chain.pem')],
    ['server certificate truncated', 'server-chain.pem', () => half('server-chain.pem')],
    [
      'server certificate not matching the key',
      'server-chain.pem',
      () => replace('server-chain.pem', 'server-rsa-chain.pem'),
    ],
    ['client CA certificate truncated', 'thredd-issuing-ca.pem', () => half('thredd-issuing-ca.pem')],
    ['CRL missing', 'thredd-issuing-ca.crl.pem', () => missing('thredd-issuing-ca.crl.pem')],
    ['CRL truncated', 'thredd-issuing-ca.crl.pem', () => half('thredd-issuing-ca.crl.pem')],
    [
      'CRL of the wrong CA (the Issuing CA left without one)',
      'thredd-issuing-ca.crl.pem',
      () => replace('thredd-issuing-ca.crl.pem', 'thredd-root-ca.crl.pem'),
    ],
  ]

  it.each(variants)('%s', async (label, file, breakIt) =>
    hardeningCase(
      'fault',
      `reload during load with the ${label}`,
      'the reload is refused as a whole (logged, counted as failure), traffic keeps the last good state with no failed request, and a reload after the file is fixed succeeds',
      async (c) => {
        const failuresBefore = await h.counter('ehi_gateway_reloads_total', { result: 'failure' })
        const trustBefore = h.gateway.runtime().material.trustHash
        const load = sendMany(pki, h.port, 24, { concurrency: 3 })
        await sleep(100)
        breakIt()
        const broken = await h.gateway.reload('SIGHUP')
        await sleep(100)
        copyFileSync(f[file]!, local(file))
        const fixed = await h.gateway.reload('SIGHUP')
        const answers = await load
        const failures =
          (await h.counter('ehi_gateway_reloads_total', { result: 'failure' })) - failuresBefore
        const ok = answers.filter((a) => a.status === 200 && !a.synthesized && a.ack === '1').length
        c.observe(
          `reload refused=${!broken.ok} (${broken.problems.join('; ').slice(0, 120)}); failure metric +${failures}; load ${ok}/${answers.length} host answers; reload after the fix ok=${fixed.ok}`,
        )
        expect(broken.ok).toBe(false)
        expect(failures).toBe(1)
        expect(h.logs.findLast((l) => l.event === 'reload_failed')).toBeDefined()
        expect(ok).toBe(answers.length)
        expect(fixed.ok).toBe(true)
        expect(h.gateway.runtime().material.trustHash).toBe(trustBefore)
      },
    )(),
  )
})

describe('signals and workers under load', () => {
  it(
    'SIGTERM during load',
    hardeningCase(
      'fault',
      'SIGTERM during load (a message every 10 ms, host answering in 100 ms)',
      'drains and exits 0; every connection the gateway accepted gets its answer (the host’s, or 503 shutting_down); later clients are refused at TCP (ECONNREFUSED/ECONNRESET, Thredd resends); no Ack 1 the host did not give',
      async (c) => {
        host.delayMs = 100
        gw = await startGatewayProcess(
          await processConfig({ log: { level: 'debug' }, shutdown: { drainTimeoutMs: 5000 } }),
          { name: 'sigterm' },
        )
        let stop = false
        const load = sendMany(pki, gw.port, 200, { intervalMs: 10, stop: () => stop })
        await sleep(400)
        gw.child.kill('SIGTERM')
        const exit = await Promise.race([gw.exited, sleep(10_000).then(() => undefined)])
        stop = true
        const answers = await load
        const a = audit(answers, host.records)
        const accepted = gw.counts.get('connection_accepted') ?? 0
        const requests = gw.counts.get('request') ?? 0
        const answered = answers.filter((x) => x.status > 0)
        const badErrors = answers.filter(
          (x) => x.status === 0 && x.error !== 'ECONNREFUSED' && x.error !== 'ECONNRESET',
        )
        c.observe(
          `exit ${exit ? (exit.code ?? exit.signal) : 'none within 10 s'}; accepted ${accepted}, request lines ${requests}, clients answered ${answered.length}; ${describeAudit(a)}`,
        )
        expect(exit).toEqual({ code: 0, signal: null })
        expect(requests).toBe(accepted)
        expect(answered.length).toBe(accepted)
        expect(
          answered.every((x) => isHostAnswer(x) || (x.status === 503 && x.reason === 'shutting_down')),
        ).toBe(true)
        expect(badErrors).toEqual([])
        expect(a.falseAcks).toEqual([])
        expect(a.crossed).toEqual([])
      },
    ),
    30_000,
  )

  it(
    'SIGHUP during load',
    hardeningCase(
      'fault',
      'SIGHUP during load (10 reloads 300 ms apart, alternating two valid configurations)',
      'every reload succeeds; no request fails or changes answer; new connections get the new configuration',
      async (c) => {
        const config = await processConfig()
        gw = await startGatewayProcess(config, { name: 'sighup' })
        const variants = reloadVariants(pki, config.tls)
        let stop = false
        const load = sendMany(pki, gw.port, 10_000, { intervalMs: 15, stop: () => stop })
        for (let i = 0; i < 10; i++) {
          gw.writeConfig(variants[i % 2])
          gw.child.kill('SIGHUP')
          await sleep(300)
        }
        await sleep(300)
        stop = true
        const answers = await load
        await until(async () => (await gw!.metric('ehi_gateway_reloads_total')) >= 10, 5000)
        const success = await gw.metric('ehi_gateway_reloads_total', { result: 'success' })
        const failure = await gw.metric('ehi_gateway_reloads_total', { result: 'failure' })
        const ok = answers.filter(isHostAnswer).length
        c.observe(
          `${ok}/${answers.length} host answers; reloads success ${success}, failure ${failure}; ${describeAudit(audit(answers, host.records))}`,
        )
        expect(ok).toBe(answers.length)
        expect(success).toBe(10)
        expect(failure).toBe(0)
      },
    ),
    30_000,
  )

  it(
    'a worker killed during load',
    hardeningCase(
      'fault',
      'worker crash during load (workers: 2, one killed with SIGKILL)',
      'only requests the killed worker held at that moment fail (reset or never answered: Thredd sees no answer and resends or applies its default), none gets an Ack 1 the host did not give; the primary starts a new worker (worker_restarts_total 1, 2 workers, ready) and every message sent after that is served',
      async (c) => {
        host.delayMs = 50
        gw = await startGatewayProcess(await processConfig({ workers: 2 }), { name: 'workers' })
        await until(async () => (await gw!.readyz()) === 200, 15_000)
        const workers = childPids(gw.pid)
        let stop = false
        const load = sendMany(pki, gw.port, 10_000, { intervalMs: 15, stop: () => stop })
        await sleep(800)
        const killedAt = performance.now()
        process.kill(workers[0]!, 'SIGKILL')
        // A new worker process, then the gateway ready with two workers, then the restart counted.
        const newWorker = await until(() => childPids(gw!.pid).some((pid) => !workers.includes(pid)), 10_000)
        const newWorkerMs = performance.now() - killedAt
        const replaced =
          newWorker &&
          (await until(
            async () =>
              childPids(gw!.pid).length === 2 &&
              (await gw!.readyz()) === 200 &&
              (await gw!.metric('ehi_gateway_worker_restarts_total')) === 1,
            15_000,
          ))
        const replacedMs = performance.now() - killedAt
        await sleep(1500)
        stop = true
        const answers = await load
        const a = audit(answers, host.records)
        const failed = answers.filter((x) => x.status === 0)
        const afterReplacement = answers.filter((x) => x.sentAt > killedAt + replacedMs)
        // (A scrape while a worker is gone waits for prom-client's 5 s aggregation timeout.)
        let workersNow = NaN
        await until(async () => {
          workersNow = await gw!.metric('ehi_gateway_workers')
          return true
        }, 10_000)
        c.observe(
          `${answers.length} messages: ${describeAudit(a)}; failed ${failed.length} (${failed.map((x) => `${x.error} in flight ${Math.round(x.sentAt - killedAt)}..${Math.round(x.sentAt + x.latencyMs - killedAt)} ms around the kill`).join(', ') || '-'}); new worker after ${Math.round(newWorkerMs)} ms, ready and counted=${replaced} after ${Math.round(replacedMs)} ms, workers ${workersNow}; after replacement ${afterReplacement.filter(isHostAnswer).length}/${afterReplacement.length} host answers`,
        )
        expect(workers).toHaveLength(2)
        expect(replaced).toBe(true)
        expect(workersNow).toBe(2)
        expect(a.falseAcks).toEqual([])
        expect(a.crossed).toEqual([])
        // Reset, or (a connection the primary had just handed to the dying worker) never answered.
        expect(failed.every((x) => ['ECONNRESET', 'EPIPE', 'CLIENT_TIMEOUT'].includes(x.error!))).toBe(true)
        // ...and only messages in flight at the kill: sent before it, failed after it.
        expect(
          failed.every((x) => x.sentAt <= killedAt + 100 && x.sentAt + x.latencyMs >= killedAt - 10),
        ).toBe(true)
        expect(answers.filter((x) => x.status > 0).every(isHostAnswer)).toBe(true)
        expect(afterReplacement.length).toBeGreaterThan(0)
        expect(afterReplacement.every(isHostAnswer)).toBe(true)
      },
    ),
    40_000,
  )
})
