/**
 * Limits on clients: connections per source address, connections in all, and slow clients
 * (slow-loris) are cut off and counted with their reason code.
 */
import { readFileSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import { connect, type TLSSocket } from 'node:tls'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { sleep } from '../support/wait.ts'

const pki = inject('pki')
let h: Harness | undefined
const open: (Socket | TLSSocket)[] = []

afterEach(async () => {
  for (const socket of open.splice(0)) socket.destroy()
  await h?.close()
  h = undefined
})

function tlsOpen(port: number, localAddress = '127.0.0.1'): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      // Passed on to net.connect; not in tls.ConnectionOptions' type.
      ...({ localAddress } as object),
      servername: 'localhost',
      ca: readFileSync(pki.files['server-root-ca.pem']!),
      cert: readFileSync(pki.clients.good.cert),
      key: readFileSync(pki.clients.good.key),
    })
    open.push(socket)
    socket.once('secureConnect', () => resolve(socket))
    socket.once('error', reject)
  })
}

describe('limits.maxConnectionsPerIp', () => {
  it('closes a connection past the limit from one address before TLS, and counts it', async () => {
    h = await startHarness(pki, { limits: { maxConnectionsPerIp: 2 } })
    await tlsOpen(h.port)
    await tlsOpen(h.port)
    await expect(tlsOpen(h.port)).rejects.toMatchObject({ code: 'ECONNRESET' })
    expect(
      await h.counter('ehi_gateway_connections_refused_total', { reason: 'too_many_connections_from_ip' }),
    ).toBe(1)
    // Another address is not affected.
    expect((await post(pki, h.port, { client: pki.clients.good, localAddress: '127.0.0.2' })).status).toBe(
      200,
    )
  })

  it('frees the slot when a connection closes', async () => {
    h = await startHarness(pki, { limits: { maxConnectionsPerIp: 1 } })
    const first = await tlsOpen(h.port)
    first.destroy()
    await sleep(100)
    expect((await post(pki, h.port, { client: pki.clients.good })).status).toBe(200)
  })
})

describe('limits.maxConnections', () => {
  it('drops connections past the limit and counts them', async () => {
    h = await startHarness(pki, { limits: { maxConnections: 2 } })
    await tlsOpen(h.port)
    await tlsOpen(h.port)
    await expect(tlsOpen(h.port)).rejects.toBeDefined()
    await sleep(50)
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'too_many_connections' })).toBe(
      1,
    )
  })
})

describe('slow clients', () => {
  it('cuts off a slow-loris client within the header timeout, answers 408 and counts it', async () => {
    h = await startHarness(pki, { limits: { headersTimeoutMs: 400, requestTimeoutMs: 400 } })
    const socket = await tlsOpen(h.port)
    let received = ''
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
    const closed = new Promise<number>((resolve) => {
      const started = performance.now()
      socket.once('close', () => resolve(performance.now() - started))
    })
    socket.write('POST /ehi HTTP/1.1\r\nHost: localhost\r\n')
    // One header line every 100 ms, never the blank line that ends the headers.
    const trickle = setInterval(() => socket.writable && socket.write(`X-Slow-${Date.now()}: 1\r\n`), 100)
    const elapsed = await closed
    clearInterval(trickle)
    expect(elapsed).toBeLessThan(400 + 250 + 500)
    expect(received).toMatch(/^HTTP\/1\.1 408/)
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'request_timeout' })).toBe(1)
    expect(h.host.received).toHaveLength(0)
  })

  it('closes an idle TCP connection that never starts TLS within the handshake timeout', async () => {
    h = await startHarness(pki, { tls: { handshakeTimeoutMs: 300 } })
    const socket = tcpConnect(h.port, '127.0.0.1')
    open.push(socket)
    const elapsed = await new Promise<number>((resolve) => {
      const started = performance.now()
      socket.on('error', () => undefined)
      socket.once('close', () => resolve(performance.now() - started))
    })
    expect(elapsed).toBeLessThan(1500)
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'handshake_timeout' })).toBe(1)
  })
})
