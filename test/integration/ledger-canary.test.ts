/**
 * No card data in either engine. Messages carrying canary card values (a PAN-like number in the
 * card fields and in fields the ledger does keep, CVV2, expiry, PaymentTokenPan, a PAN-like Token)
 * go through the real parser and audit record, as the request path sends them, into a SQLite
 * ledger and a PostgreSQL ledger, with replay on and a host answer that echoes a card number.
 * Then the SQLite file, its WAL and shared-memory files, and PostgreSQL's tables and data files
 * are searched byte for byte: no canary is there. A positive control (the request ids) proves the
 * search finds what is stored.
 */
import { readdirSync, readFileSync, rmSync, mkdtempSync, statSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { auditRecord, tokenHasher } from '../../src/plane/ehi/audit-record.ts'
import { classifyEhiMessage } from '../../src/plane/ehi/classify-ehi-message.ts'
import { getTransactionAnswer } from '../../src/plane/ehi/ehi-answers.ts'
import type { EhiFormat } from '../../src/plane/ehi/ehi-message.ts'
import { parseEhiMessage } from '../../src/plane/ehi/parse-ehi-message.ts'
import { buildMessage, SCENARIOS, type Scenario } from '../../src/tools/messages/synthetic-messages.ts'
import type { LedgerEvent } from '../../src/ledger/rules/ledger-record.ts'
import { startPostgres, type PgCluster } from '../support/postgres.ts'
import { openTestLedger, type TestLedger } from '../support/ledger.ts'

/** Distinct values that cannot occur by chance in a database file. */
const CANARY = {
  pan: '4000056655665556',
  tokenPan: '5372987654321098',
  cvv2: 'CVV2-CANARY-739',
  expiry: 'EXPIRY-CANARY-2911',
  pin: 'PIN-CANARY-0F3A9C',
  token: '4929000000006',
}

/** Card values in the card fields, and the PAN-like canary in fields the ledger keeps. */
const OVERRIDES: Record<string, string> = {
  CVV2: CANARY.cvv2,
  Expiry_Date: CANARY.expiry,
  PaymentTokenPan: CANARY.tokenPan,
  PIN: CANARY.pin,
  Token: CANARY.token,
  Additional_Data_DE48: CANARY.pan,
  Merch_Name_DE43: `SHOP ${CANARY.pan}`,
  Traceid_Message: CANARY.pan,
  ProductID: CANARY.pan,
  Txn_Stat_Code: CANARY.pan,
  MCC_Code: CANARY.pan,
}

const LIMITS = { maxDepth: 16, maxElements: 2000, maxAttributes: 32 }
const hash = tokenHasher(Buffer.from('canary-test-hmac-key-0123456789'))
const ANSWER = getTransactionAnswer({ Acknowledgement: '1', CurBalance: 0, AvlBalance: 0 }, 'xml').replace(
  '<CurBalance>0</CurBalance>',
  `<CurBalance>0</CurBalance><Echo>${CANARY.pan}</Echo>`,
)

/** Every scenario in both formats, parsed and audited as the request path does. */
function events(): LedgerEvent[] {
  const list: LedgerEvent[] = []
  for (const scenario of SCENARIOS as readonly Scenario[])
    for (const format of ['xml', 'json'] as EhiFormat[]) {
      const overrides = scenario === 'cutoff' ? { ProductID: CANARY.pan, CutoffID: CANARY.pan } : OVERRIDES
      const body = buildMessage(scenario, format, overrides)
      expect(body).toContain(CANARY.pan)
      const parsed = parseEhiMessage(
        Buffer.from(body),
        format === 'xml' ? 'text/xml' : 'application/json',
        LIMITS,
      )
      if (!parsed.ok) throw new Error(`${scenario}/${format}: ${parsed.detail}`)
      const message = parsed.message
      const cls = classifyEhiMessage(message, 1)
      const audit = auditRecord(message, cls, 1, hash)
      list.push({
        requestId: crypto.randomUUID(),
        arrivedAt: Date.now(),
        format,
        root: message.root,
        messageClass: cls,
        mode: 1,
        fields: message.fields,
        tokenHash: audit.tokenHmac,
        outcome: 'host_answer',
        answer: { status: 200, synthesized: false, Acknowledgement: '1', conforming: true },
        // The request path hands over the host's bytes when replay is on; one that echoes a card
        // number must not be kept.
        hostAnswer: { status: 200, headers: { 'content-type': 'text/xml' }, body: ANSWER },
      })
    }
  return list
}

function filesUnder(root: string): string[] {
  if (!existsSync(root)) return []
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
}

/** Which of `needles` occur in any of `files`, as bytes. */
function found(files: string[], needles: string[]): string[] {
  const hits = new Set<string>()
  for (const file of files) {
    if (statSync(file).size === 0) continue
    const bytes = readFileSync(file)
    for (const needle of needles) if (bytes.includes(Buffer.from(needle))) hits.add(needle)
  }
  return [...hits]
}

const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ledger-canary-'))
let pg: PgCluster
const open: TestLedger[] = []
beforeAll(async () => {
  pg = await startPostgres(inject('pgRegistry'))
})
afterAll(async () => {
  try {
    await Promise.all(open.map((t) => t.ledger.close(1000)))
  } finally {
    pg?.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
})

const NEEDLES = Object.values(CANARY)

describe('canary card values', () => {
  it('are nowhere in the SQLite file, its WAL or its shared memory', async () => {
    const folder = join(dir, 'sqlite')
    const t = await openTestLedger(`sqlite:${join(folder, 'ledger.db')}`, {
      replayAcknowledged: true,
      batchIntervalMs: 10,
    })
    open.push(t)
    const list = events()
    for (const event of list) t.ledger.record(event)
    expect(await t.ledger.flush()).toBe(true)
    expect(t.ledger.status().written).toBe(list.length)

    // While the gateway runs, the records sit in the WAL: search it before the close folds it in.
    const files = filesUnder(folder)
    expect(files.map((f) => f.slice(folder.length + 1)).sort()).toEqual([
      'ledger.db',
      'ledger.db-shm',
      'ledger.db-wal',
    ])
    expect(
      found(
        files,
        list.map((e) => e.requestId),
      ).length,
    ).toBe(list.length)
    expect(found(files, NEEDLES)).toEqual([])

    await t.ledger.close()
    expect(
      found(
        filesUnder(folder),
        list.slice(0, 3).map((e) => e.requestId),
      ).length,
    ).toBe(3)
    expect(found(filesUnder(folder), NEEDLES)).toEqual([])
    // Integers are stored in binary, which a byte search cannot see: every value as text, too.
    const db = new DatabaseSync(join(folder, 'ledger.db'), { readOnly: true })
    try {
      const text = JSON.stringify(
        ['ledger_messages', 'ledger_cutoffs', 'ledger_answers'].map((table) =>
          db
            .prepare(`SELECT * FROM ${table}`)
            .all()
            .map((row) =>
              Object.values(row).map((v) =>
                v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v),
              ),
            ),
        ),
      )
      expect(text).toContain(list[0]!.requestId)
      for (const needle of NEEDLES) expect(text, needle).not.toContain(needle)
    } finally {
      db.close()
    }
  })

  it("are nowhere in PostgreSQL's tables or its data files", async () => {
    const url = await pg.createDatabase('canary')
    const t = await openTestLedger(url, { replayAcknowledged: true, batchIntervalMs: 10 })
    open.push(t)
    const list = events()
    for (const event of list) t.ledger.record(event)
    expect(await t.ledger.flush()).toBe(true)
    await t.ledger.close()

    const tables = await pg.query(
      `SELECT (SELECT coalesce(json_agg(m), '[]') FROM ledger_messages m)::text AS messages,
              (SELECT coalesce(json_agg(c), '[]') FROM ledger_cutoffs c)::text AS cutoffs,
              (SELECT coalesce(json_agg(json_build_object('a', a, 'body', convert_from(a.body, 'LATIN1'))), '[]')
                 FROM ledger_answers a)::text AS answers,
              (SELECT count(*) FROM ledger_messages)::int AS n`,
      'canary',
    )
    const text = JSON.stringify(tables)
    expect(tables[0]!.n).toBe(list.length)
    expect(text).toContain(list[0]!.requestId)
    for (const needle of NEEDLES) expect(text, needle).not.toContain(needle)

    await pg.query('CHECKPOINT')
    const files = [...filesUnder(join(pg.dataDir, 'base')), ...filesUnder(join(pg.dataDir, 'pg_wal'))]
    expect(
      found(files, [list[0]!.requestId.replaceAll('-', '')]).length + found(files, ['host_answer']).length,
    ).toBeGreaterThan(0)
    expect(found(files, NEEDLES)).toEqual([])
  })
})
