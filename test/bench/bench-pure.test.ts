/**
 * The bench's pure parts: percentiles, HTTP framing, CPU accounting from /proc text, the plan
 * filters, the nginx and gateway configs, figures, ratios, target evaluation, smoke problems and
 * the markdown report. The smoke run (`npm run bench:smoke`, a check of `npm test`) is the
 * integration check.
 */
import { describe, expect, it } from 'vitest'
import { gatewayConfig } from '../../bench/lib/gateway.ts'
import { imageLaunch, parseDockerfile } from '../support/dockerfile.ts'
import { CHUNKED, UNTIL_CLOSE, chunkedEnd, parseResponseHead } from '../../bench/lib/http-response.ts'
import { gatewaySessions, jvmRun, metricValue, nginxSessions } from '../../bench/lib/jvm.ts'
import { requestText } from '../../bench/lib/messages.ts'
import { describeNginxVersion, renderNginxConf } from '../../bench/lib/nginx.ts'
import { pemBlocks } from '../../bench/lib/plain-node-proxy.ts'
import {
  filterPlan,
  fullPlan,
  parseFilter,
  planOrder,
  schedule,
  scenarioRounds,
  smokePlan,
} from '../../bench/lib/plan.ts'
import { parseProcStat, parseVmRssKiB, sumTreeTicks, treePids } from '../../bench/lib/proc-cpu.ts'
import {
  aggregate,
  evaluateTargets,
  figures,
  findAggregate,
  gatewayRatios,
  ratio,
  renderMarkdown,
  smokeProblems,
} from '../../bench/lib/report.ts'
import { median, quantilesOfSorted, summariseLatencies } from '../../bench/lib/stats.ts'
import type {
  BenchResult,
  GeneratorResult,
  KeyType,
  RunRecord,
  ScenarioSpec,
  TargetId,
} from '../../bench/lib/types.ts'

describe('percentiles', () => {
  it('uses nearest rank on 1..1000', () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => 1000 - i)
    expect(summariseLatencies(values)).toEqual({
      count: 1000,
      p50: 500,
      p90: 900,
      p99: 990,
      p999: 999,
      max: 1000,
    })
  })
  it('gives the max as p99.9 below 1000 samples, and zeros when empty', () => {
    expect(summariseLatencies(Float64Array.from([3, 1, 2])).p999).toBe(3)
    expect(summariseLatencies(new Float64Array(0))).toEqual({
      count: 0,
      p50: 0,
      p90: 0,
      p99: 0,
      p999: 0,
      max: 0,
    })
  })
  it('gives the CDF quantiles of a sorted buffer, nearest rank', () => {
    const sorted = Float64Array.from({ length: 1000 }, (_, i) => i + 1)
    expect(quantilesOfSorted(sorted, [0, 0.5, 0.99, 0.999, 1])).toEqual([1, 500, 990, 999, 1000])
    expect(quantilesOfSorted(new Float64Array(0), [0, 1])).toEqual([0, 0])
  })
  it('medians odd and even lists', () => {
    expect(median([5, 1, 3])).toBe(3)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([])).toBe(0)
  })
})

describe('HTTP response framing', () => {
  it('reads status, Content-Length and Connection', () => {
    expect(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\ncontent-length: 42')).toEqual({
      status: 200,
      bodyLength: 42,
      close: false,
    })
    expect(
      parseResponseHead('HTTP/1.1 504 Gateway Timeout\r\nConnection: close\r\nContent-Length: 0'),
    ).toEqual({ status: 504, bodyLength: 0, close: true })
  })
  it('knows chunked, read-to-close, HTTP/1.0 and bodiless answers', () => {
    expect(parseResponseHead('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked')?.bodyLength).toBe(CHUNKED)
    expect(parseResponseHead('HTTP/1.1 200 OK\r\nServer: x')?.bodyLength).toBe(UNTIL_CLOSE)
    expect(parseResponseHead('HTTP/1.0 200 OK\r\nContent-Length: 1')?.close).toBe(true)
    expect(parseResponseHead('HTTP/1.1 204 No Content')?.bodyLength).toBe(0)
  })
  it('refuses what is not HTTP or a bad length', () => {
    expect(parseResponseHead('NOT-HTTP garbage')).toBeNull()
    expect(parseResponseHead('HTTP/1.1 abc')).toBeNull()
    expect(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: -3')).toBeNull()
  })
  it('finds the end of a chunked body', () => {
    const body = Buffer.from('5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n')
    expect(chunkedEnd(body, 0)).toBe(body.length)
    expect(chunkedEnd(body.subarray(0, body.length - 2), 0)).toBe(-1)
    expect(chunkedEnd(Buffer.from('zz\r\n'), 0)).toBe(-2)
  })
})

describe('requests', () => {
  it('are complete HTTP/1.1 POSTs with an exact Content-Length and the answer header', () => {
    const text = requestText('mixed', 2, { host: '127.0.0.1:1', path: '/ehi', close: true, runId: 7 })
    const [head, body] = text.split('\r\n\r\n') as [string, string]
    expect(head).toMatch(/^POST \/ehi HTTP\/1\.1\r\n/)
    expect(head).toContain('x-bench-answer: presentment')
    expect(head).toContain('Connection: close')
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}`)
    expect(Buffer.byteLength(body)).toBeGreaterThan(5000)
  })
})

describe('CPU accounting from /proc', () => {
  const line = (pid: number, comm: string, ppid: number, utime: number, stime: number) =>
    `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 100 1000 10 18446744073709551615`

  it('parses a stat line whose name holds spaces and parentheses', () => {
    expect(parseProcStat(line(42, 'nginx: worker (x) process', 41, 150, 30))).toEqual({
      pid: 42,
      comm: 'nginx: worker (x) process',
      ppid: 41,
      utime: 150,
      stime: 30,
    })
    expect(parseProcStat('garbage')).toBeNull()
  })
  it('sums a process tree, descendants included, nothing else', () => {
    const stats = [
      line(10, 'node', 1, 100, 20), // gateway primary
      line(11, 'node', 10, 300, 50), // worker
      line(12, 'node', 10, 200, 40), // worker
      line(13, 'sh', 11, 5, 5), // grandchild
      line(20, 'node', 1, 999, 999), // unrelated
    ].map((l) => parseProcStat(l)!)
    expect(sumTreeTicks(stats, [10])).toBe(100 + 20 + 300 + 50 + 200 + 40 + 10)
    expect(sumTreeTicks(stats, [11, 20])).toBe(350 + 10 + 1998)
    expect(sumTreeTicks(stats, [99])).toBe(0)
    expect(treePids(stats, [11]).sort()).toEqual([11, 13])
  })
  it('reads VmRSS from a status text, none for a kernel thread', () => {
    expect(parseVmRssKiB('Name:\tnode\nVmPeak:\t 900000 kB\nVmRSS:\t   81234 kB\nRssAnon:\t 1 kB\n')).toBe(
      81234,
    )
    expect(parseVmRssKiB('Name:\tkworker/0:1\nState:\tI (idle)\n')).toBeNull()
  })
})

describe('plans', () => {
  it('has the three target scenarios in the full plan, for both key types', () => {
    const order = planOrder(fullPlan())
    const ids = (k: KeyType, t: TargetId) =>
      order
        .find((o) => o.keyType === k)!
        .targets.find((x) => x.target === t)!
        .scenarios.map((s) => s.id)
    for (const target of ['gw1', 'nginx', 'floor'] as const) {
      expect(ids('rsa', target)).toEqual(
        expect.arrayContaining(['connect-closed-auth', 'connect-open-100-auth', 'keepalive-closed-auth']),
      )
      expect(ids('ec', target)).toEqual(
        expect.arrayContaining(['connect-closed-auth', 'connect-open-100-auth']),
      )
    }
  })
  it('stays within its time budget, the full run within 25 minutes measured with its overheads', () => {
    for (const plan of [fullPlan(), smokePlan()]) {
      let measuredMs = 0
      let runs = 0
      for (const keyType of ['rsa', 'ec'] as const)
        for (const { scenario: s, targets } of schedule(plan, keyType)) {
          measuredMs += targets.length * (s.warmupMs + s.durationMs)
          runs += targets.length
        }
      // About 1.5 s per run to start the generator and settle (measured).
      expect(measuredMs + runs * 1500).toBeLessThan(plan.budgetMs * 0.75)
      if (plan.mode === 'full') expect(measuredMs + runs * 1500).toBeLessThan(20 * 60_000)
    }
  })
  it('repeats the judged scenarios every round, interleaved over the targets, the rest in round 1', () => {
    const plan = fullPlan()
    expect(plan.rounds).toBe(3)
    expect(smokePlan().rounds).toBe(1)
    const rsa = schedule(plan, 'rsa')
    const at = (round: number) => rsa.filter((r) => r.round === round).map((r) => r.scenario.id)
    expect(at(1)).toContain('connect-closed-mixed')
    expect(at(2)).not.toContain('connect-closed-mixed')
    expect(at(2)).toEqual(at(3))
    expect(at(3)).toEqual([
      'connect-closed-auth',
      'connect-open-100-auth',
      'resume-closed-auth',
      'keepalive-closed-auth',
    ])
    const connect2 = rsa.find((r) => r.round === 2 && r.scenario.id === 'connect-closed-auth')!
    expect(connect2.targets).toEqual([
      'floor',
      'node',
      'gw1',
      'nginx',
      'gw1-sqlite',
      'gw1-pg',
      'gwN',
      'nginxN',
    ])
    // Rounds follow each other: round 1 entirely, then round 2.
    expect(rsa.map((r) => r.round)).toEqual([...rsa.map((r) => r.round)].sort())
    expect(schedule(filterPlan(plan, parseFilter({ rounds: '2' })), 'ec').at(-1)!.round).toBe(2)
  })
  it('visits every target of a scenario in turn, each scenario once', () => {
    const rsa = planOrder(fullPlan()).find((o) => o.keyType === 'rsa')!
    const rounds = scenarioRounds(rsa.targets)
    expect(rounds.map((r) => r.scenario.id)).toEqual([...new Set(rounds.map((r) => r.scenario.id))])
    expect(rounds.find((r) => r.scenario.id === 'connect-closed-auth')!.targets).toEqual([
      'floor',
      'node',
      'gw1',
      'nginx',
      'gw1-sqlite',
      'gw1-pg',
      'gwN',
      'nginxN',
    ])
    expect(rounds.find((r) => r.scenario.id === 'connect-closed-mixed')!.targets).toEqual([
      'floor',
      'node',
      'gw1',
      'nginx',
    ])
  })
  it('filters by key type, target and scenario prefix', () => {
    const plan = filterPlan(fullPlan(), parseFilter({ keys: 'rsa', targets: 'gw1', scenarios: 'keepalive-' }))
    const order = planOrder(plan)
    expect(order.map((o) => o.keyType)).toEqual(['rsa'])
    expect(order[0]!.targets.map((t) => t.target)).toEqual(['gw1'])
    expect(order[0]!.targets[0]!.scenarios.every((s) => s.id.startsWith('keepalive-'))).toBe(true)
    expect(plan.crossCheck.targets).toEqual(['gw1'])
    expect(filterPlan(fullPlan(), parseFilter({ scenarios: 'connect-' })).crossCheck.targets).toEqual([])
    expect(() => parseFilter({ targets: 'haproxy' })).toThrow(/unknown target/)
    expect(parseFilter({ targets: 'node,nginxN,gw1-pg' }).targets).toEqual(['node', 'nginxN', 'gw1-pg'])
  })
})

describe('the gateway started as the image starts it', () => {
  const launch = (text: string) => imageLaunch(parseDockerfile(text))
  it('reads Node options, script and environment of the final stage only', () => {
    const text = [
      'FROM node:24 AS build',
      'ENV BUILD_ONLY=1',
      'ENTRYPOINT ["node", "build.js"]',
      'FROM node:24-slim AS runtime',
      'ENV NODE_ENV=production \\',
      '    EHI_GATEWAY_CONFIG="/etc/ehi-gateway/gateway.yaml"',
      '# a comment',
      'ENV MALLOC_ARENA_MAX=2',
      'ENTRYPOINT ["node", "--max-semi-space-size=4", "--enable-source-maps", "/app/dist/src/cli/main.js"]',
      'CMD ["serve"]',
    ].join('\n')
    expect(launch(text)).toEqual({
      nodeOptions: ['--max-semi-space-size=4', '--enable-source-maps'],
      script: '/app/dist/src/cli/main.js',
      env: {
        NODE_ENV: 'production',
        EHI_GATEWAY_CONFIG: '/etc/ehi-gateway/gateway.yaml',
        MALLOC_ARENA_MAX: '2',
      },
    })
  })
  it.each([
    ['no ENTRYPOINT', 'FROM node:24\nCMD ["serve"]', /no ENTRYPOINT/],
    ['an ENTRYPOINT that is not node', 'FROM node:24\nENTRYPOINT ["tini", "--"]', /is not \["node"/],
    [
      'node without a script',
      'FROM node:24\nENTRYPOINT ["node", "--max-semi-space-size=4"]',
      /names no script/,
    ],
  ])('refuses a Dockerfile with %s', (_name, text, error) => {
    expect(() => launch(text)).toThrow(error)
  })
})

describe('target configs', () => {
  const pki = {
    serverChain: '/p/server-chain.pem',
    serverKey: '/p/server.key',
    threddCaBundle: '/p/ca.pem',
    crlBundle: '/p/crls.pem',
    threddRootCa: '/p/root.pem',
    threddIssuingCa: '/p/issuing.pem',
    threddRootCrl: '/p/root.crl.pem',
    threddIssuingCrl: '/p/issuing.crl.pem',
  }
  it('configures nginx as the equivalent mTLS terminator', () => {
    const conf = renderNginxConf({ dir: '/w/n', port: 4000, upstreamPort: 5000, pki, upstreamKeepalive: 16 })
    for (const directive of [
      'daemon off;',
      'worker_processes 1;',
      'pid /w/n/nginx.pid;',
      'ssl_verify_client on;',
      'ssl_client_certificate /p/ca.pem;',
      'ssl_verify_depth 2;',
      'ssl_crl /p/crls.pem;',
      'ssl_protocols TLSv1.2 TLSv1.3;',
      'ssl_session_tickets on;',
      'keepalive 16;',
      'proxy_http_version 1.1;',
      'proxy_set_header X-Client-S-DN $ssl_client_s_dn;',
      'proxy_set_header X-Client-Serial $ssl_client_serial;',
      'proxy_set_header X-Client-Fingerprint $ssl_client_fingerprint;',
      'client_max_body_size 256k;',
      'access_log /w/n/access.log bench;',
      'conn=$connection reused=$ssl_session_reused',
      'listen 127.0.0.1:4000 ssl;',
      'server 127.0.0.1:5000;',
    ])
      expect(conf).toContain(directive)
    expect(conf).toMatch(/ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:[^;]*CHACHA20-POLY1305;/)
    expect(conf).toContain('ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256:')
  })
  it('runs nginx with one worker per CPU for the both-cores target', () => {
    const conf = renderNginxConf({
      dir: '/w/n',
      port: 4000,
      upstreamPort: 5000,
      pki,
      upstreamKeepalive: 16,
      workers: 'auto',
    })
    expect(conf).toContain('worker_processes auto;')
  })
  it('hands the plain Node proxy every CRL of the bundle (Node reads one per string)', () => {
    const crl = (n: number) => `-----BEGIN X509 CRL-----\nAAA${n}\n-----END X509 CRL-----\n`
    expect(pemBlocks(crl(1) + crl(2))).toEqual([crl(1).trim(), crl(2).trim()])
  })
  it('names nginx with the OpenSSL it runs with', () => {
    const output =
      'nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.22 25 Aug 2026 (running with OpenSSL 3.0.19 27 Jan 2026)\n'
    expect(describeNginxVersion(output)).toBe('nginx/1.22.1 (OpenSSL 3.0.19; built with 3.0.22)')
    expect(describeNginxVersion('nginx version: nginx/1.24.0\nbuilt with OpenSSL 3.0.2 15 Mar 2022\n')).toBe(
      'nginx/1.24.0 (OpenSSL 3.0.2)',
    )
  })
  it('configures the gateway as in production: CRLs on, log level info, the given workers', () => {
    const config = gatewayConfig({
      port: 4001,
      adminPort: 4002,
      upstreamPort: 5000,
      workers: 1,
      pki,
      upstreamConnections: 16,
    }) as {
      tls: { crl: { enabled: boolean; files: string[] } }
      log: { level: string }
      workers: number
      admin: { port: number }
      upstream: { url: string }
    }
    expect(config.tls.crl).toEqual({ enabled: true, files: ['/p/root.crl.pem', '/p/issuing.crl.pem'] })
    expect(config.log.level).toBe('info')
    expect(config.workers).toBe(1)
    expect(config.admin.port).toBe(4002)
    expect(config.upstream.url).toBe('http://127.0.0.1:5000/ehi')
    expect(config).not.toHaveProperty('ledger')
    const withLedger = gatewayConfig({
      port: 4001,
      adminPort: 4002,
      upstreamPort: 5000,
      workers: 1,
      pki,
      upstreamConnections: 16,
      ledger: { url: 'postgres://postgres@127.0.0.1:5432/bench', passwordFile: '/w/pw' },
    })
    expect(withLedger.ledger).toEqual({
      url: 'postgres://postgres@127.0.0.1:5432/bench',
      passwordFile: '/w/pw',
    })
  })
})

function spec(id: string, mode: ScenarioSpec['mode'] = 'connect'): ScenarioSpec {
  return { id, mode, loop: 'closed', plan: 'auth', concurrency: 8, warmupMs: 1000, durationMs: 4000 }
}

function result(over: Partial<GeneratorResult> = {}): GeneratorResult {
  return {
    ok: 1000,
    errors: 0,
    errorKinds: {},
    throughput: 250,
    completedInWindow: 1000,
    windowMs: 4000,
    latencyMs: { count: 1000, p50: 10, p90: 20, p99: 40, p999: 60, max: 80 },
    connections: 1000,
    resumed: 0,
    targetCpuMs: 3000,
    hostCpuMs: 200,
    generatorCpuMs: 2000,
    ...over,
  }
}

function run(
  target: TargetId,
  id: string,
  over: Partial<GeneratorResult> = {},
  keyType: KeyType = 'rsa',
): RunRecord {
  return {
    keyType,
    target,
    scenario: spec(id, id.startsWith('keepalive') ? 'keepalive' : 'connect'),
    result: result(over),
  }
}

describe('figures, ratios and targets', () => {
  it('derives CPU per message and utilisation from the window', () => {
    const f = figures(result({ resumed: 900, connections: 1000 }))
    expect(f.cpuPerMsgUs).toBe(3000)
    expect(f.perCoreMsgS).toBe(333)
    expect(f.targetCpuPct).toBe(75)
    expect(f.hostCpuPerMsgUs).toBe(200)
    expect(f.generatorCpuPct).toBe(50)
    expect(f.resumedPct).toBe(90)
    expect(figures(result({ completedInWindow: 0 })).cpuPerMsgUs).toBeNull()
  })
  it('rounds ratios and refuses missing or zero denominators', () => {
    expect(ratio(2400, 3000)).toBe(0.8)
    expect(ratio(1, 0)).toBeNull()
    expect(ratio(null, 3)).toBeNull()
  })
  it('gives each gateway figure against nginx, the plain Node proxy, the floor and the 200 ms budget', () => {
    const runs = [
      run('gw1', 'connect-closed-auth', { targetCpuMs: 2400, latencyMs: { ...result().latencyMs, p99: 50 } }),
      run('nginx', 'connect-closed-auth', { targetCpuMs: 3000 }),
      run('node', 'connect-closed-auth', { targetCpuMs: 2000 }),
      run('floor', 'connect-closed-auth', {
        targetCpuMs: 2000,
        latencyMs: { ...result().latencyMs, p99: 25 },
      }),
    ]
    const aggs = aggregate(runs)
    expect(gatewayRatios(aggs, findAggregate(aggs, 'rsa', 'gw1', 'connect-closed-auth')!)).toEqual({
      cpuVsNginx: 0.8,
      cpuVsNode: 1.2,
      cpuVsFloor: 1.2,
      p99VsNginx: 1.25,
      p99VsFloor: 2,
      budgetPctAtP99: 25,
    })
  })
  it('takes the median of each figure over the rounds and the min–max of CPU and p99', () => {
    const rounds = [2400, 3000, 2700].map((cpu, i) => ({
      ...run('gw1', 'connect-closed-auth', {
        targetCpuMs: cpu,
        latencyMs: { ...result().latencyMs, p99: [40, 30, 90][i]! },
        rss: { maxMiB: [80, 90, 85][i]!, processes: 2 },
      }),
      round: i + 1,
    }))
    const [agg] = aggregate(rounds)
    expect(agg!.rounds).toBe(3)
    expect(agg!.figures!.cpuPerMsgUs).toBe(2700)
    expect(agg!.cpuSpread).toEqual([2400, 3000])
    expect(agg!.figures!.p99).toBe(40)
    expect(agg!.p99Spread).toEqual([30, 90])
    expect(agg!.rss).toEqual({ maxMiB: 85, processes: 2 })
    // A round without a result does not count; no round at all: skipped.
    const none = aggregate([
      { keyType: 'rsa', target: 'nginx', scenario: spec('x'), skipped: 'boom', round: 1 },
    ])
    expect(none[0]!.figures).toBeNull()
    expect(none[0]!.skipped).toBe('boom')
  })
  it('judges every target on medians: met, MISSED or not measured', () => {
    const rounds = (target: TargetId, id: string, over: Partial<GeneratorResult>[]) =>
      over.map((o, i) => ({ ...run(target, id, o), round: i + 1 }))
    const lat = (p99: number, p999 = 60) => ({ latencyMs: { ...result().latencyMs, p99, p999 } })
    const runs = [
      // gw1 median 2,700 µs against nginx 3,000 (met ≤ 1.0, missed ≤ 0.8) and Node 2,500 (1.08 > 1.05).
      ...rounds('gw1', 'connect-closed-auth', [
        { targetCpuMs: 2400 },
        { targetCpuMs: 2700 },
        { targetCpuMs: 9000 },
      ]),
      ...rounds('nginx', 'connect-closed-auth', [{ targetCpuMs: 3000 }]),
      ...rounds('node', 'connect-closed-auth', [{ targetCpuMs: 2500 }]),
      ...rounds('gw1', 'connect-open-100-auth', [{ ...lat(47, 70), rss: { maxMiB: 130, processes: 2 } }]),
      ...rounds('nginx', 'connect-open-100-auth', [lat(40, 40)]),
      ...rounds('gwN', 'connect-closed-auth', [{ throughput: 460 }]),
      ...rounds('nginxN', 'connect-closed-auth', [{ throughput: 500 }]),
      // The ledger's p99 against gw1's worst round (one round here: 47 ms).
      ...rounds('gw1-sqlite', 'connect-open-100-auth', [lat(46)]),
      ...rounds('gw1-pg', 'connect-open-100-auth', [lat(60)]),
    ]
    const checks = evaluateTargets(runs)
    const verdict = (name: RegExp, keyType: KeyType = 'rsa', subject?: TargetId) =>
      checks.find((c) => name.test(c.name) && c.keyType === keyType && (!subject || c.subject === subject))!
        .met
    expect(verdict(/≤ 1.0 × nginx/)).toBe(true)
    expect(verdict(/moonshot/)).toBe(false)
    expect(verdict(/1.05 × plain Node/)).toBe(false)
    expect(verdict(/p99 ≤ 1.2 × nginx/)).toBe(true)
    expect(verdict(/p99.9 ≤ 1.5 × nginx/)).toBe(false)
    expect(verdict(/capacity/)).toBe(true)
    expect(verdict(/Memory/, 'rsa', 'gw1')).toBe(false)
    expect(verdict(/Ledger \(SQLite\): p99/)).toBe(true)
    expect(verdict(/Ledger \(PostgreSQL\): p99/)).toBe(false)
    expect(verdict(/Keep-alive/)).toBeNull()
    expect(checks.filter((c) => c.keyType === 'ec').every((c) => c.met === null)).toBe(true)
  })
})

function benchResult(runs: RunRecord[]): BenchResult {
  return {
    mode: 'smoke',
    machine: {
      cpus: 2,
      model: 'AMD EPYC',
      memoryGiB: 23.5,
      kernel: '6.1',
      node: 'v24.21.0',
      openssl: '3.5.8',
      nginx: 'nginx/1.22.1 (OpenSSL 3.0.19)',
      date: '2026-11-27T12:00:00.000Z',
      loadBefore: [0.5, 0.4, 0.3],
      loadAfter: [1.5, 0.6, 0.4],
    },
    durationS: 42,
    notes: ['a note'],
    cryptoFloor: [
      {
        keyType: 'rsa',
        iterations: 10,
        serverSignUs: 700,
        clientChainVerifyUs: 40,
        certificateVerifyUs: 20,
        ecdheX25519Us: 60,
        totalUs: 820,
      },
    ],
    runs,
    crossChecks: [
      {
        target: 'gw1',
        keyType: 'rsa',
        connections: 16,
        durationMs: 1000,
        generatorRps: 900,
        autocannonRps: 1000,
        generatorRuns: [900, 850],
        autocannonRuns: [950, 1000],
        generatorTargetUsPerReq: 1000,
        autocannonTargetUsPerReq: 1050,
        generatorClientCpuPct: 40,
        autocannonClientCpuPct: 90,
        autocannonErrors: 0,
        autocannonNon2xx: 0,
        ratio: 0.9,
      },
    ],
  }
}

describe('smoke problems', () => {
  it('tolerates the gateway’s 5xx answers under load and a missing nginx, not a broken suite', () => {
    const ok = benchResult([
      run('gw1', 'connect-closed-auth', { errors: 30, errorKinds: { status_504: 30 } }),
      {
        keyType: 'rsa',
        target: 'nginx',
        scenario: spec('connect-closed-auth'),
        skipped: 'nginx not installed',
      },
    ])
    expect(smokeProblems(ok)).toEqual([])
    const broken = benchResult([
      run('gw1', 'connect-closed-auth', { errors: 30, errorKinds: { ECONNRESET: 20, status_403: 10 } }),
      run('floor', 'connect-closed-auth', { ok: 0 }),
      {
        ...run('nginx', 'resume-closed-auth', { resumed: 0 }),
        scenario: spec('resume-closed-auth', 'resume'),
      },
      {
        keyType: 'rsa',
        target: 'gwN',
        scenario: spec('connect-closed-auth'),
        skipped: 'did not start: boom',
      },
    ])
    const problems = smokeProblems(broken)
    expect(problems).toHaveLength(4)
    expect(problems.join('\n')).toMatch(/30 errors/)
    expect(problems.join('\n')).toMatch(/no successful answer/)
    expect(problems.join('\n')).toMatch(/no TLS session was resumed/)
    expect(problems.join('\n')).toMatch(/did not start: boom/)
  })
})

describe('markdown report', () => {
  it('prints the machine, the targets, the tables, the crypto floor and the cross-check', () => {
    const md = renderMarkdown(
      benchResult([
        run('gw1', 'connect-closed-auth', { targetCpuMs: 2400 }),
        run('nginx', 'connect-closed-auth', { targetCpuMs: 3000 }),
        { keyType: 'rsa', target: 'floor', scenario: spec('connect-closed-auth'), skipped: 'did not start' },
      ]),
    )
    expect(md).toContain('2 CPUs (AMD EPYC), 23.5 GiB')
    expect(md).toContain('Node v24.21.0 (OpenSSL 3.5.8), nginx/1.22.1 (OpenSSL 3.0.19).')
    expect(md).toContain('before 0.5 / 0.4 / 0.3, after 1.5 / 0.6 / 0.4')
    expect(md).toContain(
      '| Thredd pattern: CPU per message ≤ 0.8 × nginx (moonshot) | RSA-2048 | ehi-gateway 1 worker | 2,400 µs | nginx | 3,000 µs | 0.80× | ≤ 0.80× | met |',
    )
    expect(md).toContain(
      '| Keep-alive: CPU per request ≤ 1.2 × plain Node proxy | RSA-2048 | ehi-gateway 1 worker | – | plain Node https proxy | – | – | ≤ 1.20× | not measured |',
    )
    expect(md).toContain(
      '| new conn, max (8 clients), auth | ehi-gateway 1 worker | 1 | 250 | 10.0 | 20.0 | 40.0 | 60.0 | 0 | 2,400 | 417 |',
    )
    expect(md).toContain(
      '| new conn, max (8 clients), auth | ehi-gateway 1 worker | 0.80× | – | – | 1.00× | – | 20.0% |',
    )
    expect(md).toContain('One round: each figure is a single measurement.')
    expect(md).toContain('skipped: did not start')
    expect(md).toContain('| RSA-2048 | 700.0 | 40.0 | 20.0 | 60.0 | 820.0 | 10 |')
    expect(md).toContain(
      '| ehi-gateway 1 worker | RSA-2048 | 16 | 900 | 1,000 | 0.90× | 1,000, 1,050 | 40, 90 | 900, 850; 950, 1,000 | 0 |',
    )
    // Every table row has as many cells as its header.
    for (const table of md.split('\n\n').filter((block) => block.startsWith('|'))) {
      const rows = table.trim().split('\n')
      const cells = (row: string) => row.split('|').length
      for (const row of rows) expect(cells(row)).toBe(cells(rows[0]!))
    }
  })
  it('prints medians with the spread of the rounds, and the RSS at 100/s', () => {
    const open100: ScenarioSpec = {
      ...spec('connect-open-100-auth'),
      loop: 'open',
      rate: 100,
      concurrency: 16,
    }
    const md = renderMarkdown({
      ...benchResult(
        [2400, 3000, 2700].flatMap((cpu, i) => [
          { ...run('gw1', 'connect-closed-auth', { targetCpuMs: cpu }), round: i + 1 },
          {
            ...run('gw1', 'connect-open-100-auth', { rss: { maxMiB: 90 + i, processes: 2 } }),
            scenario: open100,
            round: i + 1,
          },
        ]),
      ),
      rounds: 3,
    })
    expect(md).toContain('3 rounds: the whole scenario × target sequence ran 3 times')
    expect(md).toContain(
      '| new conn, max (8 clients), auth | ehi-gateway 1 worker | 3 | 250 | 10.0 | 20.0 | 40.0 (40.0–40.0) | 60.0 | 0 | 2,700 (2,400–3,000) |',
    )
    expect(md).toMatch(/\| new conn, 100\/s, auth \| ehi-gateway 1 worker \| 3 \|.* \| 91.0 \(2\) \|/)
    expect(md).toMatch(
      /Memory: largest gateway process RSS at 100\/s ≤ 120 MiB \| RSA-2048 \| ehi-gateway 1 worker \| 91.0 MiB \| – \| – \| – \| ≤ 120 MiB \| met \|/,
    )
  })
})

describe('JVM client scenario', () => {
  it('reads the gateway’s connection and resumption counters from /metrics', () => {
    const text = [
      '# HELP ehi_gateway_tls_sessions_resumed_total TLS handshakes that resumed an earlier session.',
      '# TYPE ehi_gateway_tls_sessions_resumed_total counter',
      'ehi_gateway_tls_sessions_resumed_total 712',
      'ehi_gateway_connections_accepted_total 1500',
      'ehi_gateway_connections_accepted_total_other 3',
    ].join('\n')
    expect(gatewaySessions(text)).toEqual({ connections: 1500, resumed: 712 })
    expect(metricValue('', 'ehi_gateway_tls_sessions_resumed_total')).toBe(0)
  })
  it('counts nginx connections once each, resumed when $ssl_session_reused is r', () => {
    const log = [
      '127.0.0.1 [x] "POST /ehi HTTP/1.1" 200 90 conn=1 reused=.',
      '127.0.0.1 [x] "POST /ehi HTTP/1.1" 200 90 conn=2 reused=r',
      '127.0.0.1 [x] "POST /ehi HTTP/1.1" 200 90 conn=2 reused=r',
      '127.0.0.1 [x] "POST /ehi HTTP/1.1" 200 90 conn=3 reused=r',
    ].join('\n')
    expect(nginxSessions(log)).toEqual({ connections: 3, resumed: 2 })
  })
  it('summarises a run: latency percentiles and the server’s counts over the run', () => {
    const r = jvmRun(
      'rsa',
      'gw1',
      { rate: 100, messages: 4 },
      { latenciesMs: [4, 1, 3, 2], errors: 0, connections: 4, java: '17.0.15' },
      { connections: 10, resumed: 2 },
      { connections: 14, resumed: 5 },
    )
    expect(r.latencyMs.p50).toBe(2)
    expect(r.latencyMs.max).toBe(4)
    expect(r.server).toEqual({ connections: 4, resumed: 3 })
    expect(
      jvmRun(
        'rsa',
        'node',
        { rate: 100, messages: 1 },
        { latenciesMs: [1], errors: 0, connections: 1, java: '17' },
        null,
        null,
      ).server,
    ).toBeNull()
    const md = renderMarkdown({ ...benchResult([]), jvm: [r] })
    expect(md).toContain('| ehi-gateway 1 worker | RSA-2048 | 100/s | 4 | 2.00 |')
    expect(md).toContain('| 4 | 3 / 4 | 17.0.15 |')
  })
})
