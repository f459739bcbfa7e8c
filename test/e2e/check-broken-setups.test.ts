/**
 * `ehi-gateway check` against deliberately broken endpoints (node:https servers, one defect
 * each): every one must fail, with the check that concerns its defect named. A correct server
 * of the same kind passes first, so each failure is the defect's and not the server's.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { asThredd, evidenceOf, runCheck } from '../support/check-cli.ts'
import {
  GATEWAY_TLS12_CIPHERS,
  startFakeEhiServer,
  type FakeServer,
  type FakeServerOptions,
} from '../support/fake-ehi-server.ts'

const pki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-broken-'))

// Leaf, then the root, then the intermediate: OpenSSL takes the first certificate as the leaf
// and sends the rest as given, so this is a chain served in the wrong order.
const wrongOrderChain = join(dir, 'wrong-order-chain.pem')
const read = (name: string) => readFileSync(pki.files[name]!, 'utf8')
const intermediate = read('server-chain.pem').slice(read('server-leaf-only.pem').length)
writeFileSync(wrongOrderChain, read('server-leaf-only.pem') + read('server-root-ca.pem') + intermediate)

const setups: Record<string, FakeServerOptions> = {
  correct: {},
  leafOnly: { cert: pki.files['server-leaf-only.pem']! },
  tls11: { minVersion: 'TLSv1.1', ciphers: `${GATEWAY_TLS12_CIPHERS}:ECDHE-ECDSA-AES128-SHA@SECLEVEL=0` },
  cbc: { ciphers: `${GATEWAY_TLS12_CIPHERS}:ECDHE-ECDSA-AES128-SHA256` },
  clientCertOptional: { requireClientCert: false },
  wrongClientCa: { clientCa: [pki.files['other-root-ca.pem']!] },
  wrongOrder: { cert: wrongOrderChain },
  noHsts: { hsts: false },
}
const servers: Record<string, FakeServer> = {}

beforeAll(async () => {
  for (const [name, options] of Object.entries(setups)) servers[name] = await startFakeEhiServer(pki, options)
})
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()))
  rmSync(dir, { recursive: true, force: true })
})

const check = (name: string) => runCheck(asThredd(pki, servers[name]!.url))

describe('check against broken endpoints', () => {
  it('a correct endpoint passes every check (exit 0)', async () => {
    const run = await check('correct')
    expect(run.report.failed).toEqual([])
    expect(run.code).toBe(0)
  })

  it('leaf only, no intermediate: chain.sent and chain.trusted fail', async () => {
    const run = await check('leafOnly')
    expect(run.status['chain.sent']).toBe('fail')
    expect(run.report.checks.find((c) => c.id === 'chain.sent')!.summary).toContain(
      'the intermediate is missing',
    )
    expect(run.status['chain.trusted']).toBe('fail')
    expect(evidenceOf(run, 'chain.trusted')).toContain('unable to get local issuer certificate')
    expect(run.report.failed).toEqual(['chain.sent', 'chain.trusted'])
    expect(run.code).toBe(1)
  })

  it('TLS 1.1 enabled: protocols.legacy fails (and the CBC suite TLS 1.1 needs fails ciphers.tls12)', async () => {
    const run = await check('tls11')
    expect(run.status['protocols.legacy']).toBe('fail')
    expect(evidenceOf(run, 'protocols.legacy')).toContain('TLS 1.1: ACCEPTED')
    expect(evidenceOf(run, 'protocols.legacy')).toContain('TLS 1.0: refused')
    expect(run.report.failed).toEqual(['protocols.legacy', 'ciphers.tls12'])
    expect(run.code).toBe(1)
  })

  it('a CBC suite enabled: ciphers.tls12 fails and names the suite', async () => {
    const run = await check('cbc')
    expect(run.status['ciphers.tls12']).toBe('fail')
    expect(evidenceOf(run, 'ciphers.tls12')).toMatch(/accepted ECDHE-ECDSA-AES128-SHA256: WEAK, CBC mode/)
    expect(run.report.failed).toEqual(['ciphers.tls12'])
  })

  it('client certificate optional (200 without one): http.no-client-cert fails', async () => {
    const run = await check('clientCertOptional')
    expect(run.status['http.no-client-cert']).toBe('fail')
    expect(run.report.checks.find((c) => c.id === 'http.no-client-cert')!.summary).toContain('got 200')
    expect(run.report.failed).toEqual(['http.no-client-cert'])
  })

  it("wrong client CA (advertises and trusts another CA): client-ca.names fails, and Thredd's certificate is refused", async () => {
    const run = await check('wrongClientCa')
    expect(run.status['client-ca.names']).toBe('fail')
    expect(evidenceOf(run, 'client-ca.names')).toContain('advertised: O=Elsewhere, CN=Other Root CA')
    expect(evidenceOf(run, 'client-ca.names')).toContain('expected "Test Thredd Root CA": MISSING')
    expect(run.status['http.with-client-cert']).toBe('fail')
    expect(run.report.failed).toEqual(['client-ca.names', 'http.with-client-cert'])
  })

  it('wrong client CA is caught from the client certificate alone, without --expect-client-ca', async () => {
    const run = await runCheck([
      servers.wrongClientCa!.url,
      '--cert',
      pki.clients.good.cert,
      '--key',
      pki.clients.good.key,
      '--ca',
      pki.files['server-root-ca.pem']!,
    ])
    expect(run.status['client-ca.names']).toBe('fail')
    expect(evidenceOf(run, 'client-ca.names')).toContain(
      'issuer of the client certificate (O=Thredd Test, CN=Test Thredd Issuing CA): MISSING',
    )
  })

  it('chain in the wrong order: chain.sent fails', async () => {
    const run = await check('wrongOrder')
    expect(run.status['chain.sent']).toBe('fail')
    expect(evidenceOf(run, 'chain.sent')).toContain('wrong order')
  })

  it('no HSTS header: http.hsts fails', async () => {
    const run = await check('noHsts')
    expect(run.report.failed).toEqual(['http.hsts'])
  })
})
