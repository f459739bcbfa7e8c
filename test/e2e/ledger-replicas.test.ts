/**
 * Two gateway replicas behind one load balancer share one PostgreSQL ledger (a throwaway cluster
 * started by the test): a message Thredd resends to the other replica is recognised there as a
 * resend of the first replica's request, and both replicas' records are in the one database.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startReferenceHost, type ReferenceHost } from '../../src/tools/reference-host/reference-host.ts'
import { buildMessage, soapActionOf } from '../../src/tools/messages/synthetic-messages.ts'
import { runCli, type CliRun } from '../support/cli.ts'
import { post } from '../support/clients.ts'
import { freePort } from '../support/ports.ts'
import { startPostgres, type PgCluster } from '../support/postgres.ts'
import { eventually } from '../support/wait.ts'

const pki = inject('pki')
const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-replicas-'))
let pg: PgCluster
let host: ReferenceHost
const replicas: { run: CliRun; port: number }[] = []

async function replica(name: string, ledgerUrl: string) {
  const port = await freePort()
  const file = join(dir, `${name}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      listen: { host: '127.0.0.1', port },
      admin: { host: '127.0.0.1', port: await freePort() },
      tls: {
        serverCertificates: [{ cert: pki.files['server-chain.pem'], key: pki.files['server.key'] }],
        clientCa: [pki.files['thredd-root-ca.pem'], pki.files['thredd-issuing-ca.pem']],
      },
      upstream: { url: host.url },
      ehi: { threddBudgetMs: 10000, deadlineMs: { advice: 5000 } },
      reload: { watchFiles: false },
      workers: 1,
      // The lookup's 10 ms default is a request-path budget (the bench measures it); on a loaded
      // machine a PostgreSQL read can take longer and the resend goes on as new. Here the
      // question is whether replica B finds A's record at all.
      ledger: { url: ledgerUrl, instanceId: name, batchIntervalMs: 10, lookupTimeoutMs: 1000 },
    }),
  )
  const run = runCli(['serve', '--config', file])
  await run.waitFor('ehi-gateway started', 20_000)
  replicas.push({ run, port })
  return port
}

beforeAll(async () => {
  pg = await startPostgres(inject('pgRegistry'))
  host = await startReferenceHost()
}, 60_000)
afterAll(async () => {
  for (const r of replicas) {
    r.run.child.kill('SIGTERM')
    await r.run.exited
  }
  await host?.close()
  pg?.destroy()
})

const send = (port: number, overrides: Record<string, string>) =>
  post(pki, port, {
    client: pki.clients.good,
    body: buildMessage('advice', 'xml', overrides),
    headers: { 'content-type': 'application/xml', soapaction: soapActionOf('advice') },
  })

describe('two replicas on one PostgreSQL ledger', () => {
  it("recognise each other's resends and keep both records in one database", async () => {
    const url = await pg.createDatabase('replicas')
    const a = await replica('replica-a', url)
    const b = await replica('replica-b', url)
    const first = await send(a, { TXn_ID: '9400000001' })
    expect(first.status).toBe(200)
    // The first replica's record reaches the database within its batch interval.
    const recorded = async () =>
      (await pg.query('SELECT 1 FROM ledger_messages WHERE txn_id = 9400000001', 'replicas')).length
    await eventually(async () => (await recorded()) >= 1, 10_000, "replica A's record in PostgreSQL")
    // Thredd resends to whichever replica the load balancer picks: here the other one.
    const resent = await send(b, { TXn_ID: '9400000001', SendingAttemptCount: '1' })
    expect(resent.status).toBe(200)
    expect(host.received.at(-1)!.headers['x-ehi-resend-of']).toBe(first.headers['x-request-id'])
    await eventually(async () => (await recorded()) >= 2, 10_000, "replica B's record in PostgreSQL")
    const rows = await pg.query(
      'SELECT instance, resend, resend_of FROM ledger_messages WHERE txn_id = 9400000001 ORDER BY seq',
      'replicas',
    )
    expect(rows.map((r) => r.instance)).toContain('replica-a')
    expect(rows.map((r) => r.instance)).toContain('replica-b')
    expect(rows.at(-1)).toMatchObject({ instance: 'replica-b', resend_of: first.headers['x-request-id'] })
  }, 60_000)
})
