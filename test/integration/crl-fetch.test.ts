/**
 * CRLs fetched over HTTP (tls.crl.fetch) against a real HTTP server started by the test: a good
 * CRL is verified and swapped in; a slow server, a 404, garbage, a CRL of another issuer or with
 * a forged signature, an older or expired CRL and a huge body all keep the last good CRL; the
 * cache lets a restart without network start; refreshes come before nextUpdate, on the polling
 * interval, and after a backoff. The last part wires the refresher to a running gateway the way
 * the control plane does, and checks over real TLS that a fetched CRL revokes a client.
 */
import { readFileSync, readdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { Registry } from 'prom-client'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { ConfigError } from '../../src/config/config-issues.ts'
import { validateConfig } from '../../src/config/load-config.ts'
import { compileRuntime } from '../../src/runtime/compile-runtime.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { createControlMetrics } from '../../src/observability/metrics.ts'
import { startControlPlane, type ControlPlane } from '../../src/control/control-plane.ts'
import { devCrlFiles, startCrlServer } from '../../src/tools/pki/crl-server.ts'
import { DEV_PKI_FILES, ensureDevPki } from '../../src/tools/pki/dev-pki.ts'
import { generateKeyPair } from '../../src/tools/pki/x509-builder.ts'
import { parseCrl } from '../../src/plane/tls/crl.ts'
import { crlCacheName, startCrlRefresher, type CrlRefresher } from '../../src/control/crl-refresh.ts'
import { splitPem, toPem } from '../../src/plane/tls/pem.ts'
import { loadTlsMaterial } from '../../src/runtime/tls-material.ts'
import { post } from '../support/clients.ts'
import { startCrlHttpServer, serve, type CrlHttpServer } from '../support/crl-http-server.ts'
import { baseConfig, startHarness, type Harness, type LogLine } from '../support/harness.ts'
import { issuingCa as issuingAuthority, mintIssuingCrl, type ClientName } from '../support/test-pki.ts'
import { makeCa, makeCrl } from '../support/unit-certs.ts'
import { sleep, until } from '../support/wait.ts'

const pki = inject('pki')
const f = pki.files
const HOUR = 3_600_000
const ISSUING = 'O=Thredd Test, CN=Test Thredd Issuing CA'
const issuingCa = new X509Certificate(readFileSync(f['thredd-issuing-ca.pem']!))

let server: CrlHttpServer
let refresher: CrlRefresher | undefined
const cleanups: (() => unknown)[] = []

beforeAll(async () => {
  server = await startCrlHttpServer()
})
afterAll(() => server.close())
afterEach(async () => {
  await refresher?.close()
  refresher = undefined
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

let counter = 0
/** A fresh URL path per test, so handlers never leak between tests. */
const path = (name = 'issuing.crl') => `/t${++counter}/${name}`

/** DER of a CRL of the test Issuing CA. Times are relative to now. */
function issuingCrl(
  crlNumber: number,
  options: { revoked?: ClientName[]; thisUpdate?: number; nextUpdate?: number } = {},
): Buffer {
  const file = mintIssuingCrl(pki, `fetch-${process.pid}-${++counter}.crl.pem`, {
    thisUpdate: new Date(Date.now() + (options.thisUpdate ?? -HOUR)),
    nextUpdate: new Date(Date.now() + (options.nextUpdate ?? 24 * HOUR)),
    revokedCerts: (options.revoked ?? []).map((name) => pki.clients[name].cert),
    crlNumber,
  })
  return splitPem(readFileSync(file, 'utf8'))[0]!.der
}

function configWith(fetch: Record<string, unknown>, crl: Record<string, unknown> = {}) {
  const raw = baseConfig(pki, 'http://127.0.0.1:9/ehi') as { tls: Record<string, unknown> }
  raw.tls.crl = {
    enabled: true,
    files: [f['thredd-root-ca.crl.pem']],
    ...crl,
    fetch: { timeoutMs: 1000, retryMinSeconds: 60, retryMaxSeconds: 600, ...fetch },
  }
  const { config, issues } = validateConfig(raw)
  expect(issues).toEqual([])
  return config
}

function start(fetch: Record<string, unknown>, crl: Record<string, unknown> = {}) {
  const config = configWith(fetch, crl)
  const logs: LogLine[] = []
  const logger = createLogger(
    { level: 'debug', pretty: false },
    {
      write: (line: string) => void logs.push(JSON.parse(line) as LogLine),
    },
  )
  const registry = new Registry()
  const metrics = createControlMetrics(registry)
  const updates: number[] = []
  refresher = startCrlRefresher({
    tls: () => config.tls,
    logger,
    metrics,
    onUpdate: () => updates.push(Date.now()),
    random: () => 0,
  })
  const fetches = async (labels: Record<string, string>) => {
    const { values } = await metrics.crlFetches.get()
    return values
      .filter((v) =>
        Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
      )
      .reduce((sum, v) => sum + v.value, 0)
  }
  return { config, logs, registry, metrics, updates, refresher, fetches }
}

/** CRL numbers of what the refresher holds. */
const held = (r: CrlRefresher) => r.current().map((c) => parseCrl(splitPem(c.pem)[0]!.der).crlNumber)

describe('a good fetch', () => {
  it('is verified, swapped in, counted and logged', async () => {
    const p = path()
    server.route(p, serve(issuingCrl(7)))
    const t = start({ urls: [server.url(p)] })
    await t.refresher.initial()

    expect(held(t.refresher)).toEqual([7n])
    expect(t.refresher.current()[0]!.source).toBe(server.url(p))
    expect(await t.fetches({ url: server.url(p), issuer: ISSUING, result: 'success', kind: 'updated' })).toBe(
      1,
    )
    const { values } = await t.metrics.crlLastFetchSuccess.get()
    expect(values[0]?.labels).toEqual({ url: server.url(p), issuer: ISSUING })
    expect(t.logs.find((l) => l.event === 'crl_updated')).toMatchObject({
      url: server.url(p),
      issuer: ISSUING,
    })
    // initial() is followed by the caller's compile: it does not call onUpdate itself.
    expect(t.updates).toEqual([])
  })

  it('takes a PEM body', async () => {
    const p = path()
    server.route(p, serve(toPem(issuingCrl(8), 'X509 CRL'), 'application/x-pem-file'))
    const t = start({ urls: [server.url(p)] })
    await t.refresher.initial()
    expect(held(t.refresher)).toEqual([8n])
  })

  it('follows a redirect', async () => {
    const from = path('old.crl')
    const to = path()
    server.route(from, (_req, res) => res.writeHead(302, { location: to }).end())
    server.route(to, serve(issuingCrl(9)))
    const t = start({ urls: [server.url(from)] })
    await t.refresher.initial()
    expect(held(t.refresher)).toEqual([9n])
  })

  it('of the same CRL again changes nothing and counts as unchanged', async () => {
    const p = path()
    server.route(p, serve(issuingCrl(10)))
    const t = start({ urls: [server.url(p)] })
    await t.refresher.initial()
    await t.refresher.refreshNow()
    expect(held(t.refresher)).toEqual([10n])
    expect(await t.fetches({ kind: 'unchanged', result: 'success' })).toBe(1)
    expect(t.updates).toEqual([])
  })

  it('of a partitioned CA: the CRLs of two scopes (Issuing Distribution Points) are both kept', async () => {
    const part = (name: string, crlNumber: number) =>
      issuingAuthority(pki).crl({
        thisUpdate: new Date(Date.now() - HOUR),
        nextUpdate: new Date(Date.now() + HOUR),
        crlNumber,
        issuingDistributionPoint: `http://crl.example/${name}.crl`,
      }).der
    const a = path('part-a.crl')
    const b = path('part-b.crl')
    server.route(a, serve(part('part-a', 5)))
    server.route(b, serve(part('part-b', 2)))
    const t = start({ urls: [server.url(a), server.url(b)] })
    await t.refresher.initial()
    expect(held(t.refresher).sort()).toEqual([2n, 5n])
  })

  it('from a CA certificate distribution point (fromDistributionPoints)', async () => {
    // A root and a sub-CA whose certificate names the root's CRL URL, as Thredd's Issuing CA
    // certificate names its Root CA's CRL.
    const p = path('root.crl')
    const root = makeCa('DP Root CA')
    const sub = makeCa('DP Sub CA', root, { crlDistributionPoints: [server.url(p)] })
    const dir = mkdtempSync(join(tmpdir(), 'ehi-crl-dp-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'root.pem'), root.pem)
    writeFileSync(join(dir, 'sub.pem'), sub.pem)
    server.route(
      p,
      serve(
        makeCrl(root, {
          crlNumber: 3,
          thisUpdate: new Date(Date.now() - HOUR),
          nextUpdate: new Date(Date.now() + HOUR),
        }),
      ),
    )
    const config = configWith({ fromDistributionPoints: true }, { files: [] })
    const registry = new Registry()
    const metrics = createControlMetrics(registry)
    refresher = startCrlRefresher({
      tls: () => ({ ...config.tls, clientCa: [join(dir, 'root.pem'), join(dir, 'sub.pem')] }),
      logger: createLogger({ level: 'silent', pretty: false }),
      metrics,
    })
    await refresher.initial()
    expect(held(refresher)).toEqual([3n])
    const { values } = await metrics.crlFetches.get()
    expect(values.map((v) => v.labels)).toEqual([
      { url: server.url(p), issuer: 'O=Unit Test, CN=DP Root CA', result: 'success', kind: 'updated' },
    ])
  })
})

describe('a failed fetch keeps the last good CRL', () => {
  /** Starts with CRL 20 in force, then the URL misbehaves and a refresh runs. */
  async function afterGood(
    handler: Parameters<CrlHttpServer['route']>[1],
    fetch: Record<string, unknown> = {},
  ) {
    const p = path()
    server.route(p, serve(issuingCrl(20)))
    const t = start({ urls: [server.url(p)], ...fetch })
    await t.refresher.initial()
    expect(held(t.refresher)).toEqual([20n])
    server.route(p, handler)
    const started = Date.now()
    await t.refresher.refreshNow()
    const took = Date.now() - started
    expect(held(t.refresher)).toEqual([20n])
    expect(t.updates).toEqual([])
    const failed = t.logs.findLast((l) => l.event === 'crl_fetch_failed')
    return { t, took, failed, url: server.url(p) }
  }

  it('on a server that never answers: timeout', async () => {
    const { t, took, failed } = await afterGood(() => undefined, { timeoutMs: 300 })
    expect(failed).toMatchObject({ kind: 'timeout', level: 'warn' })
    expect(took).toBeLessThan(5000)
    expect(await t.fetches({ result: 'failure', kind: 'timeout', issuer: ISSUING })).toBe(1)
  })

  it('on a server that sends the body too slowly: timeout', async () => {
    const { failed } = await afterGood(
      (_req, res) => {
        res.writeHead(200, { 'content-length': 4000 })
        const drip = setInterval(() => res.write('0'), 50)
        res.on('close', () => clearInterval(drip))
      },
      { timeoutMs: 400 },
    )
    expect(failed).toMatchObject({ kind: 'timeout' })
  })

  it('on a 404: http_status', async () => {
    const { failed } = await afterGood((_req, res) => res.writeHead(404).end('gone'))
    expect(failed).toMatchObject({ kind: 'http_status', detail: 'HTTP 404' })
  })

  it('on a body that is no CRL: unparsable', async () => {
    const { failed } = await afterGood(serve('<html><body>Service temporarily unavailable</body></html>'))
    expect(failed).toMatchObject({ kind: 'unparsable' })
  })

  it('on a DER body that is no CRL: unparsable', async () => {
    const { failed } = await afterGood(serve(Buffer.from(issuingCa.raw)))
    expect(failed).toMatchObject({ kind: 'unparsable' })
  })

  it('on a CRL of a CA that is not in tls.clientCa: unknown_issuer', async () => {
    const stranger = makeCa('Stranger CA')
    const { failed } = await afterGood(
      serve(
        makeCrl(stranger, {
          thisUpdate: new Date(Date.now() - HOUR),
          nextUpdate: new Date(Date.now() + HOUR),
        }),
      ),
    )
    expect(failed).toMatchObject({ kind: 'unknown_issuer' })
  })

  it("on a CRL with the Issuing CA's name but another key's signature: bad_signature", async () => {
    const forged = issuingAuthority(pki).crl({
      signingKey: generateKeyPair({ type: 'ec' }).privateKey,
      thisUpdate: new Date(Date.now() - HOUR),
      nextUpdate: new Date(Date.now() + 24 * HOUR),
      crlNumber: 99,
    }).der
    const { failed } = await afterGood(serve(forged))
    expect(failed).toMatchObject({ kind: 'bad_signature', issuer: ISSUING })
  })

  it('on an older CRL: older, naming both CRL numbers', async () => {
    const { failed } = await afterGood(serve(issuingCrl(15)))
    expect(failed).toMatchObject({ kind: 'older' })
    expect(failed?.detail).toMatch(/^CRL number 15, .*; in force: CRL number 20, /)
  })

  it('on a newer but expired CRL: expired', async () => {
    const { failed } = await afterGood(serve(issuingCrl(21, { thisUpdate: -48 * HOUR, nextUpdate: -HOUR })))
    expect(failed).toMatchObject({ kind: 'expired' })
  })

  it('on a delta CRL: unsupported', async () => {
    const delta = issuingAuthority(pki).crl({
      thisUpdate: new Date(Date.now() - HOUR),
      nextUpdate: new Date(Date.now() + HOUR),
      crlNumber: 30,
      deltaOf: 20,
    }).der
    const { failed } = await afterGood(serve(delta))
    expect(failed).toMatchObject({ kind: 'unsupported' })
  })

  it.each([
    { name: 'a huge body without Content-Length', declare: false },
    { name: 'a huge declared Content-Length', declare: true },
  ])('on $name: too_large, before the whole body is read', async ({ declare }) => {
    const total = 64 * 1024 * 1024
    const chunk = Buffer.alloc(64 * 1024, 0x30)
    let written = 0
    let ended = false
    const { failed } = await afterGood(
      (_req, res) => {
        res.writeHead(200, declare ? { 'content-length': total } : {})
        const pump = () => {
          while (written < total && !res.destroyed) {
            written += chunk.length
            if (!res.write(chunk)) {
              res.once('drain', pump)
              return
            }
          }
          if (written >= total) ended = !!res.end()
        }
        res.on('error', () => undefined)
        pump()
      },
      { maxBytes: 65536 },
    )
    expect(failed).toMatchObject({ kind: 'too_large' })
    // A declared size is refused before any of the body is read.
    expect(failed?.detail).toMatch(
      declare ? /^Content-Length \d+ is over maxBytes 65536$/ : /^the body is over/,
    )
    // The client hung up: the server could not write the whole body.
    await sleep(100)
    expect(ended).toBe(false)
    expect(written).toBeLessThan(total)
  })
})

describe('the cache', () => {
  it('is written atomically after a fetch, and a restart with the server down starts from it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ehi-crl-cache-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const own = await startCrlHttpServer()
    let ownClosed = false
    cleanups.push(() => (ownClosed ? undefined : own.close()))
    own.route('/issuing.crl', serve(issuingCrl(40, { revoked: ['revoked'] })))
    const url = own.url('/issuing.crl')

    const first = start({ urls: [url], cacheDir: dir })
    await first.refresher.initial()
    await first.refresher.close()
    expect(readdirSync(dir)).toEqual([crlCacheName(issuingCa.raw)])
    const cached = readFileSync(join(dir, crlCacheName(issuingCa.raw)), 'utf8')
    expect(cached).toContain(`# fetched from ${url} at `)
    expect(splitPem(cached).map((b) => b.label)).toEqual(['X509 CRL'])

    await own.close()
    ownClosed = true
    const second = start({ urls: [url], cacheDir: dir })
    await second.refresher.initial()
    expect(held(second.refresher)).toEqual([40n])
    expect(second.refresher.current()[0]!.source).toContain('(cache)')
    expect(second.logs.find((l) => l.event === 'crl_cache_loaded')).toBeDefined()
    expect(second.logs.find((l) => l.event === 'crl_fetch_failed')).toMatchObject({
      kind: 'network',
      issuer: ISSUING,
    })

    // tls.crl.files has the Root CA's CRL only: the cached CRL is what lets it compile (start).
    const runtime = compileRuntime(second.config, [], new Date(), second.refresher.current())
    const issuing = runtime.material.trust.cas.find((ca) => ca.cert.subject.includes('Issuing'))
    expect(issuing?.crls.map((c) => c.crlNumber)).toEqual([40n])
    expect(() => compileRuntime(second.config, [], new Date(), [])).toThrow(ConfigError)
    expect(() => compileRuntime(second.config, [], new Date(), [])).toThrow(
      /no CRL for CA .*Test Thredd Issuing CA/,
    )
  })

  it('ignores a cache file that is not a CRL of its CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ehi-crl-cache-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const stranger = makeCa('Cache Stranger CA')
    writeFileSync(join(dir, crlCacheName(issuingCa.raw)), toPem(makeCrl(stranger), 'X509 CRL'))
    const t = start({ urls: ['http://127.0.0.1:1/nothing.crl'], cacheDir: dir, timeoutMs: 500 })
    await t.refresher.initial()
    expect(t.refresher.current()).toEqual([])
    expect(t.logs.find((l) => l.event === 'crl_cache_ignored')).toMatchObject({
      why: 'not a CRL signed by this CA',
    })
  })
})

describe('refreshing', () => {
  it('fetches ahead of nextUpdate (refreshMarginSeconds) and swaps in the newer CRL before it', async () => {
    const p = path()
    // A CRL's times have whole seconds: nextUpdate lands up to 1 s before `soon`. 5 s keeps the
    // refresh (3 s before it) at least 1 s away even then; at 4 s it could fall inside the margin
    // by the time the first fetch finished, which backs off for retryMinSeconds (a CI flake).
    const soon = Date.now() + 5000
    server.route(p, serve(issuingCrl(50, { nextUpdate: soon - Date.now() })))
    const t = start({ urls: [server.url(p)], refreshMarginSeconds: 3, refreshIntervalSeconds: 3600 })
    await t.refresher.initial()
    expect(held(t.refresher)).toEqual([50n])
    server.route(p, serve(issuingCrl(51)))

    await until(() => t.updates.length > 0, 5000)
    expect(t.updates).toHaveLength(1)
    expect(t.updates[0]).toBeLessThan(soon)
    expect(held(t.refresher)).toEqual([51n])
  })

  it('polls on refreshIntervalSeconds, long before nextUpdate, so new revocations arrive', async () => {
    const p = path()
    server.route(p, serve(issuingCrl(60)))
    const t = start({ urls: [server.url(p)], refreshIntervalSeconds: 1 })
    await t.refresher.initial()
    server.route(p, serve(issuingCrl(61, { revoked: ['good'] })))
    await until(() => t.updates.length > 0, 4000)
    expect(held(t.refresher)).toEqual([61n])
  })

  it('retries a failed fetch after a backoff (retryMinSeconds)', async () => {
    const p = path()
    server.route(p, (_req, res) => res.writeHead(503).end())
    const t = start({ urls: [server.url(p)], retryMinSeconds: 1, retryMaxSeconds: 4 })
    await t.refresher.initial()
    expect(t.refresher.current()).toEqual([])
    server.route(p, serve(issuingCrl(70)))
    await until(() => t.updates.length > 0, 4000)
    expect(held(t.refresher)).toEqual([70n])
    expect(await t.fetches({ result: 'failure', kind: 'http_status' })).toBe(1)
    expect(await t.fetches({ result: 'success', kind: 'updated' })).toBe(1)
  })
})

describe('reconfigure() after a reload', () => {
  it('fetches a URL the reload added at once, and stops fetching one it removed', async () => {
    const old = path('old.crl')
    const added = path()
    server.route(old, (_req, res) => res.writeHead(404).end())
    server.route(added, serve(issuingCrl(80)))
    let urls = [server.url(old)]
    const config = configWith({ urls })
    const updates: number[] = []
    refresher = startCrlRefresher({
      tls: () => ({ ...config.tls, crl: { ...config.tls.crl, fetch: { ...config.tls.crl.fetch, urls } } }),
      logger: createLogger({ level: 'silent', pretty: false }),
      onUpdate: () => updates.push(Date.now()),
      random: () => 0,
    })
    await refresher.initial()
    expect(refresher.current()).toEqual([])

    urls = [server.url(added)]
    refresher.reconfigure()
    await until(() => updates.length > 0, 3000)
    expect(held(refresher)).toEqual([80n])
    const before = server.requests.filter((r) => r === old).length
    await refresher.refreshNow()
    expect(server.requests.filter((r) => r === old).length).toBe(before)
  })
})

describe('compiling with fetched CRLs (extraCrls)', () => {
  const stranger = makeCa('Removed CA')
  const strangerCrl = {
    pem: toPem(
      makeCrl(stranger, { thisUpdate: new Date(Date.now() - HOUR), nextUpdate: new Date(Date.now() + HOUR) }),
      'X509 CRL',
    ),
    source: 'http://crl.example/removed.crl',
  }
  const issuing = { pem: toPem(issuingCrl(5), 'X509 CRL'), source: 'http://crl.example/issuing.crl' }

  it('leaves out, with a warning, a fetched CRL whose CA left tls.clientCa', () => {
    const config = configWith({ urls: ['http://crl.example/issuing.crl'], cacheDir: '/tmp/unused' })
    const loaded = loadTlsMaterial(config.tls, new Date(), [issuing, strangerCrl])
    expect(loaded.issues).toEqual([])
    expect(loaded.material?.warnings).toContain(
      'the CRL from http://crl.example/removed.crl is left out: its issuer is not in tls.clientCa',
    )
  })

  it('still refuses such a CRL in tls.crl.files', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ehi-crl-files-')), 'removed.crl.pem')
    cleanups.push(() => rmSync(file, { force: true }))
    writeFileSync(file, strangerCrl.pem)
    const config = configWith(
      {},
      { files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.crl.pem'], file] },
    )
    expect(loadTlsMaterial(config.tls).issues.map((i) => i.message)).toEqual([
      expect.stringContaining('is issued by a CA that is not in tls.clientCa'),
    ])
  })

  it('names the CA without a CRL when fetching found none, and allows empty tls.crl.files only with fetching', () => {
    const fetching = configWith({ urls: ['http://crl.example/issuing.crl'] }, { files: [] })
    expect(loadTlsMaterial(fetching.tls, new Date(), [issuing]).issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/^no CRL for CA .*Test Thredd Root CA: none in tls.crl.files, and none fetched/),
    ])
    const notFetching = configWith({}, { files: [] })
    expect(loadTlsMaterial(notFetching.tls).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'tls.crl.files: is empty but tls.crl.enabled is true (and tls.crl.fetch is off)',
    ])
  })
})

describe('the demo CRL server (src/tools/pki/crl-server.ts)', () => {
  it("serves the dev PKI's CRLs, which the refresher fetches for both dev CAs", async () => {
    const certs = mkdtempSync(join(tmpdir(), 'ehi-dev-pki-'))
    cleanups.push(() => rmSync(certs, { recursive: true, force: true }))
    ensureDevPki(certs)
    const crlServer = await startCrlServer({ files: devCrlFiles(certs) })
    cleanups.push(() => crlServer.close())
    const config = configWith(
      { urls: [crlServer.url('/dev/thredd-issuing.crl'), crlServer.url('/dev/thredd-root.crl')] },
      { files: [] },
    )
    const tls = {
      ...config.tls,
      clientCa: [join(certs, DEV_PKI_FILES.threddRootCa), join(certs, DEV_PKI_FILES.threddIssuingCa)],
    }
    refresher = startCrlRefresher({
      tls: () => tls,
      logger: createLogger({ level: 'silent', pretty: false }),
    })
    await refresher.initial()
    expect(refresher.current()).toHaveLength(2)
    // With only fetched CRLs (tls.crl.files empty), the dev trust compiles.
    const material = loadTlsMaterial(tls, new Date(), refresher.current())
    expect(material.issues).toEqual([])
    expect(material.material?.trust.cas.map((ca) => ca.crls.length)).toEqual([1, 1])
  })

  it('serves a PEM CRL file as DER that the refresher takes', async () => {
    const crlServer = await startCrlServer({
      files: { '/dev/thredd-issuing.crl': f['thredd-issuing-ca.crl.pem']! },
    })
    cleanups.push(() => crlServer.close())
    const t = start({ urls: [crlServer.url('/dev/thredd-issuing.crl')] })
    await t.refresher.initial()
    expect(held(t.refresher)).toEqual([1n])
    expect((await fetch(crlServer.url('/other.crl'))).status).toBe(404)
  })
})

describe('wired to a running gateway (what the control plane does)', () => {
  let h: Harness | undefined
  let cp: ControlPlane | undefined
  afterEach(async () => {
    await refresher?.close()
    refresher = undefined
    await cp?.close()
    cp = undefined
    await h?.close()
    h = undefined
  })

  it('a fetched CRL revokes a client over TLS, and an older one fetched later does not undo it', async () => {
    const p = path()
    server.route(p, (_req, res) => res.writeHead(404).end())
    h = await startHarness(pki, { tls: { crl: { fetch: { urls: [server.url(p)], timeoutMs: 1000 } } } })
    const registry = new Registry()
    const metrics = createControlMetrics(registry)
    const gateway = h.gateway
    const r = startCrlRefresher({
      tls: () => cp!.runtime().config.tls,
      inForce: () => cp?.runtime().material.trust.cas,
      logger: gateway.logger,
      metrics,
      onUpdate: () => cp!.reload('crl'),
    })
    refresher = r
    cp = await startControlPlane({
      runtime: gateway.runtime(),
      source: { file: h.configFile, env: {} },
      logger: gateway.logger,
      registry,
      metrics,
      dataMetrics: async () => '',
      contentType: registry.contentType,
      apply: async (next) => gateway.applyRuntime(next),
      admin: false,
      watch: false,
      extraCrls: () => r.current(),
    })
    await r.initial()
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)

    // The CA revokes `good`: the next fetch swaps the CRL in and the gateway refuses it.
    server.route(p, serve(issuingCrl(Math.floor(Date.now() / 1000) + 100, { revoked: ['revoked', 'good'] })))
    await r.refreshNow()
    expect(h.logs.findLast((l) => l.event === 'reloaded')).toMatchObject({ trigger: 'crl' })
    const refused = await post(pki, h.port, { client: pki.clients.good })
    expect(refused.status).toBe(403)
    expect(refused.headers['x-ehi-gateway-reason']).toBe('revoked')

    // An older CRL (unexpired, without `good`) is refused by the refresher.
    server.route(p, serve(issuingCrl(Math.floor(Date.now() / 1000) + 50, { revoked: ['revoked'] })))
    await r.refreshNow()
    expect(h.logs.findLast((l) => l.event === 'crl_fetch_failed')).toMatchObject({ kind: 'older' })
    expect((await post(pki, h.port, { client: pki.clients.good })).headers['x-ehi-gateway-reason']).toBe(
      'revoked',
    )

    // A file reload compiles the fetched CRL in too (the file's own Issuing CA CRL is older).
    expect(await cp.reload('SIGHUP')).toMatchObject({ ok: true })
    expect((await post(pki, h.port, { client: pki.clients.good })).headers['x-ehi-gateway-reason']).toBe(
      'revoked',
    )
  })
})
