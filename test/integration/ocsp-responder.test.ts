/**
 * The OCSP checker against real responders: `openssl ocsp -port 0` processes started here (one
 * per signer and index), and the failing responders a gateway meets (nothing listening, a
 * responder that accepts and never answers, HTTP errors, garbage). The leaves are issued by the
 * test PKI's Thredd Issuing CA, so they are the certificates the gateway's trust accepts.
 *
 * Every responder and server is stopped in afterAll / afterEach, also when a test fails.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { Registry, type Counter } from 'prom-client'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildOcspRequest } from '../../src/plane/identity/ocsp/ocsp-message.ts'
import type { OcspVerdict } from '../../src/plane/identity/ocsp/ocsp-policy.ts'
import { createMetrics, type Metrics } from '../../src/observability/metrics.ts'
import {
  createOcspChecker,
  type OcspChecker,
  type OcspCheckerDeps,
  type OcspConfig,
} from '../../src/plane/io/ocsp-checker.ts'
import { buildOcspPki, type PkiCert } from '../support/ocsp-pki.ts'
import { eventually, sleep } from '../support/wait.ts'
import {
  refusedPortUrl,
  respondOffline,
  startOcspResponder,
  startReplayServer,
  startStallingServer,
  writeOcspIndex,
  type ResponderOptions,
  type RunningServer,
} from '../support/ocsp.ts'

const testPki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-ocsp-it-'))
const pki = buildOcspPki(dir, {
  certFile: testPki.files['thredd-issuing-ca.pem']!,
  keyFile: testPki.files['thredd-issuing-ca.key']!,
})

const BASE: OcspConfig = {
  enabled: true,
  policy: 'hard',
  // Generous, so a test that waits gets the responder's answer; first-sight tests pass their own.
  firstSightTimeoutMs: 3000,
  requestTimeoutMs: 3000,
  refreshMarginSeconds: 3600,
  maxAgeSeconds: 3600,
  clockSkewSeconds: 300,
  maxResponseBytes: 65536,
  nonce: false,
  retryInitialMs: 100,
  retryMaxMs: 1000,
  maxCachedCertificates: 256,
}

const servers: RunningServer[] = []
async function serve<T extends RunningServer>(started: Promise<T>): Promise<T> {
  const server = await started
  servers.push(server)
  return server
}
const responder = (options: ResponderOptions) => serve(startOcspResponder(options))

const checkers: OcspChecker[] = []
function checker(overrides: Partial<OcspConfig> = {}, deps: Partial<OcspCheckerDeps> = {}) {
  const metrics = createMetrics(new Registry())
  const ocsp = createOcspChecker(
    { ...BASE, ...overrides },
    { logger: pino({ level: 'silent' }), metrics, ...deps },
  )
  checkers.push(ocsp)
  return { ocsp, metrics }
}

afterEach(async () => {
  await Promise.all(checkers.splice(0).map((c) => c.close()))
})
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()))
  rmSync(dir, { recursive: true, force: true })
})

async function count(counter: Counter, labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get()
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0)
}
const queries = (metrics: Metrics, result: string) => count(metrics.ocspQueries, { result })

const detailOf = (v: OcspVerdict) => ('detail' in v ? v.detail : '')

let byIssuer: RunningServer
let byDelegate: RunningServer
let byRogue: RunningServer
let byOtherCa: RunningServer

beforeAll(async () => {
  ;[byIssuer, byDelegate, byRogue, byOtherCa] = await Promise.all([
    responder({ index: pki.index, ...pki.issuerSigner, args: ['-nmin', '60'] }),
    responder({ index: pki.index, ...pki.delegatedSigner, args: ['-nmin', '60'] }),
    responder({ index: pki.index, ca: pki.issuer.file, rsigner: pki.rogue.file, rkey: pki.rogue.keyFile }),
    responder({ index: pki.otherIndex, ...pki.otherSigner, args: ['-nmin', '60'] }),
  ])
})

describe('answers from openssl ocsp', () => {
  it('good: admits, and later look-ups are cache hits', async () => {
    const { ocsp, metrics } = checker({ responderUrl: byIssuer.url })
    expect(await ocsp.wait(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
    expect(ocsp.status(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
    expect(ocsp.decide({ state: 'good' })).toEqual({ allow: true })
    expect(await queries(metrics, 'good')).toBe(1)
    expect(await count(metrics.ocspLookups, { result: 'hit' })).toBe(1)
  })

  it('revoked: refused with the reason code revoked', async () => {
    const { ocsp, metrics } = checker({ responderUrl: byIssuer.url })
    const verdict = await ocsp.wait(pki.revoked.cert, pki.issuer.cert)
    expect(verdict.state).toBe('revoked')
    expect(ocsp.decide(verdict)).toMatchObject({ allow: false, reason: 'revoked' })
    expect(await queries(metrics, 'revoked')).toBe(1)
  })

  it('revoked is refused under the soft policy too', async () => {
    const { ocsp } = checker({ responderUrl: byIssuer.url, policy: 'soft' })
    const verdict = await ocsp.wait(pki.revoked.cert, pki.issuer.cert)
    expect(ocsp.decide(verdict)).toMatchObject({ allow: false, reason: 'revoked' })
  })

  it('unknown: no good answer, refused as ocsp_unavailable under hard', async () => {
    const { ocsp, metrics } = checker({ responderUrl: byIssuer.url })
    const verdict = await ocsp.wait(pki.unknown.cert, pki.issuer.cert)
    expect(verdict.state).toBe('unavailable')
    expect(detailOf(verdict)).toMatch(/unknown/)
    expect(ocsp.decide(verdict)).toMatchObject({ allow: false, reason: 'ocsp_unavailable' })
    expect(await queries(metrics, 'unknown')).toBe(1)
  })

  it('unknown under soft: admitted with a warning, and counted', async () => {
    const { ocsp, metrics } = checker({ responderUrl: byIssuer.url, policy: 'soft' })
    const verdict = await ocsp.wait(pki.unknown.cert, pki.issuer.cert)
    expect(ocsp.decide(verdict)).toMatchObject({ allow: true, warn: expect.stringMatching(/unknown/) })
    expect(await count(metrics.ocspSoftAdmissions, { state: 'unavailable' })).toBe(1)
  })

  it('a delegated responder certified by the issuing CA: good', async () => {
    const { ocsp } = checker({ responderUrl: byDelegate.url })
    expect(await ocsp.wait(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
  })

  it('wrong signer: a responder the issuing CA did not authorise is not believed', async () => {
    const { ocsp, metrics } = checker({ responderUrl: byRogue.url })
    const verdict = await ocsp.wait(pki.good.cert, pki.issuer.cert)
    expect(verdict.state).toBe('unavailable')
    expect(detailOf(verdict)).toMatch(/^wrong_signer: /)
    expect(ocsp.decide(verdict)).toMatchObject({ allow: false, reason: 'ocsp_unavailable' })
    expect(await queries(metrics, 'wrong_signer')).toBe(1)
  })
})

describe('responders that fail', () => {
  it('down (connection refused): ocsp_unavailable', async () => {
    const { ocsp, metrics } = checker({ responderUrl: await refusedPortUrl() })
    const verdict = await ocsp.wait(pki.good.cert, pki.issuer.cert)
    expect(verdict.state).toBe('unavailable')
    expect(detailOf(verdict)).toMatch(/^unreachable: /)
    expect(ocsp.decide(verdict)).toMatchObject({ allow: false, reason: 'ocsp_unavailable' })
    expect(await queries(metrics, 'unreachable')).toBe(1)
  })

  it('slow: the first-sight wait is bounded, then the query times out', async () => {
    const stalling = await serve(startStallingServer())
    const { ocsp, metrics } = checker({ responderUrl: stalling.url, requestTimeoutMs: 500 })
    const verdict = await ocsp.wait(pki.good.cert, pki.issuer.cert, 100)
    expect(verdict).toEqual({ state: 'pending' })
    expect(ocsp.decide(verdict)).toMatchObject({ allow: false, reason: 'ocsp_unavailable' })
    expect(await count(metrics.ocspWaits, { result: 'timeout' })).toBe(1)
    await eventually(async () => (await queries(metrics, 'timeout')) === 1)
    expect(detailOf(ocsp.status(pki.good.cert, pki.issuer.cert))).toMatch(/^timeout: /)
  })

  it('slow under soft: the first connection is admitted with a warning and counted', async () => {
    const stalling = await serve(startStallingServer())
    const { ocsp, metrics } = checker({ responderUrl: stalling.url, policy: 'soft' })
    const verdict = await ocsp.wait(pki.good.cert, pki.issuer.cert, 100)
    expect(ocsp.decide(verdict)).toMatchObject({
      allow: true,
      warn: expect.stringMatching(/no OCSP answer yet/),
    })
    expect(await count(metrics.ocspSoftAdmissions, { state: 'pending' })).toBe(1)
  })

  it('stale: an answer whose nextUpdate has passed is refused', async () => {
    const short = await responder({ index: pki.index, ...pki.issuerSigner, args: ['-nmin', '1'] })
    // The gateway's clock is two minutes past the responder's one-minute answers.
    const { ocsp, metrics } = checker({ responderUrl: short.url }, { now: () => Date.now() + 120_000 })
    const verdict = await ocsp.wait(pki.good.cert, pki.issuer.cert)
    expect(detailOf(verdict)).toMatch(/^stale: nextUpdate .* has passed/)
    expect(ocsp.decide(verdict)).toMatchObject({ allow: false, reason: 'ocsp_unavailable' })
    expect(await queries(metrics, 'stale')).toBe(1)
  })

  it.each([
    { name: 'HTTP 500', status: 500, body: Buffer.from('error'), error: 'http_status' },
    {
      name: 'an answer past maxResponseBytes',
      status: 200,
      body: Buffer.alloc(4096, 0x30),
      error: 'too_large',
    },
    { name: 'garbage', status: 200, body: Buffer.from('<html>hello</html>'), error: 'malformed' },
  ])('$name: $error', async ({ status, body, error }) => {
    const server = await serve(startReplayServer(() => body, status))
    const { ocsp, metrics } = checker({ responderUrl: server.url, maxResponseBytes: 1024 })
    const verdict = await ocsp.wait(pki.good.cert, pki.issuer.cert)
    expect(detailOf(verdict)).toMatch(new RegExp(`^${error}: `))
    expect(await queries(metrics, error)).toBe(1)
  })

  it('retries with backoff until the responder answers, with nobody waiting', async () => {
    const good = respondOffline(
      pki.index,
      pki.issuerSigner,
      buildOcspRequest(pki.good.cert, pki.issuer.cert).der,
      ['-nmin', '60'],
    )
    let failing = true
    const server = await serve(startReplayServer(() => (failing ? Buffer.alloc(0) : good)))
    const { ocsp, metrics } = checker({ responderUrl: server.url })
    expect((await ocsp.wait(pki.good.cert, pki.issuer.cert)).state).toBe('unavailable')
    failing = false
    await eventually(async () => (await queries(metrics, 'good')) === 1)
    expect(ocsp.status(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
    expect(await queries(metrics, 'malformed')).toBeGreaterThanOrEqual(1)
  })
})

describe('the cache', () => {
  /** A responder of its own, on a copy of the index the test may rewrite. */
  async function ownResponder(name: string, args: string[]) {
    const index = join(dir, `${name}-index.txt`)
    copyFileSync(pki.index, index)
    copyFileSync(`${pki.index}.attr`, `${index}.attr`)
    return { index, server: await responder({ index, ...pki.issuerSigner, args }) }
  }

  // Answers of `-nmin 1` live one minute and are refreshed at half-life: a gateway clock 29 s
  // ahead makes each refresh due about a second after the answer before it.
  const refreshClock = () => Date.now() + 29_000

  it('refreshes on its own before nextUpdate, with no look-ups at all', async () => {
    const { server } = await ownResponder('timer', ['-nmin', '1'])
    const { ocsp, metrics } = checker({ responderUrl: server.url }, { now: refreshClock })
    expect(await ocsp.wait(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
    await eventually(async () => (await queries(metrics, 'good')) >= 3)
    expect(await count(metrics.ocspLookups, {})).toBe(1)
  })

  it('no look-up waits while answers are refreshed (steady state)', async () => {
    const { server } = await ownResponder('steady', ['-nmin', '1'])
    const { ocsp, metrics } = checker({ responderUrl: server.url }, { now: refreshClock })
    expect(await ocsp.wait(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
    const seen = new Set<string>()
    await eventually(async () => {
      seen.add(ocsp.status(pki.good.cert, pki.issuer.cert).state)
      return (await queries(metrics, 'good')) >= 3
    })
    expect([...seen]).toEqual(['good'])
    expect(await count(metrics.ocspWaits, {})).toBe(1)
    expect(await count(metrics.ocspLookups, { result: 'miss' })).toBe(1)
  })

  it('a background refresh picks up a revocation without any look-up', async () => {
    const { server, index } = await ownResponder('revoke', ['-nmin', '1'])
    const { ocsp, metrics } = checker({ responderUrl: server.url }, { now: refreshClock })
    expect(await ocsp.wait(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
    writeOcspIndex(index, [{ cert: pki.good.cert, status: 'revoked', reason: 'keyCompromise' }])
    await eventually(async () => (await queries(metrics, 'revoked')) === 1)
    const verdict = ocsp.status(pki.good.cert, pki.issuer.cert)
    expect(ocsp.decide(verdict)).toMatchObject({ allow: false, reason: 'revoked' })
  })

  it('a look-up inside the refresh window answers from the cache and starts the refresh', async () => {
    const { ocsp, metrics } = checker({ responderUrl: byIssuer.url })
    await ocsp.wait(pki.good.cert, pki.issuer.cert)
    // 60-minute answers are due for refresh at half-life: look up 40 minutes later.
    expect(ocsp.status(pki.good.cert, pki.issuer.cert, Date.now() + 40 * 60_000)).toEqual({ state: 'good' })
    await eventually(async () => (await queries(metrics, 'good')) === 2)
  })

  it('keeps a valid answer while refreshes fail, and refuses once it expires', async () => {
    const { server } = await ownResponder('outage', ['-nmin', '60'])
    let offset = 0
    const { ocsp, metrics } = checker({ responderUrl: server.url }, { now: () => Date.now() + offset })
    expect(await ocsp.wait(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
    await server.stop()
    offset = 40 * 60_000
    expect(ocsp.status(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
    await eventually(async () => (await queries(metrics, 'unreachable')) >= 1)
    expect(ocsp.status(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
    offset = 61 * 60_000
    const verdict = ocsp.status(pki.good.cert, pki.issuer.cert)
    expect(detailOf(verdict)).toMatch(/^unreachable: .*expired at /)
    expect(ocsp.decide(verdict)).toMatchObject({ allow: false, reason: 'ocsp_unavailable' })
  })

  it('refuses to go back to an older answer: a replayed good does not lift a hold', async () => {
    const request = buildOcspRequest(pki.good.cert, pki.issuer.cert).der
    const olderGood = respondOffline(pki.index, pki.issuerSigner, request, ['-nmin', '60'])
    // Answer times have whole seconds: the newer answer must be at least a second younger.
    await sleep(1100)
    const holdIndex = writeOcspIndex(join(dir, 'hold-index.txt'), [
      { cert: pki.good.cert, status: 'revoked', reason: 'certificateHold' },
    ])
    const newerHold = respondOffline(holdIndex, pki.issuerSigner, request, ['-nmin', '60'])
    const served = [newerHold]
    const replay = await serve(startReplayServer(() => served.shift() ?? olderGood))
    const { ocsp, metrics } = checker({ responderUrl: replay.url })
    expect((await ocsp.wait(pki.good.cert, pki.issuer.cert)).state).toBe('revoked')
    // A look-up in the refresh window starts the refresh, which gets the older good answer.
    ocsp.status(pki.good.cert, pki.issuer.cert, Date.now() + 40 * 60_000)
    await eventually(async () => (await count(metrics.ocspQueries, {})) === 2)
    expect(await queries(metrics, 'older')).toBe(1)
    expect(ocsp.status(pki.good.cert, pki.issuer.cert).state).toBe('revoked')
  })

  it('is keyed by certificate fingerprint: same serial, other CA, no shared answer', async () => {
    // Both leaves carry the same serial; each names its own CA's responder (authorityInfoAccess).
    const serial = Buffer.from(pki.good.cert.serialNumber, 'hex')
    const ours = pki.mintLeaf('aia-ours', { serial, ocspUrls: [byIssuer.url] })
    const theirs = pki.mintLeaf('aia-theirs', { serial, byOtherCa: true, ocspUrls: [byOtherCa.url] })
    const { ocsp } = checker()
    expect(await ocsp.wait(ours.cert, pki.issuer.cert)).toEqual({ state: 'good' })
    expect((await ocsp.wait(theirs.cert, pki.otherCa.cert)).state).toBe('revoked')
    expect(ocsp.status(ours.cert, pki.issuer.cert)).toEqual({ state: 'good' })
  })

  it('a certificate that names no responder, with no responderUrl: ocsp_unavailable', async () => {
    const { ocsp, metrics } = checker()
    const verdict = await ocsp.wait(pki.good.cert, pki.issuer.cert)
    expect(detailOf(verdict)).toMatch(/^no_responder: /)
    expect(ocsp.decide(verdict)).toMatchObject({ allow: false, reason: 'ocsp_unavailable' })
    expect(await queries(metrics, 'no_responder')).toBe(1)
  })

  it('asks once for many simultaneous first sights (single flight)', async () => {
    const { ocsp, metrics } = checker({ responderUrl: byIssuer.url })
    const verdicts = await Promise.all(
      Array.from({ length: 10 }, () => ocsp.wait(pki.good.cert, pki.issuer.cert)),
    )
    expect(verdicts.every((v) => v.state === 'good')).toBe(true)
    expect(await count(metrics.ocspQueries, {})).toBe(1)
  })

  it('is bounded: the least recently seen certificate is dropped', async () => {
    const { ocsp, metrics } = checker({ responderUrl: byIssuer.url, maxCachedCertificates: 2 })
    const leaves: PkiCert[] = [pki.good, pki.revoked, pki.unknown]
    for (const leaf of leaves) await ocsp.wait(leaf.cert, pki.issuer.cert)
    expect(ocsp.status(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'pending' })
    expect(ocsp.status(pki.unknown.cert, pki.issuer.cert).state).toBe('unavailable')
    // The dropped certificate is asked about again; the kept one is not.
    await eventually(async () => (await count(metrics.ocspQueries, {})) === 4)
    expect(await queries(metrics, 'unknown')).toBe(1)
  })

  it('with nonce on: openssl echoes it and the answer is accepted', async () => {
    const { ocsp } = checker({ responderUrl: byIssuer.url, nonce: true })
    expect(await ocsp.wait(pki.good.cert, pki.issuer.cert)).toEqual({ state: 'good' })
  })

  it('with nonce on: a replayed answer is refused', async () => {
    const captured = respondOffline(
      pki.index,
      pki.issuerSigner,
      buildOcspRequest(pki.good.cert, pki.issuer.cert).der,
    )
    const replay = await serve(startReplayServer(() => captured))
    const { ocsp, metrics } = checker({ responderUrl: replay.url, nonce: true })
    expect(detailOf(await ocsp.wait(pki.good.cert, pki.issuer.cert))).toMatch(/^nonce_mismatch: /)
    expect(await queries(metrics, 'nonce_mismatch')).toBe(1)
  })

  it('close() ends a query on its way at once', async () => {
    const stalling = await serve(startStallingServer())
    const { ocsp } = checker({ responderUrl: stalling.url, requestTimeoutMs: 60_000 })
    const waiting = ocsp.wait(pki.good.cert, pki.issuer.cert, 60_000)
    await eventually(() => stalling.connections() === 1)
    const started = Date.now()
    await ocsp.close()
    expect(Date.now() - started).toBeLessThan(2000)
    expect((await waiting).state).toBe('unavailable')
    expect(ocsp.status(pki.good.cert, pki.issuer.cert).state).toBe('unavailable')
  })
})
