/**
 * Debian's testssl.sh and sslscan against a gateway started by the test, as Thredd's go-live
 * check and SSL Labs would look at it: no finding of severity MEDIUM or higher, no CBC or
 * non-forward-secret suite, TLS 1.0/1.1 refused, and both Thredd CA names advertised.
 * Skipped with a message when a tool is missing (.ci/run installs both).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { classifySuite } from '../../src/tools/go-live/rules/cipher-suites.ts'
import { DEV_PKI_FILES, generateDevPki } from '../../src/tools/pki/dev-pki.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import {
  parseSslscanXml,
  readTestsslJson,
  runBounded,
  SEVERITY_RANK,
  SSLSCAN,
  TESTSSL,
} from '../support/scanners.ts'

const pki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-scan-'))
// The demo's own material, freshly generated: the scan is of what `npm start` serves.
const dev = (file: keyof typeof DEV_PKI_FILES) => join(dir, DEV_PKI_FILES[file])
generateDevPki(dir)

if (!TESTSSL)
  console.warn('testssl.sh is not installed: skipping the testssl test (apt-get install -y testssl.sh)')
if (!SSLSCAN) console.warn('sslscan is not installed: skipping the sslscan test (apt-get install -y sslscan)')

let h: Harness
beforeAll(async () => {
  // The TLS settings of config/demo.yaml: RSA and ECDSA chains, the dev Thredd CAs with CRLs.
  h = await startHarness(pki, {
    tls: {
      serverCertificates: [
        { cert: dev('serverChain'), key: dev('serverKey') },
        { cert: dev('serverEcdsaChain'), key: dev('serverEcdsaKey') },
      ],
      clientCa: [dev('threddRootCa'), dev('threddIssuingCa')],
      crl: { enabled: true, files: [dev('threddRootCrl'), dev('threddIssuingCrl')] },
    },
  })
})
afterAll(async () => {
  await h.close()
  rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!TESTSSL)('testssl.sh against the demo TLS setup', () => {
  it(
    'reports no finding of severity MEDIUM or higher and no CBC or non-forward-secret suite',
    { timeout: 150_000 },
    async () => {
      const jsonFile = join(dir, 'testssl.json')
      // prettier-ignore
      const args = ['--quiet', '--color', '0', '--warnings', 'off', '--nodns', 'none', '-p', '-s', '-f', '-S', '-P',
      '--jsonfile', jsonFile, '--add-ca', dev('serverRootCa'), `127.0.0.1:${h.port}`]
      const run = await runBounded(TESTSSL!, args, 140_000)
      console.info(`testssl: ${run.ms} ms, exit ${run.code}`)
      const findings = readTestsslJson(jsonFile)
      expect(findings.length, run.output).toBeGreaterThan(20)
      const byId = Object.fromEntries(findings.map((f) => [f.id, f]))

      const serious = findings.filter((f) => (SEVERITY_RANK[f.severity] ?? 0) >= SEVERITY_RANK.MEDIUM!)
      const low = findings.filter((f) => f.severity === 'LOW' || f.severity === 'WARN')
      for (const f of low) console.info(`testssl ${f.severity} ${f.id}: ${f.finding}`)
      expect(serious.map((f) => `${f.severity} ${f.id}: ${f.finding}`)).toEqual([])

      // Protocols: 1.2 and 1.3 only.
      expect(byId.TLS1?.finding).toBe('not offered')
      expect(byId.TLS1_1?.finding).toBe('not offered')
      expect(byId.TLS1_2?.finding).toBe('offered')
      expect(byId.TLS1_3?.finding).toMatch(/^offered/)
      // Cipher categories: nothing below AEAD (AVERAGE is testssl's "obsolete CBC ciphers").
      for (const id of [
        'cipherlist_NULL',
        'cipherlist_aNULL',
        'cipherlist_EXPORT',
        'cipherlist_LOW',
        'cipherlist_3DES_IDEA',
        'cipherlist_AVERAGE',
      ]) {
        expect(byId[id]?.finding, id).toBe('not offered')
      }
      expect(byId.PFS?.finding).toBe('offered')
      // Every suite the server picks, per protocol, is forward secret AEAD.
      const offered = ['cipherorder_TLSv1_2', 'cipherorder_TLSv1_3'].flatMap((id) =>
        (byId[id]?.finding ?? '').split(/\s+/).filter(Boolean),
      )
      expect(offered.length).toBeGreaterThanOrEqual(6)
      expect(offered.filter((s) => classifySuite(s).level !== 'ok')).toEqual([])
      // One result per server certificate (RSA and ECDSA): each chain trusted, leaf + intermediate sent.
      const perCert = (id: string) => findings.filter((f) => f.id === id || f.id.startsWith(`${id} <cert#`))
      expect(perCert('cert_chain_of_trust').map((f) => f.severity)).toEqual(['OK', 'OK'])
      expect(perCert('certs_countServer').map((f) => f.finding)).toEqual(['2', '2'])
    },
  )
})

describe.skipIf(!SSLSCAN)('sslscan against the demo TLS setup', () => {
  it(
    'lists both Thredd CA names, and only forward secret AEAD suites on TLS 1.2/1.3',
    { timeout: 60_000 },
    async () => {
      const xmlFile = join(dir, 'sslscan.xml')
      const run = await runBounded(
        SSLSCAN!,
        ['--show-client-cas', '--no-colour', `--xml=${xmlFile}`, `127.0.0.1:${h.port}`],
        50_000,
      )
      console.info(`sslscan: ${run.ms} ms, exit ${run.code}`)
      const result = parseSslscanXml(readFileSync(xmlFile, 'utf8'))
      expect(result.protocols).toMatchObject({
        ssl2: false,
        ssl3: false,
        'tls1.0': false,
        'tls1.1': false,
        'tls1.2': true,
        'tls1.3': true,
      })
      expect(result.ciphers.length).toBeGreaterThanOrEqual(6)
      const weak = result.ciphers.filter((c) => classifySuite(c.name).level !== 'ok')
      expect(weak, 'non-forward-secret, CBC or other weak suites').toEqual([])
      expect(result.clientCas.some((n) => n.includes('CN=Thredd Dev Root CA - G1'))).toBe(true)
      expect(result.clientCas.some((n) => n.includes('CN=Thredd Dev Issuing CA - G1'))).toBe(true)
      expect(result.heartbleedVulnerable).toBe(false)
      expect(result.renegotiationInsecure).toBe(false)
      expect(run.output).toContain('Acceptable client certificate CA names')
    },
  )
})
