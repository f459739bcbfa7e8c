/**
 * `ehi-gateway certs inspect` (files and live servers) and `certs csr` (key and request for the
 * public CA), through the command.
 */
import { createPrivateKey } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Inspection } from '../../src/tools/pki/rules/inspect-pem.ts'
import { runCli, runTool } from '../support/cli.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-certs-'))
let h: Harness
beforeAll(async () => {
  h = await startHarness(pki)
})
afterAll(async () => {
  await h.close()
  rmSync(dir, { recursive: true, force: true })
})

async function cli(args: string[]) {
  const run = runCli(['certs', ...args])
  return { code: await run.exited, out: run.stdout(), err: run.stderr() }
}

describe('certs inspect', () => {
  it('a chain file: each certificate, the tree, and pins ready for the config', async () => {
    const { code, out } = await cli(['inspect', pki.clients.good.cert])
    expect(code).toBe(0)
    expect(out).toContain('1 certificate, 0 CRLs')
    expect(out).toContain('subject      O=Thredd Test, OU=EHI, OU=Transport, CN=thredd-ehi-transport')
    expect(out).toContain('key          EC P-256')
    expect(out).toContain(`SPKI pin     ${pki.spki.good}`)
    expect(out).toContain(`- "${pki.spki.good}"`)

    const chain = await cli(['inspect', pki.files['server-chain.pem']!])
    expect(chain.out).toContain('Chain:')
    expect(chain.out).toContain('CN=Test Server Root CA (not in this input)')
    expect(chain.out).toMatch(/└─ #2 CN=Test Server Issuing CA\n\s+└─ #1 CN=localhost/)
  })

  it('a CRL file: issuer, update window and revoked count', async () => {
    const { code, out } = await cli(['inspect', pki.files['thredd-issuing-ca.crl.pem']!])
    expect(code).toBe(0)
    expect(out).toContain('issuer       O=Thredd Test, CN=Test Thredd Issuing CA')
    expect(out).toContain('revoked      1')
    expect(out).toMatch(/nextUpdate {3}\S+ \(6 days left\)/)
    const expired = await cli(['inspect', pki.files['thredd-issuing-ca.expired.crl.pem']!])
    expect(expired.out).toMatch(/EXPIRED 1 day ago/)
  })

  it('JSON for scripts', async () => {
    const { out } = await cli(['inspect', pki.files['server-chain.pem']!, '--json'])
    const inspection = JSON.parse(out) as Inspection
    expect(inspection.certificates.map((c) => c.parent)).toEqual([2, undefined])
  })

  it('the chain a live server presents, as sent, with its client CA names', async () => {
    const { code, out } = await cli(['inspect', `https://127.0.0.1:${h.port}`])
    expect(code).toBe(0)
    expect(out).toContain(`127.0.0.1:${h.port} (ECDSA chain as sent, tls1.2)`)
    expect(out).toContain('2 certificates')
    expect(out).toContain('Acceptable client certificate CA names (2):')
    expect(out).toContain('O=Thredd Test, CN=Test Thredd Root CA')
  })

  it('fails on nothing to inspect or nothing listening', async () => {
    const text = join(dir, 'nothing.txt')
    writeFileSync(text, 'hello')
    expect((await cli(['inspect', text])).code).toBe(1)
    expect((await cli(['inspect', 'https://127.0.0.1:1'])).code).toBe(1)
    expect((await cli(['inspect'])).code).toBe(2)
  })
})

describe('certs csr', () => {
  it('writes an ECDSA P-256 key (0600) and a CSR with the SANs, verified by openssl', async () => {
    const out = join(dir, 'csr-ec')
    const { code, out: text } = await cli([
      'csr',
      '--cn',
      'ehi.example.com',
      '--san',
      'ehi-dr.example.com',
      '--san',
      '203.0.113.7',
      '--out',
      out,
    ])
    expect(code).toBe(0)
    const key = join(out, 'ehi.example.com.key')
    const csr = join(out, 'ehi.example.com.csr')
    expect(statSync(key).mode & 0o777).toBe(0o600)
    expect(createPrivateKey(readFileSync(key)).asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(text).toContain('SANs      DNS:ehi.example.com, DNS:ehi-dr.example.com, IP:203.0.113.7')
    const req = await runTool('openssl', ['req', '-in', csr, '-noout', '-text', '-verify'])
    const shown = req.stdout + req.stderr
    expect(shown).toMatch(/verify OK|Certificate request self-signature verify OK/)
    expect(shown).toMatch(/Subject: CN ?= ?ehi.example.com/)
    expect(shown).toContain('DNS:ehi.example.com, DNS:ehi-dr.example.com, IP Address:203.0.113.7')
  })

  it('RSA 2048 with --key-type rsa', async () => {
    const out = join(dir, 'csr-rsa')
    expect((await cli(['csr', '--cn', 'ehi.example.com', '--key-type', 'rsa', '--out', out])).code).toBe(0)
    expect(
      createPrivateKey(readFileSync(join(out, 'ehi.example.com.key'))).asymmetricKeyDetails?.modulusLength,
    ).toBe(2048)
  })

  it('never replaces an existing key without --force', async () => {
    const out = join(dir, 'csr-keep')
    expect((await cli(['csr', '--cn', 'keep.example.com', '--out', out])).code).toBe(0)
    const key = join(out, 'keep.example.com.key')
    const before = readFileSync(key, 'utf8')
    const again = await cli(['csr', '--cn', 'keep.example.com', '--out', out])
    expect(again.code).toBe(1)
    expect(again.err).toContain('exists; not replaced (use --force to replace it)')
    expect(readFileSync(key, 'utf8')).toBe(before)
    const forced = await cli(['csr', '--cn', 'keep.example.com', '--out', out, '--force'])
    expect(forced.code).toBe(0)
    expect(readFileSync(key, 'utf8')).not.toBe(before)
    expect(statSync(key).mode & 0o777).toBe(0o600)
  })

  it('refuses bad input', async () => {
    expect((await cli(['csr'])).code).toBe(2)
    expect((await cli(['csr', '--cn', 'a.example.com', '--key-type', 'dsa'])).code).toBe(2)
    const bad = await cli(['csr', '--cn', 'a.example.com', '--san', 'not a name', '--out', join(dir, 'bad')])
    expect(bad.code).toBe(2)
    expect(existsSync(join(dir, 'bad', 'a.example.com.key'))).toBe(false)
  })
})
