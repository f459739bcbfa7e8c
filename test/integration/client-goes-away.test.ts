/**
 * A client that closes its connection before its answer: the request is still audited (one line,
 * `clientClosed`), counted, and no longer in flight, so a drain does not wait for it. The host's
 * answer, if it comes, goes nowhere.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { AUTH_XML, rawExchange } from '../support/clients.ts'
import { startHarness, type Harness, type LogLine } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki)
})
afterAll(() => h.close())

/**
 * Sends `bytes` on a new mTLS connection and closes it `closeAfterMs` after connecting
 * (rawExchange's timeout), whether or not an answer came.
 */
async function sendAndLeave(bytes: string, closeAfterMs: number): Promise<void> {
  await rawExchange(pki, h.port, { client: pki.clients.good, request: bytes, timeoutMs: closeAfterMs })
}

async function requestLineAfter(index: number): Promise<LogLine> {
  for (let i = 0; i < 200; i++) {
    const line = h.logs.slice(index).find((l) => l.event === 'request')
    if (line) return line
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error('no request line')
}

const head = `POST /ehi HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(AUTH_XML)}\r\n\r\n`

describe('a client that goes away before its answer', () => {
  it('mid-body: audited as clientClosed, with no status, and nothing forwarded', async () => {
    const before = h.logs.length
    const received = h.host.received.length
    await sendAndLeave(head + AUTH_XML.slice(0, 100), 300)
    const line = await requestLineAfter(before)
    expect(line.clientClosed).toBe(true)
    expect(line.status).toBeUndefined()
    expect(line.level).toBe('warn')
    expect(h.host.received.length).toBe(received)
  })

  it('while the host answers: audited as clientClosed with the host answer it missed', async () => {
    h.host.delayMs = 1500
    try {
      const before = h.logs.length
      await sendAndLeave(head + AUTH_XML, 500)
      const line = await requestLineAfter(before)
      expect(line.clientClosed).toBe(true)
      expect(line.outcome).toBe('host_answer')
      expect(line.level).toBe('warn')
    } finally {
      h.host.delayMs = 0
    }
  })

  // Last: it drains the gateway.
  it('is no longer in flight once it is gone: a drain does not wait for it', async () => {
    const before = h.logs.length
    await sendAndLeave(head + AUTH_XML.slice(0, 100), 300)
    await requestLineAfter(before)
    await h.gateway.drain(2000)
    expect(h.logs.slice(before).filter((l) => l.event === 'drain_timeout')).toEqual([])
  })
})
