/**
 * `ehi-gateway check` against the gateway itself, started by the test harness, connecting as
 * Thredd would. Every check must pass except those that depend on the TLS hardening work
 * (issue 5 item 4: HSTS and the other helmet headers), which are reported, not hidden.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildMessage } from '../../src/tools/messages/synthetic-messages.ts'
import { asThredd, evidenceOf, runCheck } from '../support/check-cli.ts'
import { runCli } from '../support/cli.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-check-'))

let h: Harness
beforeAll(async () => {
  h = await startHarness(pki)
})
afterAll(async () => {
  await h.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('check against the gateway', () => {
  it('passes every check Thredd looks at', async () => {
    const run = await runCheck(asThredd(pki, `https://127.0.0.1:${h.port}/ehi`))
    // A warning passes: the test PKI's certificates live 30 days, so chain.expiry warns.
    const failing = run.report.failed
    expect(
      failing,
      JSON.stringify(
        run.report.checks.filter((c) => failing.includes(c.id)),
        null,
        2,
      ),
    ).toEqual([])
    expect(run.report.checks).toHaveLength(12)
    expect(run.code).toBe(0)
    expect(Object.keys(run.notPassing).filter((id) => run.status[id] === 'warn')).toEqual(
      run.status['chain.expiry'] === 'warn' ? ['chain.expiry'] : [],
    )
    // The evidence Thredd's go-live check asks for.
    expect(evidenceOf(run, 'chain.trusted')).toMatch(/depth=0 CN=localhost: verify return:1/)
    expect(evidenceOf(run, 'chain.trusted')).toMatch(/depth=1 CN=Test Server Issuing CA: verify return:1/)
    expect(evidenceOf(run, 'chain.trusted')).toMatch(
      /depth=2 CN=Test Server Root CA \(trust anchor\): verify return:1/,
    )
    expect(evidenceOf(run, 'client-ca.names')).toContain('advertised: O=Thredd Test, CN=Test Thredd Root CA')
    expect(evidenceOf(run, 'client-ca.names')).toContain(
      'advertised: O=Thredd Test, CN=Test Thredd Issuing CA',
    )
    expect(evidenceOf(run, 'http.no-client-cert')).toContain('HTTP 400')
    expect(evidenceOf(run, 'http.with-client-cert')).toContain('Acknowledgement=1')
    expect(evidenceOf(run, 'ciphers.tls12')).not.toMatch(/accepted .*: (WEAK|WARN)/)
  })

  it('sends HSTS on its answers, refusals included', async () => {
    const run = await runCheck(asThredd(pki, `https://127.0.0.1:${h.port}/ehi`))
    expect(run.status['http.hsts']).toBe('pass')
    expect(evidenceOf(run, 'http.hsts')).toContain('max-age=63072000')
  })

  it('derives the expected CA name from the client certificate when none is given', async () => {
    const args = [
      `https://localhost:${h.port}/ehi`,
      '--cert',
      pki.clients.good.cert,
      '--key',
      pki.clients.good.key,
    ]
    const run = await runCheck([...args, '--ca', pki.files['server-root-ca.pem']!])
    expect(run.status['client-ca.names']).toBe('pass')
    expect(evidenceOf(run, 'client-ca.names')).toContain(
      'issuer of the client certificate (O=Thredd Test, CN=Test Thredd Issuing CA): found',
    )
    expect(run.status['chain.hostname']).toBe('pass')
  })

  it('posts a JSON sample with --sample and checks the JSON answer', async () => {
    const sample = join(dir, 'auth.json')
    writeFileSync(sample, buildMessage('auth', 'json'))
    const run = await runCheck(asThredd(pki, `https://127.0.0.1:${h.port}/ehi`, ['--sample', sample]))
    expect(run.status['http.with-client-cert']).toBe('pass')
    expect(evidenceOf(run, 'http.with-client-cert')).toContain(
      'EHI answer (json): well-formed, Acknowledgement=1',
    )
  })

  it('fails the chain against the system roots when the server root is private', async () => {
    const run = await runCheck([`https://127.0.0.1:${h.port}/ehi`])
    expect(run.status['chain.trusted']).toBe('fail')
    expect(run.status['http.with-client-cert']).toBe('skip')
    expect(run.report.checks.find((c) => c.id === 'http.with-client-cert')!.required).toBe(false)
    expect(evidenceOf(run, 'chain.trusted')).toContain('the system roots')
  })

  it('prints a table by default', async () => {
    const run = runCli(['check', ...asThredd(pki, `https://127.0.0.1:${h.port}/ehi`)])
    const code = await run.exited
    const out = run.stdout()
    expect(out).toMatch(/PASS\s+protocols\.legacy\s+TLS 1\.0 and 1\.1 refused/)
    expect(out).toMatch(/PASS\s+client-ca\.names/)
    expect(out).toContain('Evidence:')
    expect(out).toMatch(code === 0 ? /Every required check passed/ : /Not ready for Thredd: .* did not pass/)
  })
})

describe('check against other gateway setups', () => {
  it('TLS 1.3 only: protocols.modern fails; chain and CA names are read with openssl s_client', async () => {
    const only13 = await startHarness(pki, { tls: { minVersion: 'TLSv1.3' } })
    try {
      const run = await runCheck(asThredd(pki, `https://127.0.0.1:${only13.port}/ehi`))
      expect(run.status['protocols.modern']).toBe('fail')
      expect(evidenceOf(run, 'protocols.modern')).toContain('TLS 1.2: NOT offered')
      expect(run.status['ciphers.tls12']).toBe('skip')
      expect(run.status['chain.sent']).toBe('pass')
      expect(evidenceOf(run, 'chain.sent')).toContain('via openssl s_client')
      expect(run.status['client-ca.names']).toBe('pass')
      expect(run.code).toBe(1)

      // Without openssl the CertificateRequest of TLS 1.3 cannot be read: said, and not passed.
      const noOpenssl = await runCheck(asThredd(pki, `https://127.0.0.1:${only13.port}/ehi`), {
        PATH: '/nonexistent',
      })
      expect(noOpenssl.status['client-ca.names']).toBe('skip')
      expect(evidenceOf(noOpenssl, 'client-ca.names')).toContain('openssl is not installed')
      expect(noOpenssl.report.notes.join(' ')).toContain('openssl was not found')
      expect(noOpenssl.report.failed).toContain('client-ca.names')
    } finally {
      await only13.close()
    }
  })

  it('rejectMode handshake: no HTTP answer without a client certificate, which Thredd does not accept', async () => {
    const handshake = await startHarness(pki, { clientAuth: { rejectMode: 'handshake' } })
    try {
      const run = await runCheck(asThredd(pki, `https://127.0.0.1:${handshake.port}/ehi`))
      expect(run.status['http.no-client-cert']).toBe('fail')
      expect(evidenceOf(run, 'http.no-client-cert')).toContain('no HTTP answer')
      expect(run.status['http.with-client-cert']).toBe('pass')
    } finally {
      await handshake.close()
    }
  })

  it('a client certificate the gateway refuses: with-client-cert fails with the reason code', async () => {
    const run = await runCheck([
      `https://127.0.0.1:${h.port}/ehi`,
      '--cert',
      pki.clients.revoked.cert,
      '--key',
      pki.clients.revoked.key,
      '--ca',
      pki.files['server-root-ca.pem']!,
    ])
    expect(run.status['http.with-client-cert']).toBe('fail')
    expect(evidenceOf(run, 'http.with-client-cert')).toContain('HTTP 403 (reason revoked)')
  })
})

describe('check usage', () => {
  it('says once that nothing listens, runs no other check, and exits 1', async () => {
    const run = await runCheck(['https://127.0.0.1:1/ehi'])
    expect(run.code).toBe(1)
    expect(run.status).toEqual({ connect: 'fail' })
    expect(run.report.checks[0]!.summary).toBe(
      'cannot reach the server: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1',
    )
    expect(run.report.failed).toEqual(['connect'])
  })

  it('says it once in the text report too', async () => {
    const run = runCli(['check', 'https://127.0.0.1:1/ehi'])
    expect(await run.exited).toBe(1)
    expect(run.stdout().match(/cannot reach the server/g)).toHaveLength(1)
    expect(run.stdout()).toContain('Not ready for Thredd: connect did not pass.')
  })

  it.each([
    [[], 'give exactly one URL'],
    [['http://127.0.0.1:1/'], 'only https:// URLs'],
    [['https://127.0.0.1:1/', '--cert', 'x.pem'], '--cert and --key go together'],
    [['https://127.0.0.1:1/', '--ca', '/nonexistent.pem'], 'cannot read the CA file'],
  ])('exits 2 for %j', async (args, message) => {
    const run = runCli(['check', ...args])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain(message)
  })
})

describe('check from an address the gateway does not allow', () => {
  it('says the connection is closed before TLS instead of reporting TLS results', async () => {
    const closed = await startHarness(pki, { network: { allowlist: ['192.0.2.1/32'] } })
    try {
      const run = await runCheck([`https://127.0.0.1:${closed.port}/ehi`])
      expect(run.code).toBe(1)
      expect(run.report.checks[0]!.summary).toContain('closed before TLS')
    } finally {
      await closed.close()
    }
  })
})
