/**
 * `ehi-gateway verify-config` checks the candidate trust (candidateTrust) as it checks the live
 * one: every bad candidate file or setting is an error named by its own field, and the same
 * loader's messages say candidateTrust where the live trust's say tls.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { verifyConfig } from '../../src/tools/verify-config/verify-config.ts'
import { runCli } from '../support/cli.ts'

const pki = inject('pki')
const f = pki.files
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-verify-candidate-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function config(candidateTrust: Record<string, unknown>) {
  return {
    listen: { host: '127.0.0.1', port: 8443 },
    tls: {
      serverCertificates: [{ cert: f['server-chain.pem'], key: f['server.key'] }],
      clientCa: [f['thredd-root-ca.pem'], f['thredd-issuing-ca.pem']],
      crl: { enabled: true, files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.crl.pem']] },
    },
    network: { allowlist: ['127.0.0.1/32'] },
    upstream: { url: 'http://127.0.0.1:9/ehi' },
    candidateTrust,
  }
}

let n = 0
function writeConfig(value: unknown): string {
  const file = join(dir, `config-${n++}.json`)
  writeFileSync(file, JSON.stringify(value, null, 2))
  return file
}

function errorsOf(candidateTrust: Record<string, unknown>): string[] {
  const report = verifyConfig({ file: writeConfig(config(candidateTrust)), env: {} })
  return report.errors.map((e) => `${e.path}: ${e.message}`)
}

const threddCas = [f['thredd-root-ca.pem'], f['thredd-issuing-ca.pem']]

describe('verify-config with a candidate trust', () => {
  it.each<[string, Record<string, unknown>, RegExp[]]>([
    [
      'a candidate CA file that does not exist',
      { enabled: true, clientCa: [join(dir, 'missing.pem')] },
      [/^candidateTrust\.clientCa\[0\]: cannot read .*missing\.pem \(ENOENT\)$/],
    ],
    [
      'a client certificate given as a candidate CA',
      { enabled: true, clientCa: [f['thredd-root-ca.pem'], pki.clients.good.cert] },
      [/^candidateTrust\.clientCa\[1\]: .*CN=thredd-ehi-transport is not a CA certificate/],
    ],
    [
      'an issuing CA without its root',
      { enabled: true, clientCa: [f['thredd-issuing-ca.pem']] },
      [
        /^candidateTrust\.clientCa: the issuer of .*Test Thredd Issuing CA is not in the bundle/,
        /^candidateTrust\.clientCa: holds no self-signed root CA certificate$/,
      ],
    ],
    [
      'candidate CRL checking with a CA that has no CRL',
      { enabled: true, clientCa: threddCas, crl: { enabled: true, files: [f['thredd-issuing-ca.crl.pem']] } },
      [
        /^candidateTrust\.crl\.files: no CRL for CA .*Test Thredd Root CA: with CRL checking on, every CA in candidateTrust\.clientCa needs one$/,
      ],
    ],
    [
      'a candidate CRL from a CA outside the candidate bundle',
      {
        enabled: true,
        clientCa: [f['other-root-ca.pem']],
        crl: { enabled: true, files: [f['thredd-issuing-ca.crl.pem']] },
      },
      [
        /^candidateTrust\.crl\.files\[0\]: a CRL in .* is issued by a CA that is not in candidateTrust\.clientCa$/,
        /^candidateTrust\.crl\.files: no CRL for CA .*Other Root CA/,
      ],
    ],
    [
      'a candidate pin that is not a SHA-256 hash',
      { enabled: true, clientCa: threddCas, pins: { spkiSha256: ['not-a-pin'], certSha256: ['abc'] } },
      [
        /^candidateTrust\.pins\.spkiSha256\[0\]: is not a base64 SHA-256 hash/,
        /^candidateTrust\.pins\.certSha256\[0\]: is not a hex SHA-256 fingerprint/,
      ],
    ],
    [
      'a candidate enabled without CAs',
      { enabled: true },
      [/^candidateTrust\.clientCa: is empty but candidateTrust\.enabled is true$/],
    ],
    [
      'an unknown candidate setting',
      { enabled: true, clientCa: threddCas, ocsp: true },
      [/^candidateTrust\.ocsp: is not a known setting$/],
    ],
  ])('names %s', (_name, candidate, expected) => {
    const errors = errorsOf(candidate)
    expect(errors).toHaveLength(expected.length)
    for (const pattern of expected) expect(errors).toContainEqual(expect.stringMatching(pattern))
  })

  it('passes a good candidate, and does not load a disabled one', () => {
    expect(errorsOf({ enabled: true, clientCa: [...threddCas, f['other-root-ca.pem']] })).toEqual([])
    const report = verifyConfig({
      file: writeConfig(config({ enabled: false, clientCa: [join(dir, 'missing.pem')] })),
      env: {},
    })
    expect(report.errors).toEqual([])
    expect(report.warnings.map((w) => `${w.path}: ${w.message}`)).toContainEqual(
      expect.stringMatching(/^candidateTrust\.enabled: is false: the candidate trust is not loaded/),
    )
  })

  it('exits 2 naming the bad candidate field', async () => {
    const file = writeConfig(config({ enabled: true, clientCa: [pki.clients.good.cert] }))
    const run = runCli(['verify-config', file])
    expect(await run.exited).toBe(2)
    expect(run.stdout()).toMatch(/candidateTrust\.clientCa\[0\]: .* is not a CA certificate/)
  })
})
