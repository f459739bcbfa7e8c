/**
 * Several gateway replicas behind one load balancer: with the same tls.ticketKeyFile, a TLS
 * session made on one resumes on another (Thredd's client opens a new connection per message);
 * with another secret, or without a file, it does not. Real TLS over loopback, two gateways.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ConfigError } from '../../src/config/config-issues.ts'
import { validateConfig } from '../../src/config/load-config.ts'
import { compileRuntime } from '../../src/runtime/compile-runtime.ts'
import { runCli } from '../support/cli.ts'
import { firstTicket, offerTicket } from '../support/clients.ts'
import { baseConfig, startHarness, type Harness } from '../support/harness.ts'
import { mintIssuingCrl } from '../support/test-pki.ts'

const pki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ticket-keys-'))
const started: Harness[] = []

/** A secret file as `openssl rand -base64 48 > file; chmod 0600 file` makes it. */
function secretFile(name: string, text = `${randomBytes(48).toString('base64')}\n`, mode = 0o600): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  chmodSync(file, mode)
  return file
}

async function gateway(ticketKeyFile?: string): Promise<Harness> {
  const h = await startHarness(pki, ticketKeyFile ? { tls: { ticketKeyFile } } : {})
  started.push(h)
  return h
}

/** A session ticket from a full handshake with the gateway on `port`. */
async function sessionFrom(port: number): Promise<Buffer> {
  const { res, ticket } = await firstTicket(pki, port)
  expect(res.status).toBe(200)
  expect(ticket).toBeDefined()
  return ticket!
}

/** Offers `session` to the gateway on `port`: whether it resumed, and the answer. */
const offer = (port: number, session: Buffer) => offerTicket(pki, port, session)

let shared: string
beforeAll(() => {
  shared = secretFile('shared.key')
})
afterAll(async () => {
  await Promise.all(started.map((h) => h.close()))
  rmSync(dir, { recursive: true, force: true })
})

describe('session tickets across replicas', () => {
  it('resumes on gateway B a session made on gateway A when both have the same ticket key file, and B forwards the message', async () => {
    const [a, b] = [await gateway(shared), await gateway(shared)]
    const session = await sessionFrom(a.port)
    const { resumed, res } = await offer(b.port, session)
    expect(resumed).toBe(true)
    expect(res.status).toBe(200)
    expect(b.host.received).toHaveLength(1)
  })

  it('does not resume on a gateway whose ticket key file holds another secret', async () => {
    const [a, c] = [await gateway(shared), await gateway(secretFile('other.key'))]
    const { resumed, res } = await offer(c.port, await sessionFrom(a.port))
    expect(resumed).toBe(false)
    expect(res.status).toBe(200)
  })

  it('does not resume across gateways without a ticket key file (random keys, one replica only)', async () => {
    const [d, e] = [await gateway(), await gateway()]
    const { resumed, res } = await offer(e.port, await sessionFrom(d.port))
    expect(resumed).toBe(false)
    expect(res.status).toBe(200)
  })

  it('with a ticket key file, a reload that changes the trust invalidates the sessions made before it', async () => {
    const a = await gateway(shared)
    const session = await sessionFrom(a.port)
    const newerCrl = mintIssuingCrl(pki, `ticket-keys-${Date.now()}.crl.pem`, {
      thisUpdate: new Date(Date.now() - 1000),
      nextUpdate: new Date(Date.now() + 86_400_000),
    })
    a.rewriteConfig({
      tls: { ticketKeyFile: shared, crl: { files: [pki.files['thredd-root-ca.crl.pem'], newerCrl] } },
    })
    const before = a.gateway.runtime().material.trustHash
    expect((await a.gateway.reload()).ok).toBe(true)
    expect(a.gateway.runtime().material.trustHash).not.toBe(before)
    const { resumed, res } = await offer(a.port, session)
    expect(resumed).toBe(false)
    expect(res.status).toBe(200)
  })

  it('with a ticket key file, a reload that keeps the trust keeps resuming the sessions made before it', async () => {
    const a = await gateway(shared)
    const session = await sessionFrom(a.port)
    a.rewriteConfig({ tls: { ticketKeyFile: shared }, log: { level: 'warn' } })
    expect((await a.gateway.reload()).ok).toBe(true)
    const { resumed } = await offer(a.port, session)
    expect(resumed).toBe(true)
  })

  it('reports where the ticket key comes from', async () => {
    const [a, d] = [await gateway(shared), await gateway()]
    expect(await a.counter('ehi_gateway_tls_ticket_key_info', { source: 'file' })).toBe(1)
    expect(await d.counter('ehi_gateway_tls_ticket_key_info', { source: 'random' })).toBe(1)
  })
})

describe('the ticket key file is checked before anything listens', () => {
  it('a gateway whose ticket key file is too short refuses to start, naming tls.ticketKeyFile', async () => {
    const short = secretFile('short.key', `${randomBytes(16).toString('base64')}\n`)
    const raw = baseConfig(pki, 'http://127.0.0.1:9/ehi') as { tls: Record<string, unknown> }
    const config = join(dir, 'short.json')
    writeFileSync(config, JSON.stringify({ ...raw, tls: { ...raw.tls, ticketKeyFile: short } }))
    const run = runCli(['serve', '--config', config])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toMatch(/tls\.ticketKeyFile: holds base64 text of 16 bytes; at least 32/)
  })

  it('refuses a ticket key file readable by every user', () => {
    const open = secretFile('world-readable.key', undefined, 0o644)
    const raw = baseConfig(pki, 'http://127.0.0.1:9/ehi') as { tls: Record<string, unknown> }
    const { config, issues } = validateConfig({ ...raw, tls: { ...raw.tls, ticketKeyFile: open } })
    expect(issues).toEqual([])
    expect(() => compileRuntime(config)).toThrow(
      expect.objectContaining({
        constructor: ConfigError,
        issues: [
          expect.objectContaining({
            path: 'tls.ticketKeyFile',
            message: expect.stringMatching(/readable by every user \(mode 0644\)/),
          }),
        ],
      }),
    )
  })
})
