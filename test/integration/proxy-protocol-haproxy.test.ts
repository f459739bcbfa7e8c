/**
 * PROXY protocol with a real sender: Debian's HAProxy in `mode tcp` in front of the gateway on
 * loopback, `send-proxy-v2` (with a CRC32C TLV) and `send-proxy` (v1). Clients connect to HAProxy
 * from 127.0.0.5 (allowed) and 127.0.0.6 (not allowed); HAProxy connects to the gateway from
 * 127.0.0.1 (the trusted balancer) or from 127.0.0.3 (not trusted). Skipped when haproxy is not
 * installed (`apt-get install haproxy`; .ci/run installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { findTool } from '../support/cli.ts'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { freePort, isListening } from '../support/ports.ts'
import { eventually } from '../support/wait.ts'

const pki = inject('pki')

const haproxy = findTool('haproxy')
if (!haproxy) console.warn('haproxy is not installed: skipping the HAProxy PROXY protocol test')

describe.skipIf(!haproxy)('PROXY protocol behind HAProxy (send-proxy-v2 / send-proxy)', () => {
  let h: Harness
  let proc: ChildProcess | undefined
  let dir: string
  let stderr = ''
  const ports = { v2: 0, v1: 0, untrusted: 0 }

  beforeAll(async () => {
    h = await startHarness(pki, {
      proxyProtocol: { enabled: true, trustedCidrs: ['127.0.0.1/32'] },
      network: { allowlist: ['127.0.0.5/32'] },
    })
    ports.v2 = await freePort()
    ports.v1 = await freePort()
    ports.untrusted = await freePort()
    dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-haproxy-'))
    const gateway = `127.0.0.1:${h.port}`
    const config = `
global
  maxconn 64

defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s

frontend v2
  bind 127.0.0.1:${ports.v2}
  default_backend gateway_v2
frontend v1
  bind 127.0.0.1:${ports.v1}
  default_backend gateway_v1
frontend untrusted
  bind 127.0.0.1:${ports.untrusted}
  default_backend gateway_untrusted

backend gateway_v2
  server gw ${gateway} send-proxy-v2 proxy-v2-options crc32c source 127.0.0.1
backend gateway_v1
  server gw ${gateway} send-proxy source 127.0.0.1
backend gateway_untrusted
  server gw ${gateway} send-proxy-v2 source 127.0.0.3
`
    writeFileSync(join(dir, 'haproxy.cfg'), config)
    const check = spawnSync(haproxy!, ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8' })
    if (check.status !== 0) throw new Error(`haproxy -c: ${check.stdout}${check.stderr}`)
    proc = spawn(haproxy!, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] })
    proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    await Promise.all(
      Object.values(ports).map((port) =>
        eventually(() => isListening(port), 5000, `haproxy listening on ${port}`),
      ),
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${stderr}`)
    })
  })

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((resolve) => proc!.once('exit', resolve))
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc!.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
    }
    if (dir) rmSync(dir, { recursive: true, force: true })
    await h?.close()
  })

  const settle = () => new Promise((resolve) => setTimeout(resolve, 100))
  const lastRefusal = () => h.logs.findLast((l) => l.event === 'connection_refused')

  it.each([
    ['send-proxy-v2', 'v2'],
    ['send-proxy (v1)', 'v1'],
  ] as const)('%s: the client address from behind HAProxy is admitted and forwarded', async (_name, key) => {
    const before = h.host.received.length
    const res = await post(pki, ports[key], { client: pki.clients.good, localAddress: '127.0.0.5' })
    expect(res.status).toBe(200)
    expect(h.host.received).toHaveLength(before + 1)
    expect(h.host.received.at(-1)!.headers['x-forwarded-for']).toBe('127.0.0.5')
    await settle()
    expect(h.logs.findLast((l) => l.event === 'request')).toMatchObject({
      status: 200,
      peer: { address: '127.0.0.5' },
    })
  })

  it('enforces the allowlist on the original address: 127.0.0.6 is refused before TLS', async () => {
    const before = await h.counter('ehi_gateway_connections_refused_total', { reason: 'ip_not_allowed' })
    const hostBefore = h.host.received.length
    const error = await post(pki, ports.v2, { client: pki.clients.good, localAddress: '127.0.0.6' }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    )
    expect(error).toBeDefined()
    expect(h.host.received).toHaveLength(hostBefore)
    await settle()
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'ip_not_allowed' })).toBe(
      before + 1,
    )
    expect(lastRefusal()).toMatchObject({
      reason: 'ip_not_allowed',
      peer: { address: '127.0.0.6' },
      proxy: { address: '127.0.0.1' },
    })
  })

  it('refuses PROXY headers from a balancer address that is not trusted', async () => {
    const before = await h.counter('ehi_gateway_connections_refused_total', {
      reason: 'proxy_untrusted_source',
    })
    const hostBefore = h.host.received.length
    const error = await post(pki, ports.untrusted, {
      client: pki.clients.good,
      localAddress: '127.0.0.5',
    }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    )
    expect(error).toBeDefined()
    expect(h.host.received).toHaveLength(hostBefore)
    await settle()
    expect(
      await h.counter('ehi_gateway_connections_refused_total', { reason: 'proxy_untrusted_source' }),
    ).toBe(before + 1)
    expect(lastRefusal()).toMatchObject({ reason: 'proxy_untrusted_source', peer: { address: '127.0.0.3' } })
  })
})
