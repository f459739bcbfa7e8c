/**
 * The `ehi-gateway serve` command: refuses an invalid configuration before listening (naming
 * every bad field, never printing key material), applies environment overrides, never trusts
 * the system or NODE_EXTRA_CA_CERTS store, and stops cleanly on SIGTERM.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startReferenceHost, type ReferenceHost } from '../../src/tools/reference-host/reference-host.ts'
import { ROOT, runCli, runTool } from '../support/cli.ts'
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

  it('names a schema problem and a key that does not match its certificate, in the same section, in one run', async () => {
    const config = validConfig(await freePort())
    const file = writeConfig('schema-and-key.json', {
      ...config,
      tls: {
        ...config.tls,
        serverCertificates: [{ cert: pki.files['server-chain.pem'], key: pki.files['unrelated.key'] }],
        handshakeTimeoutMs: 0,
      },
      ehi: { limits: { maxDepth: 1 }, deadlineMs: { decision: 250 } },
    })
    const run = runCli(['serve', '--config', file])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain('4 problems')
    expect(run.stderr()).toContain('  - tls.handshakeTimeoutMs: must be >= 1 (got 0)')
    expect(run.stderr()).toContain('  - tls.serverCertificates[0].key: does not match the certificate')
    expect(run.stderr()).toContain('  - ehi.limits.maxDepth: must be >= 4 (got 1)')
    expect(run.stderr()).toContain('  - ehi.deadlineMs.decision: must be below ehi.threddBudgetMs (200 ms)')
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

  it('exits 2 on a YAML syntax error, naming line and column without quoting the file', async () => {
    const file = join(dir, 'broken.yaml')
    const keyLine = readFileSync(pki.files['unrelated.key']!, 'utf8').split('\n')[1]!
    writeFileSync(file, `listen:\n  port: 8443\ntls:\n  note: ${keyLine}\n   clientCa: [a.pem\n`)
    const run = runCli(['serve', '--config', file])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toMatch(/- \(file\): is not valid YAML or JSON: line 4, column \d+: /)
    expect(run.stderr()).not.toContain(keyLine.slice(0, 12))
  })

  it('exits 2 on an unknown key in the file, with a "did you mean"', async () => {
    const config = validConfig(await freePort())
    const file = writeConfig('typo.json', {
      ...config,
      tls: { ...config.tls, clientCA: config.tls.clientCa },
    })
    const run = runCli(['serve', '--config', file])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain('  - tls.clientCA: is not a known setting; did you mean tls.clientCa?')
  })

  it('exits 2 on an empty file, naming each missing section', async () => {
    const file = join(dir, 'empty.yaml')
    writeFileSync(file, '')
    const run = runCli(['serve', '--config', file])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain('  - tls: is required')
    expect(run.stderr()).toContain('  - upstream: is required')
  })

  it('without any configuration, says how to give one in one line instead of listing missing fields', async () => {
    const run = runCli(['serve'])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toBe(
      'ehi-gateway serve: no configuration: give --config FILE or set EHI_GATEWAY_CONFIG=FILE (see ehi-gateway serve --help)\n',
    )
  })

  it('with EHI_GATEWAY_* settings but no file, lists what is missing and how to give a file', async () => {
    const run = runCli(['serve'], { EHI_GATEWAY_LISTEN__PORT: '8443' })
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain('  - tls: is required')
    expect(run.stderr()).toContain(
      'No configuration file was given, only EHI_GATEWAY_* variables: give --config FILE',
    )
  })

  it('exits 2 on an EHI_GATEWAY_ variable that names no setting', async () => {
    const file = writeConfig('valid-for-typo.json', validConfig(await freePort()))
    const run = runCli(['serve', '--config', file], { EHI_GATEWAY_NETWORK__ALLOW_LIST: '127.0.0.1' })
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain(
      'EHI_GATEWAY_NETWORK__ALLOW_LIST: is not a configuration key; did you mean EHI_GATEWAY_NETWORK__ALLOWLIST (network.allowlist)?',
    )
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

  it("loads none of the other commands' modules or the tools, also once a message has passed", async () => {
    const port = await freePort()
    const log = join(dir, 'modules.log')
    const run = runCli(['serve', '--config', writeConfig('modules.json', validConfig(port))], {
      NODE_OPTIONS: `--import=${join(ROOT, 'test', 'support', 'record-modules.ts')}`,
      RECORD_MODULES_TO: log,
    })
    await run.waitFor('ehi-gateway started')
    expect((await post(pki, port, { client: pki.clients.good })).status).toBe(200)
    run.child.kill('SIGTERM')
    expect(await run.exited).toBe(0)
    const loaded = readFileSync(log, 'utf8').trim().split('\n')
    // The record works: the serve command itself is in it.
    expect(loaded.some((url) => url.endsWith('/src/cli/serve-command.ts'))).toBe(true)
    expect(loaded.filter((url) => url.includes('/src/tools/'))).toEqual([])
    const otherCommands = loaded.filter((url) =>
      /\/src\/cli\/(commands|(?!serve-)[a-z-]+-command)\.ts$/.test(url),
    )
    expect(otherCommands).toEqual([])
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

describe('serve with a port in use', () => {
  /** A plain TCP listener holding a port, as another process would. */
  async function holdPort(): Promise<{ port: number; close: () => Promise<void> }> {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    }
  }

  it.each([
    [
      'listen.port',
      1,
      (held: number, free: number) => ({ listen: { host: '127.0.0.1', port: held }, admin: { port: free } }),
    ],
    [
      'listen.port',
      2,
      (held: number, free: number) => ({ listen: { host: '127.0.0.1', port: held }, admin: { port: free } }),
    ],
    [
      'admin.port',
      1,
      (held: number, free: number) => ({ listen: { host: '127.0.0.1', port: free }, admin: { port: held } }),
    ],
  ])('names %s in one line and exits 1 (workers: %d)', async (setting, workers, ports) => {
    const held = await holdPort()
    try {
      const config = { ...validConfig(0), workers, ...ports(held.port, await freePort()) }
      const run = runCli(['serve', '--config', writeConfig(`in-use-${setting}-${workers}.json`, config)])
      expect(await run.exited).toBe(1)
      const env = setting === 'listen.port' ? 'EHI_GATEWAY_LISTEN__PORT' : 'EHI_GATEWAY_ADMIN__PORT'
      expect(run.stderr()).toContain(
        `ehi-gateway serve: 127.0.0.1:${held.port} is already in use (${setting}): stop what listens there or set another ${setting} (${env}`,
      )
      expect(run.stderr().trim().split('\n')).toHaveLength(1)
      expect(run.stderr()).not.toMatch(/\n\s+at /)
    } finally {
      await held.close()
    }
  })
})
