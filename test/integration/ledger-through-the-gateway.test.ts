/**
 * The message ledger, wired: every message the gateway answers is recorded in a real SQLite
 * file, a resend is recognised and named to the host, an exact resend the host acknowledged is
 * answered from the ledger when asked, a Cut_Off is reconciled against what crossed the edge,
 * no card data reaches the file, and a broken ledger never costs Thredd an answer.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { buildMessage, soapActionOf } from '../../src/tools/messages/synthetic-messages.ts'
import { runCli } from '../support/cli.ts'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { eventually } from '../support/wait.ts'

const pki = inject('pki')
let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

function ledgerAt(extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ledger-gw-'))
  const file = join(dir, 'ledger.db')
  return { dir, file, config: { ledger: { url: `sqlite:${file}`, batchIntervalMs: 10, ...extra } } }
}

const send = (scenario: Parameters<typeof buildMessage>[0], overrides: Record<string, string> = {}) =>
  post(pki, h!.port, {
    client: pki.clients.good,
    body: buildMessage(scenario, 'xml', overrides),
    headers: { 'content-type': 'application/xml', soapaction: soapActionOf(scenario) },
  })

function rows(file: string, txnId: string): Record<string, unknown>[] {
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    return db.prepare('SELECT * FROM ledger_messages WHERE txn_id = ? ORDER BY seq').all(txnId) as Record<
      string,
      unknown
    >[]
  } finally {
    db.close()
  }
}

describe('the ledger on the request path', () => {
  it('records each message it answers, and `ledger show` finds it by TXn_ID', async () => {
    const ledger = ledgerAt()
    h = await startHarness(pki, ledger.config)
    const answer = await send('auth', { TXn_ID: '9000000001' })
    expect(answer.status).toBe(200)
    await eventually(() => rows(ledger.file, '9000000001').length === 1)
    expect(rows(ledger.file, '9000000001')[0]).toMatchObject({
      mtid: '0100',
      class: 'decision',
      outcome: 'host_answer',
      request_id: answer.headers['x-request-id'],
    })
    const shown = runCli(['ledger', 'show', '9000000001', '--url', `sqlite:${ledger.file}`])
    expect(await shown.exited).toBe(0)
    expect(shown.stdout()).toContain('9000000001')
    expect(shown.stdout()).toContain(String(answer.headers['x-request-id']))
  })

  it('names a resend to the host: the first request id and what Thredd got for it', async () => {
    const ledger = ledgerAt()
    h = await startHarness(pki, ledger.config)
    const first = await send('advice', { TXn_ID: '9000000002' })
    const again = await send('advice', { TXn_ID: '9000000002', SendingAttemptCount: '1' })
    expect([first.status, again.status]).toEqual([200, 200])
    const [toHostFirst, toHostAgain] = h.host.received.slice(-2)
    expect(toHostFirst!.headers['x-ehi-resend-of']).toBeUndefined()
    expect(toHostAgain!.headers['x-ehi-resend-of']).toBe(first.headers['x-request-id'])
    expect(toHostAgain!.headers['x-ehi-resend-first-answer']).toContain('Acknowledgement=1')
    await eventually(() => rows(ledger.file, '9000000002').length === 2)
    expect(rows(ledger.file, '9000000002')[1]).toMatchObject({ resend_of: first.headers['x-request-id'] })
  })

  it("answers an exact resend the host acknowledged with the host's own answer, when asked to", async () => {
    const ledger = ledgerAt({ replayAcknowledged: true })
    h = await startHarness(pki, ledger.config)
    const first = await send('advice', { TXn_ID: '9000000003' })
    const received = h.host.received.length
    const again = await send('advice', { TXn_ID: '9000000003', SendingAttemptCount: '1' })
    expect(again.status).toBe(200)
    expect(again.body.toString()).toBe(first.body.toString())
    expect(again.headers['x-ehi-gateway-replayed-from']).toBe(first.headers['x-request-id'])
    expect(h.host.received.length).toBe(received)
    expect(h.logs.findLast((l) => l.event === 'request')).toMatchObject({ outcome: 'replayed' })
  })

  it('never replays a decision: a resent authorisation goes to the host', async () => {
    const ledger = ledgerAt({ replayAcknowledged: true })
    h = await startHarness(pki, ledger.config)
    await send('auth', { TXn_ID: '9000000004' })
    const received = h.host.received.length
    await send('auth', { TXn_ID: '9000000004', SendingAttemptCount: '1' })
    expect(h.host.received.length).toBe(received + 1)
  })

  it('reconciles a Cut_Off against what crossed the edge and finds a planted mismatch', async () => {
    const ledger = ledgerAt({ reconcileDelayMs: 100 })
    h = await startHarness(pki, ledger.config)
    for (const txn of ['9100000001', '9100000002', '9100000003']) await send('auth', { TXn_ID: txn })
    // Thredd claims 4 acknowledged authorisations in the range; three crossed the edge.
    const cut = await send('cutoff', {
      CutoffID: '7100000001',
      FirstTxn_ID: '9100000001',
      LastTxn_ID: '9100000009',
      Auths_Acknowledged: '4',
      Auths_NotAcknowledged: '0',
      Financials_Acknowledged: '0',
      Financials_NotAcknowledged: '0',
      LoadsUnloads_Acknowledged: '0',
      LoadsUnloads_NotAcknowledged: '0',
      BalanceAdjustExpiry_Acknowledged: '0',
      BalanceAdjustExpiry_NotAcknowledged: '0',
    })
    expect(cut.status).toBe(200)
    await eventually(
      async () =>
        (await h!.counter('ehi_gateway_ledger_cutoff_reconciliations_total', { verdict: 'mismatch' })) === 1,
    )
    const report = runCli(['ledger', 'reconcile', '--cutoff', '7100000001', '--url', `sqlite:${ledger.file}`])
    await report.exited
    expect(report.stdout()).toMatch(/mismatch/i)
  })

  it('keeps no card data: canary values sent through the gateway are in neither the file nor its WAL', async () => {
    const ledger = ledgerAt()
    h = await startHarness(pki, ledger.config)
    const canaries = ['5372999988887777', '4111222233334444', '987', '2912']
    const answer = await send('auth', {
      TXn_ID: '9200000001',
      PaymentTokenPan: canaries[0]!,
      CVV2: canaries[2]!,
      Expiry_Date: canaries[3]!,
      Merch_Name_DE43: `SHOP ${canaries[1]}`,
    })
    await eventually(() => rows(ledger.file, '9200000001').length === 1)
    const bytes = readdirSync(ledger.dir)
      .map((name) => readFileSync(join(ledger.dir, name)).toString('latin1'))
      .join('')
    // The record is there (its request id is stored as text); the canaries are not.
    expect(bytes).toContain(String(answer.headers['x-request-id']))
    for (const canary of canaries.slice(0, 2)) expect(bytes).not.toContain(canary)
  })

  it('reports the ledger in /readyz', async () => {
    const ledger = ledgerAt()
    h = await startHarness(pki, ledger.config)
    const readyz = (await (await fetch(`http://127.0.0.1:${h.gateway.adminPort}/readyz`)).json()) as {
      checks: { name: string; ok: boolean; detail: string }[]
    }
    expect(readyz.checks.find((c) => c.name === 'ledger')).toMatchObject({ ok: true })
    expect(readyz.checks.find((c) => c.name === 'ledger')!.detail).toMatch(/^ok/)
  })

  it('keeps answering Thredd exactly as before when the ledger file is corrupt, and says so in /readyz', async () => {
    const ledger = ledgerAt()
    writeFileSync(ledger.file, 'this is not a SQLite database, just bytes '.repeat(100))
    h = await startHarness(pki, ledger.config)
    for (let i = 0; i < 5; i++) expect((await send('auth', { TXn_ID: `930000000${i}` })).status).toBe(200)
    const readyz = (await (await fetch(`http://127.0.0.1:${h.gateway.adminPort}/readyz`)).json()) as {
      ready: boolean
      checks: { name: string; ok: boolean; detail: string }[]
    }
    const line = readyz.checks.find((c) => c.name === 'ledger')!
    // Reported, and not failing readiness unless ledger.failReadiness asks for it.
    expect(line.ok).toBe(true)
    expect(line.detail).toMatch(/corrupt/)
  })
})
