/**
 * Two `ehi-gateway serve` processes started from different config files (so different command
 * lines) with the same tls.ticketKeyFile: a session made on one resumes on the other, also on
 * each worker of a cluster, whose key comes from its primary over IPC.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startReferenceHost, type ReferenceHost } from '../../src/tools/reference-host/reference-host.ts'
import { runCli, type CliRun } from '../support/cli.ts'
import { post } from '../support/clients.ts'
import { freePort } from '../support/ports.ts'

const pki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ticket-processes-'))
const runs: CliRun[] = []
let host: ReferenceHost

async function serve(name: string, ticketKeyFile: string, workers: number): Promise<number> {
  const port = await freePort()
  const file = join(dir, `${name}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      tls: {
        serverCertificates: [{ cert: pki.files['server-chain.pem'], key: pki.files['server.key'] }],
        clientCa: [pki.files['thredd-root-ca.pem'], pki.files['thredd-issuing-ca.pem']],
        ticketKeyFile,
      },
      upstream: { url: host.url },
      workers,
      admin: { port: 0 },
    }),
  )
  const run = runCli(['serve', '--config', file])
  runs.push(run)
  // Every worker logs its start; the primary sends the key to each one as it is ready.
  await run.waitFor(new RegExp(Array(workers).fill('ehi-gateway started').join('[\\s\\S]*')), 30_000)
  await new Promise((resolve) => setTimeout(resolve, 200))
  return port
}

beforeAll(async () => {
  host = await startReferenceHost()
})
afterAll(async () => {
  for (const run of runs) run.child.kill('SIGTERM')
  await Promise.all(runs.map((run) => run.exited))
  await host.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('session tickets across gateway processes', () => {
  it('resumes on every worker of gateway B a session made on gateway A with the same ticket key file', async () => {
    const keyFile = join(dir, 'ticket.key')
    writeFileSync(keyFile, `${randomBytes(48).toString('base64')}\n`, { mode: 0o600 })
    const a = await serve('a', keyFile, 1)
    const b = await serve('b', keyFile, 2)
    let session: Buffer | undefined
    expect((await post(pki, a, { client: pki.clients.good, onSession: (s) => (session = s) })).status).toBe(
      200,
    )
    const results: { resumed: boolean | undefined; status: number }[] = []
    // Several connections, so both of B's workers very likely take some.
    for (let i = 0; i < 6; i++) {
      let resumed: boolean | undefined
      const res = await post(pki, b, {
        client: pki.clients.good,
        session: session!,
        onSocket: (socket) => socket.once('secureConnect', () => (resumed = socket.isSessionReused())),
      })
      results.push({ resumed, status: res.status })
    }
    expect(results).toEqual(Array(6).fill({ resumed: true, status: 200 }))
  })
})
