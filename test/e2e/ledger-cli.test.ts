/**
 * `ehi-gateway ledger ...` as an operator runs it, against ledgers written by the ledger itself
 * (SQLite and a throwaway PostgreSQL): configuration as for `serve` (--config, EHI_GATEWAY_CONFIG,
 * EHI_GATEWAY_LEDGER__URL), every subcommand, its --help, and usage errors as one line, exit 2.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { LEDGER } from '../../src/cli/ledger-command.ts'
import { loadConfig } from '../../src/config/load-config.ts'
import { ROOT, runCli } from '../support/cli.ts'
import { counterValue, cutoff, message, openTestLedger } from '../support/ledger.ts'
import { startPostgres, type PgCluster } from '../support/postgres.ts'
import { eventually } from '../support/wait.ts'

const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-ledger-cli-'))
const db = join(dir, 'data', 'ledger.db')
const sqliteUrl = `sqlite:${db}`
let pg: PgCluster
let pgUrlNoPassword: string
const ids: Record<string, Record<string, string>> = {}

function configFile(name: string, ledger: Record<string, unknown>): string {
  const file = join(dir, name)
  writeFileSync(file, JSON.stringify({ upstream: { url: 'http://127.0.0.1:9/ehi' }, ledger }))
  return file
}

/** The same traffic into a ledger: an advice sent twice, a decision, a load, and two Cut_Offs. */
async function populate(engine: string, url: string) {
  const t = await openTestLedger(url, { batchIntervalMs: 10, reconcileDelayMs: 0 })
  const first = message({ txnId: '9000000001', ack: '0', synthesized: true })
  const second = message({ txnId: '9000000001', attempt: 1 })
  ids[engine] = { first: first.requestId, second: second.requestId }
  t.ledger.record(first)
  t.ledger.record(second)
  t.ledger.record(
    message({ txnId: '9000000002', mtid: '0100', type: 'A', cls: 'decision', responseStatus: '00' }),
  )
  t.ledger.record(
    message({ txnId: '9000000003', mtid: '', type: 'L', cls: 'other', ack: '0', synthesized: true }),
  )
  t.ledger.record(cutoff('7000000001', '9000000000', '9000000009', [2, 0, 0, 0, 0, 1, 0, 0]))
  t.ledger.record(cutoff('7000000002', '9000000000', '9000000009', [2, 0, 0, 0, 1, 0, 0, 0]))
  await t.ledger.flush()
  // The gateway compares each Cut_Off with the ledger itself; let it record both.
  await eventually(
    async () => (await counterValue(t.registry, 'ehi_gateway_ledger_cutoff_reconciliations_total')) === 2,
  )
  await t.ledger.close()
}

beforeAll(async () => {
  await populate('sqlite', sqliteUrl)
  pg = await startPostgres(inject('pgRegistry'))
  await pg.createDatabase('cli')
  await populate('postgres', pg.url('cli'))
  pgUrlNoPassword = pg.urlWithoutPassword('cli')
})
afterAll(() => {
  try {
    pg?.destroy()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

async function cli(args: string[], env: Record<string, string> = {}) {
  const run = runCli(['ledger', ...args], env)
  const code = await run.exited
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}

describe('ehi-gateway ledger --help', () => {
  // Each subcommand's own --help is walked with every other command in cli-help.test.ts.
  it('lists the subcommands', async () => {
    const r = await cli(['--help'])
    expect(r.code).toBe(0)
    for (const spec of Object.values(LEDGER)) expect(r.stdout).toContain(`  ${spec.name}  `)
  })
})

describe('usage errors: one line, exit 2, no stack trace', () => {
  it.each([
    [['show'], /give one TXn_ID/],
    [['show', 'abc'], /give one TXn_ID/],
    [['show', '1', '--bogus'], /unknown option --bogus/],
    [['export'], /--since TIME is required/],
    [['export', '--since', 'yesterday'], /is not a time/],
    [['export', '--since', '1h', '--format', 'xml'], /--format must be jsonl or csv/],
    [['stats', '--until', 'soon'], /--until "soon" is not a time/],
    [['tail', '-n', 'x'], /--lines must be a number/],
    [['tail', '--interval', '5'], /--interval must be at least 100/],
    [['reconcile'], /--cutoff needs a CutoffID/],
    [['reconcile', '--cutoff', '1', '--limit', '0'], /--limit must be a positive number/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['show', '1'], /ledger.url is not set; give --config FILE or --url URL/],
    [['show', '1', '--url', 'mysql://x'], /ledger.url must start with sqlite: or postgres/],
    [['show', '1', '--url', `sqlite:${join(dir, 'none.db')}`], /there is no ledger at/],
    [['show', '1', '--config', join(dir, 'missing.yaml')], /the configuration cannot read .*ENOENT/],
  ])('%j', async (args, message) => {
    const r = await cli(args as string[])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('names the ledger setting a config file gets wrong', async () => {
    const r = await cli(['stats', '--config', configFile('bad.json', { url: 'sqlite:x.db', queueSize: 1 })])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/ledger.queueSize must be >= 100/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })
})

describe.each(['sqlite', 'postgres'] as const)('on %s', (engine) => {
  /** The configuration file for the engine (PostgreSQL: the password in its own file). */
  function config(): string {
    if (engine === 'sqlite') return configFile('sqlite.json', { url: sqliteUrl })
    const passwordFile = join(dir, 'pg-password')
    writeFileSync(passwordFile, `${pg.password}\n`)
    return configFile('pg.json', { url: pgUrlNoPassword, passwordFile })
  }

  it('show: every attempt of a TXn_ID, with answer, resend link and timings', async () => {
    const r = await cli(['show', '9000000001', '--config', config()])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('TXn_ID 9000000001: 2 messages in the ledger')
    expect(r.stdout).toContain(`request id      ${ids[engine]!.first}`)
    expect(r.stdout).toContain(`request id      ${ids[engine]!.second}  (resend of ${ids[engine]!.first})`)
    expect(r.stdout).toMatch(/answer\s+synthesized 200 Ack=0 \(gateway-made\)/)
    expect(r.stdout).toMatch(/answer\s+host_answer 200 Ack=1/)
    expect(r.stdout).toMatch(/timings\s+total=3.5ms exchange=7.25ms host=1.5ms/)
    expect(r.stdout).not.toContain(pg?.password ?? '-')
  })

  it('show --json: one object per message; an unknown TXn_ID exits 1', async () => {
    const r = await cli(['show', '9000000001', '--json', '--config', config()])
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(rows.map((row) => row.request_id)).toEqual([ids[engine]!.first, ids[engine]!.second])
    const none = await cli(['show', '123', '--config', config()])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/no message with TXn_ID 123/)
  })

  it('tail --no-follow: one line per message', async () => {
    const r = await cli(['tail', '-n', '3', '--no-follow', '--config', config()])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/ 9000000003 -\/L other attempt=0 synthesized 200 Ack=0 \(gateway-made\) /)
    expect(lines[2]).toMatch(/ cutoff:7000000002 Cut_Off 7000000002 cutoff /)
  })

  it('tail follows new messages until Ctrl-C', async () => {
    const run = runCli(['ledger', 'tail', '-n', '0', '--interval', '100', '--config', config()])
    try {
      await run.waitFor('following ')
      const t = await openTestLedger(engine === 'sqlite' ? sqliteUrl : pg.url('cli'), { batchIntervalMs: 10 })
      t.ledger.record(message({ txnId: '9000000077' }))
      await t.ledger.close()
      await run.waitFor(/ 9000000077 0120\/J advice /)
    } finally {
      run.child.kill('SIGINT')
    }
    expect(await run.exited).toBe(0)
    expect(run.stdout().trim().split('\n')).toHaveLength(1)
  })

  it('export --since: JSON lines and CSV, to standard output or a file', async () => {
    const jsonl = await cli(['export', '--since', '1h', '--config', config()])
    expect(jsonl.code, jsonl.stderr).toBe(0)
    const rows = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(rows.length).toBeGreaterThanOrEqual(6)
    expect(rows[0]).toMatchObject({
      request_id: ids[engine]!.first,
      txn_id: '9000000001',
      arrived: expect.any(String),
    })

    const file = join(dir, `export-${engine}.csv`)
    const csv = await cli([
      'export',
      '--since',
      '2000-01-01T00:00:00Z',
      '--format',
      'csv',
      '-o',
      file,
      '--config',
      config(),
    ])
    expect(csv.code, csv.stderr).toBe(0)
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    expect(lines[0]).toMatch(/^seq,arrived,request_id,arrived_at,instance,/)
    expect(lines).toHaveLength(rows.length + 1)
    expect(lines[1]).toContain(ids[engine]!.first)
    expect(csv.stderr).toMatch(/written to/)

    const none = await cli([
      'export',
      '--since',
      '1h',
      '--until',
      '2000-01-01T00:00:00Z',
      '--config',
      config(),
    ])
    expect(none.stdout).toBe('')
  })

  it('stats: messages by class and outcome', async () => {
    const r = await cli(['stats', '--config', config()])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^advice\s+host_answer\s+\d+\s+\d+\s+0\s+\d+$/m)
    expect(r.stdout).toMatch(/^advice\s+synthesized\s+1\s+0\s+1\s+0$/m)
    expect(r.stdout).toMatch(/^decision\s+host_answer\s+1\s+1\s+0\s+0$/m)
    const json = JSON.parse((await cli(['stats', '--json', '--config', config()])).stdout) as {
      rows: unknown[]
    }
    expect(json.rows).toContainEqual({
      class: 'decision',
      outcome: 'host_answer',
      acknowledgement: '1',
      resend: 0,
      count: 1,
    })
  })

  it('reconcile: a match exits 0; the planted mismatch exits 1 and names the TXn_ID', async () => {
    const ok = await cli(['reconcile', '--cutoff', '7000000001', '--config', config()])
    expect(ok.code, ok.stdout + ok.stderr).toBe(0)
    expect(ok.stdout).toContain('Verdict: match')
    const bad = await cli(['reconcile', '--cutoff', '7000000002', '--config', config()])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/loads\/unloads\s+1\s+0\s+0\s+1\s+DIFFERS/)
    expect(bad.stdout).toMatch(/TXn_IDs not acknowledged.*\(1\):\n\s+9000000003\n/)
    expect(bad.stdout).toContain('Verdict: mismatch (recorded at')
    const json = JSON.parse(
      (await cli(['reconcile', '--cutoff', '7000000002', '--json', '--config', config()])).stdout,
    )
    expect(json).toMatchObject({
      verdict: 'mismatch',
      differing: [{ category: 'loadsUnloads', txnIds: ['9000000003'] }],
    })
    expect((await cli(['reconcile', '--cutoff', '1', '--config', config()])).code).toBe(1)
  })

  it('reads the configuration from EHI_GATEWAY_CONFIG and EHI_GATEWAY_LEDGER__URL like serve', async () => {
    const viaConfig = await cli(['show', '9000000002'], { EHI_GATEWAY_CONFIG: config() })
    expect(viaConfig.code, viaConfig.stderr).toBe(0)
    const url = engine === 'sqlite' ? sqliteUrl : pg.url('cli')
    const viaUrl = await cli(['show', '9000000002'], { EHI_GATEWAY_LEDGER__URL: url })
    expect(viaUrl.code, viaUrl.stderr).toBe(0)
    expect(viaUrl.stdout).toContain('TXn_ID 9000000002: 1 message')
  })
})

describe('migrate', () => {
  it('makes a new ledger, then finds it current', async () => {
    const file = join(dir, 'fresh', 'ledger.db')
    const first = await cli(['migrate', '--url', `sqlite:${file}`])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toBe(`ledger sqlite:${file}: schema version 0 -> 1\n`)
    expect(existsSync(file)).toBe(true)
    const again = await cli(['migrate', '--url', `sqlite:${file}`])
    expect(again.stdout).toBe(`ledger sqlite:${file}: schema version 1, current; nothing to do\n`)
  })

  it('refuses a schema from a newer gateway, exit 1, and leaves it untouched', async () => {
    const file = join(dir, 'future', 'ledger.db')
    expect((await cli(['migrate', '--url', `sqlite:${file}`])).code).toBe(0)
    const handle = new DatabaseSync(file)
    handle.exec("INSERT INTO ledger_schema VALUES (2, 0, 'future'); PRAGMA wal_checkpoint(TRUNCATE)")
    handle.close()
    const before = createHash('sha256').update(readFileSync(file)).digest('hex')
    for (const args of [['migrate'], ['show', '1'], ['stats']]) {
      const r = await cli([...args, '--url', `sqlite:${file}`])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/schema is version 2, newer than this ehi-gateway knows \(1\)/)
    }
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(before)
  })

  it('on PostgreSQL: a database with a password in a file; an unreachable one is a clear error', async () => {
    await pg.createDatabase('migrate')
    const passwordFile = join(dir, 'pg-password-2')
    writeFileSync(passwordFile, pg.password)
    const file = configFile('pg-migrate.json', { url: pg.urlWithoutPassword('migrate'), passwordFile })
    const r = await cli(['migrate', '--config', file])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/schema version 0 -> 1/)
    const down = await cli(['stats', '--url', `postgres://postgres:hunter2@127.0.0.1:1/none`])
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/postgres:\/\/postgres:\*\*\*@127.0.0.1:1\/none: connect ECONNREFUSED/)
    expect(down.stderr).not.toContain('hunter2')
  })
})

describe('the demo configuration', () => {
  it('keeps its ledger in the git-ignored .data folder of the checkout', () => {
    const { config } = loadConfig({ file: join(ROOT, 'config', 'demo.yaml'), env: {} })
    expect(config.ledger.url).toBe(`sqlite:${join(ROOT, '.data', 'ledger.db')}`)
    expect(readFileSync(join(ROOT, '.gitignore'), 'utf8')).toMatch(/^\.data\/$/m)
  })

  it('and the production template leaves the ledger off', () => {
    const { config } = loadConfig({ file: join(ROOT, 'config', 'production.yaml'), env: {} })
    expect(config.ledger.url).toBeUndefined()
  })
})
