/**
 * A resumed session gets a new ticket, so a client that uses each ticket once (RFC 8446's
 * advice; Java's JSSE does) resumes every connection, not every other one; and a ticket of the
 * key a rotation replaced still resumes, while after a reload (new trust) it does not. Real TLS
 * over loopback: `openssl s_client` chaining its sessions, and Node's client.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { firstTicket, offerTicket, SAMPLE_REQUEST } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ticket-renewal-'))
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki)
})
afterAll(async () => {
  await h.close()
  rmSync(dir, { recursive: true, force: true })
})

/**
 * One `openssl s_client` connection: sends the sample message, reads until the gateway closes,
 * offers the session in `sessionIn` when given and saves the last one it received to `sessionOut`.
 */
function sClient(protocol: '-tls1_3' | '-tls1_2', sessionOut: string, sessionIn?: string) {
  const args = ['s_client', '-connect', `127.0.0.1:${h.port}`, protocol, '-ign_eof']
  args.push('-cert', pki.clients.good.cert, '-key', pki.clients.good.key)
  args.push('-CAfile', pki.files['server-root-ca.pem']!, '-sess_out', sessionOut)
  if (sessionIn) args.push('-sess_in', sessionIn)
  return new Promise<{ reused: boolean; answered: boolean }>((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.on('error', reject)
    child.on('close', () => {
      clearTimeout(timer)
      resolve({ reused: /^Reused, /m.test(out), answered: out.includes('HTTP/1.1 200') })
    })
    child.stdin.end(SAMPLE_REQUEST.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'))
  })
}

describe('session ticket renewal', () => {
  it('resumes every connection of a TLS 1.3 client that offers each ticket once (openssl s_client)', async () => {
    const sessions = [0, 1, 2, 3].map((i) => join(dir, `tls13-${i}.pem`))
    expect(await sClient('-tls1_3', sessions[0]!)).toEqual({ reused: false, answered: true })
    for (let i = 1; i < sessions.length; i++)
      expect(await sClient('-tls1_3', sessions[i]!, sessions[i - 1])).toEqual({
        reused: true,
        answered: true,
      })
  })

  it('still resumes TLS 1.2 sessions, again and again with one ticket (openssl s_client)', async () => {
    const first = join(dir, 'tls12-0.pem')
    expect(await sClient('-tls1_2', first)).toEqual({ reused: false, answered: true })
    for (const i of [1, 2, 3])
      expect(await sClient('-tls1_2', join(dir, `tls12-${i}.pem`), first)).toEqual({
        reused: true,
        answered: true,
      })
  })

  /** A full handshake's ticket, then whether it resumes after `change`, and what the resumption issued. */
  async function resumesAfter(change: () => void) {
    const { ticket } = await firstTicket(pki, h.port)
    change()
    const { resumed, renewed, res } = await offerTicket(pki, h.port, ticket)
    expect(res.status).toBe(200)
    return { resumed, renewed }
  }

  it('a ticket of the key a rotation replaced resumes, and gets a ticket under the new key', async () => {
    const rotatedOnce = randomBytes(48)
    const { resumed, renewed } = await resumesAfter(() => h.gateway.setTicketKeys(rotatedOnce, true))
    expect(resumed).toBe(true)
    expect(renewed).toHaveLength(1)
    // The renewed ticket is under the current key: it resumes after the next rotation too.
    h.gateway.setTicketKeys(randomBytes(48), true)
    const again = await offerTicket(pki, h.port, renewed[0])
    expect(again.resumed).toBe(true)
  })

  it('a ticket of the key before a reload does not resume', async () => {
    const { resumed } = await resumesAfter(() => h.gateway.setTicketKeys(randomBytes(48), false))
    expect(resumed).toBe(false)
  })
})
