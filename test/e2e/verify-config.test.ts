/**
 * `ehi-gateway verify-config`: each problem a startup refuses, and the ones it does not refuse
 * but Thredd's go-live check or traffic would hit (missing intermediate, expired CRL), is an
 * error with its field; a correct configuration exits 0 with its warnings and an inventory.
 */
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { rootCertificates } from 'node:tls'
import {
  renderVerifyText,
  verifyConfig,
  type VerifyReport,
} from '../../src/tools/verify-config/verify-config.ts'
import { runCli } from '../support/cli.ts'

const pki = inject('pki')
const f = pki.files
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-verify-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function config(overrides: { tls?: Record<string, unknown>; clientAuth?: unknown; network?: unknown } = {}) {
  return {
    listen: { host: '127.0.0.1', port: 8443 },
    tls: {
      serverCertificates: [{ cert: f['server-chain.pem'], key: f['server.key'] }],
      clientCa: [f['thredd-root-ca.pem'], f['thredd-issuing-ca.pem']],
      crl: { enabled: true, files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.crl.pem']] },
      ...overrides.tls,
    },
    network: overrides.network ?? { allowlist: ['127.0.0.1/32'] },
    ...(overrides.clientAuth ? { clientAuth: overrides.clientAuth } : {}),
    upstream: { url: 'http://127.0.0.1:9/ehi' },
  }
}

let n = 0
function writeConfig(value: unknown): string {
  const file = join(dir, `config-${n++}.json`)
  writeFileSync(file, JSON.stringify(value, null, 2))
  return file
}

const systemRoots = rootCertificates.map((pem) => new X509Certificate(pem))
const serverRoot = new X509Certificate(readFileSync(f['server-root-ca.pem']!))

/** In process (the command is a thin shell around verifyConfig; its own tests are below). */
async function verify(value: unknown, options: { ca?: boolean } = {}) {
  const file = writeConfig(value)
  const report = verifyConfig({ file, env: {}, systemRoots, extraRoots: options.ca ? [serverRoot] : [] })
  return { code: report.ok ? 0 : 2, report, text: renderVerifyText(report) }
}

const errorsOf = (report: VerifyReport) => report.errors.map((e) => `${e.path}: ${e.message}`)

describe('verify-config catches', () => {
  it.each<[string, unknown, string, RegExp]>([
    [
      'a key that does not match the certificate',
      config({ tls: { serverCertificates: [{ cert: f['server-chain.pem'], key: f['unrelated.key'] }] } }),
      'tls.serverCertificates[0].key',
      /does not match the certificate/,
    ],
    [
      'a missing intermediate',
      config({ tls: { serverCertificates: [{ cert: f['server-leaf-only.pem'], key: f['server.key'] }] } }),
      'tls.serverCertificates[0].cert',
      /holds the leaf only: the intermediate certificate is missing/,
    ],
    [
      'a CA without a CRL',
      config({ tls: { crl: { enabled: true, files: [f['thredd-root-ca.crl.pem']] } } }),
      'tls.crl.files',
      /no CRL for CA .*Test Thredd Issuing CA/,
    ],
    [
      'an expired CRL',
      config({
        tls: {
          crl: {
            enabled: true,
            files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.expired.crl.pem']],
          },
        },
      }),
      'tls.crl.files[1]',
      /the CRL of .*Test Thredd Issuing CA .* expired on .*crl_expired/,
    ],
    [
      'an undecodable pin',
      config({ clientAuth: { pins: { spkiSha256: ['not-a-pin'] } } }),
      'clientAuth.pins.spkiSha256[0]',
      /is not a base64 SHA-256 hash/,
    ],
    [
      'a bad CIDR',
      config({ network: { allowlist: ['10.0.0.300/32'] } }),
      'network.allowlist[0]',
      /is not an IPv4 or IPv6 address or CIDR/,
    ],
  ])('%s as an error (exit 2)', async (_name, value, path, message) => {
    const { code, report, text } = await verify(value, { ca: true })
    expect(code).toBe(2)
    expect(report.ok).toBe(false)
    expect(report.errors).toContainEqual({ path, message: expect.stringMatching(message) })
    expect(report.errors).toHaveLength(1)
    expect(text).toContain(`Errors (1):\n  - ${path}: `)
    expect(text).toMatch(/test failed: 1 error/)
  })

  it('every problem at once, in one run', async () => {
    const { code, report } = await verify({
      ...config({
        tls: {
          serverCertificates: [{ cert: f['server-leaf-only.pem'], key: f['unrelated.key'] }],
          crl: { enabled: true, files: [f['thredd-issuing-ca.expired.crl.pem']] },
        },
        clientAuth: { pins: { spkiSha256: ['AAAA'] } },
        network: { allowlist: ['nope'] },
      }),
    })
    expect(code).toBe(2)
    const errors = errorsOf(report).join('\n')
    for (const expected of [
      'does not match',
      'holds the leaf only',
      'no CRL for CA',
      'expired on',
      'spkiSha256[0]',
      'network.allowlist[0]',
    ]) {
      expect(errors).toContain(expected)
    }
  })

  it('a stale CRL is only a warning when CRL checking is off', async () => {
    const { code, report } = await verify(
      config({ tls: { crl: { enabled: false, files: [f['thredd-issuing-ca.expired.crl.pem']] } } }),
      { ca: true },
    )
    expect(code).toBe(0)
    expect(report.warnings.map((w) => w.message).join('\n')).toMatch(/expired on .*CRL checking is off/)
  })
})

describe('verify-config on a correct configuration', () => {
  it('exits 0, lists warnings apart, and shows the inventory and effective policy', async () => {
    const pin = pki.spki.good
    const { code, report, text } = await verify(config({ clientAuth: { pins: { spkiSha256: [pin] } } }), {
      ca: true,
    })
    expect(code).toBe(0)
    expect(report.errors).toEqual([])
    expect(report.serverChains[0]).toMatchObject({ completeness: 'complete', root: 'CN=Test Server Root CA' })
    expect(report.serverChains[0]!.certificates.map((c) => c.key)).toEqual(['EC P-256', 'EC P-256'])
    expect(report.clientCas.map((c) => c.crls)).toEqual([1, 1])
    expect(report.crls).toHaveLength(2)
    expect(report.crls[1]).toMatchObject({ revoked: 1, daysLeft: 6 })
    expect(report.pins).toEqual([
      { path: 'clientAuth.pins.spkiSha256[0]', value: pin, decodes: true, matches: [] },
    ])
    expect(report.allowlist).toEqual([{ entry: '127.0.0.1/32', ok: true }])
    expect(report.tlsPolicy).toMatchObject({
      versions: 'TLSv1.2..TLSv1.3',
      groups: 'X25519:P-256:P-384',
      rejectMode: 'http',
      crlChecking: true,
    })
    // The test PKI's certificates live 30 days: each is flagged as expiring within 30 days.
    expect(report.warnings.some((w) => /expires in 29 days/.test(w.message))).toBe(true)
    expect(text).toContain('Server certificates (what Thredd receives):')
    expect(text).toContain('chain: complete, builds to CN=Test Server Root CA')
    expect(text).toContain('Effective TLS policy:')
    expect(text).toMatch(/configuration .* is ok \(\d+ warnings?\)/)
  })

  it('warns when the chain does not build to a system root (a private root without --ca)', async () => {
    const { code, report } = await verify(config())
    expect(code).toBe(0)
    expect(report.warnings.find((w) => w.path === 'tls.serverCertificates[0].cert')?.message).toMatch(
      /not a system root/,
    )
  })

  it('warns about a pin that names a CA of the bundle (pins are compared with the client certificate)', async () => {
    const { code, report } = await verify(config({ clientAuth: { pins: { spkiSha256: [rootPin()] } } }), {
      ca: true,
    })
    expect(code).toBe(0)
    expect(report.pins[0]!.matches).toEqual(['O=Thredd Test, CN=Test Thredd Root CA'])
    expect(report.warnings.map((w) => w.path)).toContain('clientAuth.pins.spkiSha256[0]')
  })

  it('warns about weak suites in tls.ciphers', async () => {
    const { report } = await verify(
      config({ tls: { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA' } }),
      { ca: true },
    )
    expect(report.warnings).toContainEqual({
      path: 'tls.ciphers',
      message: expect.stringContaining('ECDHE-ECDSA-AES128-SHA is weak (CBC mode'),
    })
  })

  it('reports an unreadable file as an error', async () => {
    const report = verifyConfig({ file: join(dir, 'missing.yaml'), env: {}, systemRoots })
    expect(report.ok).toBe(false)
    expect(errorsOf(report)[0]).toMatch(/^\(file\): cannot read/)
  })
})

describe('the verify-config command', () => {
  it('exits 0 on a correct configuration, printing the report', async () => {
    const run = runCli(['verify-config', writeConfig(config()), '--ca', f['server-root-ca.pem']!])
    expect(await run.exited).toBe(0)
    expect(run.stdout()).toMatch(/Errors \(0\):/)
    expect(run.stdout()).toMatch(/configuration .* is ok/)
  })

  it('exits 2 on an error, with --json', async () => {
    const file = writeConfig(config({ network: { allowlist: ['10.0.0.300/32'] } }))
    const run = runCli(['verify-config', file, '--json'])
    expect(await run.exited).toBe(2)
    const report = JSON.parse(run.stdout()) as VerifyReport
    expect(report.errors.map((e) => e.path)).toEqual(['network.allowlist[0]'])
  })

  it('exits 2 for a missing file or no file', async () => {
    const missing = runCli(['verify-config', join(dir, 'missing.yaml')])
    expect(await missing.exited).toBe(2)
    expect(missing.stdout()).toContain('(file): cannot read')
    const usage = runCli(['verify-config'])
    expect(await usage.exited).toBe(2)
    expect(usage.stderr()).toContain(
      'give one configuration file: FILE, --config FILE or EHI_GATEWAY_CONFIG=FILE',
    )
  })

  it.each([
    ['--config FILE', (file: string) => ({ args: ['--config', file], env: {} })],
    ['-c FILE', (file: string) => ({ args: ['-c', file], env: {} })],
    ['EHI_GATEWAY_CONFIG', (file: string) => ({ args: [], env: { EHI_GATEWAY_CONFIG: file } })],
  ])('takes the file as serve does: %s', async (_how, given) => {
    const file = writeConfig(config({ network: { allowlist: ['10.0.0.300/32'] } }))
    const { args, env } = given(file)
    const run = runCli(['verify-config', ...args, '--json'], env)
    expect(await run.exited).toBe(2)
    const report = JSON.parse(run.stdout()) as VerifyReport
    expect(report.file).toBe(file)
    expect(report.errors.map((e) => e.path)).toEqual(['network.allowlist[0]'])
  })

  it('FILE wins over EHI_GATEWAY_CONFIG; FILE and a different --config are a usage error', async () => {
    const good = writeConfig(config())
    const run = runCli(['verify-config', good, '--ca', f['server-root-ca.pem']!], {
      EHI_GATEWAY_CONFIG: join(dir, 'missing.yaml'),
    })
    expect(await run.exited).toBe(0)
    const both = runCli(['verify-config', good, '--config', join(dir, 'other.yaml')])
    expect(await both.exited).toBe(2)
    expect(both.stderr()).toContain('give one configuration file, as FILE or as --config FILE')
  })
})

function rootPin(): string {
  const cert = new X509Certificate(readFileSync(f['thredd-root-ca.pem']!))
  return createHash('sha256')
    .update(cert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64')
}
