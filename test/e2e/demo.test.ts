/**
 * `npm start` (the demo) on its fixed ports: the dev PKI, the gateway on 127.0.0.1:8443 and the
 * reference host behind it, checked with curl and openssl as the README says. A fixed port that
 * is taken is named with the setting that chose it.
 */
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildMessage } from '../../src/tools/messages/synthetic-messages.ts'
import { runCli, runTool, type CliRun } from '../support/cli.ts'
import { poll } from '../support/wait.ts'

let demo: CliRun

// Before the demo below starts: the ports are this file's own (other files do not use them).
describe('the demo with its port taken', () => {
  it('names listen.port in config/demo.yaml in one line and exits 1', async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(8443, '127.0.0.1', resolve))
    try {
      const run = runCli(['demo'])
      expect(await run.exited).toBe(1)
      expect(run.stderr()).toContain(
        'ehi-gateway demo: 127.0.0.1:8443 is already in use (listen.port in config/demo.yaml): stop what listens there (another demo?) or set another listen.port (EHI_GATEWAY_LISTEN__PORT)',
      )
      expect(run.stderr().trim().split('\n')).toHaveLength(1)
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
  }, 30_000)
})

const base = [
  '-sS',
  '--cacert',
  'certs/dev/server-root-ca.pem',
  '-H',
  'content-type: text/xml',
  '--data-binary',
  '@test/fixtures/ehi/auth.xml',
  '-w',
  '\n%{http_code}',
]

describe('the demo', () => {
  beforeAll(async () => {
    demo = runCli(['demo'])
    await demo.waitFor('ehi-gateway demo is running', 30_000)
  }, 40_000)
  afterAll(async () => {
    demo.child.kill('SIGINT')
    await demo.exited
  })

  it('answers curl without a client certificate with 400', async () => {
    const res = await runTool('curl', [...base, 'https://127.0.0.1:8443/ehi'])
    expect(res.stdout.trim().split('\n').pop()).toBe('400')
    expect(res.stdout).toContain('No required SSL certificate was sent')
  })

  it("answers curl with the dev client certificate with 200 and the reference host's approval", async () => {
    const res = await runTool('curl', [
      ...base,
      '--cert',
      'certs/dev/thredd-client.pem',
      '--key',
      'certs/dev/thredd-client.key',
      'https://127.0.0.1:8443/ehi',
    ])
    expect(res.stdout.trim().split('\n').pop()).toBe('200')
    expect(res.stdout).toContain('<Responsestatus>00</Responsestatus>')
    expect(res.stdout).toContain('<Acknowledgement>1</Acknowledgement>')
  })

  it('passes the openssl s_client view Thredd asks for', async () => {
    const res = await runTool('openssl', [
      's_client',
      '-connect',
      '127.0.0.1:8443',
      '-CAfile',
      'certs/dev/server-root-ca.pem',
    ])
    const out = res.stdout + res.stderr
    expect(out.match(/^verify return:1$/gm)).toHaveLength(3)
    expect(out).toMatch(/ 1 s:.*Dev Server Issuing CA/)
    const names = out.slice(out.indexOf('Acceptable client certificate CA names'))
    expect(names).toContain('Thredd Dev Root CA - G1')
    expect(names).toContain('Thredd Dev Issuing CA - G1')
  })

  it('fetched both dev CRLs over HTTP from the demo CRL server', async () => {
    const metrics = await (await fetch('http://127.0.0.1:8442/metrics')).text()
    const fetched = metrics
      .split('\n')
      .filter((l) => l.startsWith('ehi_gateway_crl_fetches_total{') && l.includes('result="success"'))
    expect([...new Set(fetched.map((l) => /url="([^"]+)"/.exec(l)?.[1]))].sort()).toEqual([
      'http://127.0.0.1:9080/dev/thredd-issuing.crl',
      'http://127.0.0.1:9080/dev/thredd-root.crl',
    ])
    expect(fetched.every((l) => Number(l.split(' ').pop()) >= 1)).toBe(true)
  })

  it('records what it serves: `ledger show` finds a message by TXn_ID after a POST', async () => {
    const body = join(mkdtempSync(join(tmpdir(), 'ehi-gateway-demo-')), 'auth.xml')
    writeFileSync(body, buildMessage('auth', 'xml', { TXn_ID: '9000000001' }))
    const res = await runTool('curl', [
      '-sS',
      '-D',
      '-',
      '--cacert',
      'certs/dev/server-root-ca.pem',
      '--cert',
      'certs/dev/thredd-client.pem',
      '--key',
      'certs/dev/thredd-client.key',
      '-H',
      'content-type: application/xml',
      '--data-binary',
      `@${body}`,
      'https://127.0.0.1:8443/ehi',
    ])
    const requestId = /^x-request-id: *(\S+)/im.exec(res.stdout)?.[1]
    expect(requestId).toBeDefined()
    // Written in batches, off the request path: give the batch a moment.
    const shown = await poll(
      async () => {
        const run = runCli(['ledger', 'show', '9000000001', '--config', 'config/demo.yaml'])
        await run.exited
        return run.stdout()
      },
      (out) => out.includes(requestId!),
      15_000,
    )
    expect(shown).toContain(requestId)
  })

  it('prints the commands to try', () => {
    expect(demo.stdout()).toContain('curl -sS --cacert')
  })

  it("a second demo names the CRL server's port the first one holds, in one line, exit 1", async () => {
    const second = runCli(['demo'])
    expect(await second.exited).toBe(1)
    expect(second.stderr()).toContain(
      "ehi-gateway demo: 127.0.0.1:9080 is already in use (the demo's CRL server, which tls.crl.fetch.urls in config/demo.yaml name): stop what listens there (another demo?)",
    )
    expect(second.stderr().trim().split('\n')).toHaveLength(1)
  }, 30_000)
})
