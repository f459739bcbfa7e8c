/**
 * The `ehi-gateway serve` command: refuses an invalid configuration before listening (naming
 * every bad field, never printing key material), applies environment overrides, never trusts
 * the system or NODE_EXTRA_CA_CERTS store, and stops cleanly on SIGTERM.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startReferenceHost, type ReferenceHost } from '../../src/tools/reference-host/reference-host.ts'
import { runCli, runTool } from '../support/cli.ts'
import { post } from '../support/clients.ts'
import { freePort, isListening } from '../support/ports.ts'

const pki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-cli-'))
let host: ReferenceHost

beforeAll(async () => {
  host = await startReferenceHost()
})
afterAll(() => host.close())

function writeConfig(name: string, config: Record<string, unknown>): string {
  const file = join(dir, name)
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

function validConfig(port: number) {
  return {
    listen: { host: '127.0.0.1', port },
    tls: {
      serverCertificates: [{ cert: pki.files['server-chain.pem'], key: pki.files['server.key'] }],
      clientCa: [pki.files['thredd-root-ca.pem'], pki.files['thredd-issuing-ca.pem']],
    },
    upstream: { url: host.url },
    // One process and a free admin port: tests run in parallel and must not share 8442.
    workers: 1,
    admin: { port: 0 },
  }
}

describe('serve with an invalid configuration', () => {
  it('exits 2 before listening, naming all three bad fields and never printing key material', async () => {
    const port = await freePort()
    const config = validConfig(port)
    const file = writeConfig('three-mistakes.json', {
      ...config,
      tls: {
        ...config.tls,
        serverCertificates: [{ cert: pki.files['server-chain.pem'], key: pki.files['unrelated.key'] }],
      },
      clientAuth: { rejectMode: 'strict' },
      network: { allowlist: ['10.0.0.300/32'] },
    })
    const run = runCli(['serve', '--config', file])
    expect(await run.exited).toBe(2)
    const stderr = run.stderr()
    expect(stderr).toContain('3 problems')
    expect(stderr).toContain('clientAuth.rejectMode')
    expect(stderr).toContain('network.allowlist[0]')
    expect(stderr).toContain('tls.serverCertificates[0].key: does not match the certificate')
    const keyBody = readFileSync(pki.files['unrelated.key']!, 'utf8').split('\n')[1]!
    expect(stderr + run.stdout()).not.toContain(keyBody)
    expect(stderr + run.stdout()).not.toContain('PRIVATE KEY-----')
    expect(await isListening(port)).toBe(false)
  })

  it('does not echo key material pasted into a path field', async () => {
    const config = validConfig(await freePort())
    const pem = readFileSync(pki.files['unrelated.key']!, 'utf8')
    const file = writeConfig('inline-key.json', {
      ...config,
      tls: { ...config.tls, serverCertificates: [{ cert: pki.files['server-chain.pem'], key: pem }] },
    })
    const run = runCli(['serve', '--config', file])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain('tls.serverCertificates[0].key')
    expect(run.stderr()).not.toContain(pem.split('\n')[1]!)
  })

  it('exits 2 on an empty file, naming each missing section', async () => {
    const file = join(dir, 'empty.yaml')
    writeFileSync(file, '')
    const run = runCli(['serve', '--config', file])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain('  - tls: is required')
    expect(run.stderr()).toContain('  - upstream: is required')
  })

  it('exits 2 on an EHI_GATEWAY_ variable that names no setting', async () => {
    const file = writeConfig('valid-for-typo.json', validConfig(await freePort()))
    const run = runCli(['serve', '--config', file], { EHI_GATEWAY_NETWORK__ALLOW_LIST: '127.0.0.1' })
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain('EHI_GATEWAY_NETWORK__ALLOW_LIST: is not a configuration key')
  })
})

describe('serve with a valid configuration', () => {
  it('takes the port from the environment, serves, and exits 0 on SIGTERM', async () => {
    const port = await freePort()
    const file = writeConfig('valid.json', validConfig(1))
    const run = runCli(['serve', '--config', file], { EHI_GATEWAY_LISTEN__PORT: String(port) })
    await run.waitFor('ehi-gateway started')
    const res = await post(pki, port, { client: pki.clients.good })
    expect(res.status).toBe(200)
    run.child.kill('SIGTERM')
    expect(await run.exited).toBe(0)
  })

  it('reads the file named by EHI_GATEWAY_CONFIG', async () => {
    const port = await freePort()
    const run = runCli(['serve'], { EHI_GATEWAY_CONFIG: writeConfig('by-env.json', validConfig(port)) })
    await run.waitFor('ehi-gateway started')
    expect((await post(pki, port)).status).toBe(400)
    run.child.kill('SIGINT')
    expect(await run.exited).toBe(0)
  })

  it('trusts only tls.clientCa, even with NODE_EXTRA_CA_CERTS naming another CA', async () => {
    const port = await freePort()
    const run = runCli(['serve', '--config', writeConfig('extra-ca.json', validConfig(port))], {
      NODE_EXTRA_CA_CERTS: pki.files['other-root-ca.pem'],
    })
    await run.waitFor('ehi-gateway started')
    const res = await post(pki, port, { client: pki.clients.otherCa })
    expect(res.status).toBe(403)
    expect(res.headers['x-ehi-gateway-reason']).toBe('untrusted_issuer')
    run.child.kill('SIGTERM')
    expect(await run.exited).toBe(0)
  })

  it('answers curl without a certificate with 400 and with the client certificate with 200', async () => {
    const port = await freePort()
    const run = runCli(['serve', '--config', writeConfig('curl.json', validConfig(port))])
    await run.waitFor('ehi-gateway started')
    const url = `https://localhost:${port}/ehi`
    const base = [
      '-sS',
      '--cacert',
      pki.files['server-root-ca.pem']!,
      '-H',
      'content-type: text/xml',
      '--data-binary',
      '@test/fixtures/ehi/auth.xml',
    ]
    const without = await runTool('curl', [...base, '-w', '\n%{http_code}', url])
    expect(without.stdout.trim().split('\n').pop()).toBe('400')
    expect(without.stdout).toContain('No required SSL certificate was sent')
    const withCert = await runTool('curl', [
      ...base,
      '--cert',
      pki.clients.good.cert,
      '--key',
      pki.clients.good.key,
      '-w',
      '\n%{http_code}',
      url,
    ])
    expect(withCert.stdout.trim().split('\n').pop()).toBe('200')
    expect(withCert.stdout).toContain('<Acknowledgement>1</Acknowledgement>')
    run.child.kill('SIGTERM')
    expect(await run.exited).toBe(0)
  })
})
