/**
 * The PostgreSQL store (the `pg` driver): several gateway replicas share one ledger and see each
 * other's messages. Two small pools per process, one for writes and one for lookups, so a batch
 * that waits on a slow server never holds up a lookup's connection. Statements are named
 * (prepared once per connection); a batch is one INSERT over unnest() arrays, one round trip
 * whatever its size.
 */
import pg from 'pg'
import { CUTOFF_COUNTERS, type DedupKey, type LedgerRecord } from './rules/ledger-record.ts'
import type { RangeRow, Reconciliation } from './rules/cutoff-reconcile.ts'
import { cutoffRow } from './sqlite-engine.ts'
import {
  LATEST_VERSION,
  MESSAGE_COLUMNS,
  MIGRATIONS,
  SchemaTooNewError,
  SchemaTooOldError,
} from './rules/schema.ts'
import {
  errorKind,
  LedgerStoreError,
  lookupRowOf,
  type CutoffRow,
  type LedgerStore,
  type LookupRow,
  type MessageRow,
  type OpenResult,
  type StatRow,
} from './store.ts'
import { redactSecrets } from './rules/ledger-url.ts'

export interface PostgresStoreOptions {
  url: string
  /** From ledger.passwordFile; wins over a password in the URL. */
  password?: string | undefined
  /** Where, without secrets (parseLedgerUrl's `redacted`). */
  location: string
  /** Connections per pool (writes, lookups). */
  connections: number
  /** Statement timeout of writes and reads (lookups have their own, shorter, in the ledger). */
  statementTimeoutMs: number
  connectTimeoutMs?: number
}

/** PostgreSQL types of the message columns, for the unnest() arrays. */
const PG_TYPES: Record<(typeof MESSAGE_COLUMNS)[number], string> = {
  request_id: 'uuid',
  arrived_at: 'bigint',
  instance: 'text',
  root: 'text',
  format: 'text',
  class: 'text',
  mode: 'smallint',
  txn_id: 'bigint',
  mtid: 'text',
  txn_type: 'text',
  product_id: 'text',
  sending_attempt: 'integer',
  authorised_by_gps: 'text',
  txn_stat_code: 'text',
  token_hash: 'text',
  outcome: 'text',
  reason: 'text',
  status: 'smallint',
  synthesized: 'boolean',
  acknowledgement: 'text',
  response_status: 'text',
  cut_off_result: 'text',
  conforming: 'boolean',
  total_ms: 'real',
  exchange_ms: 'real',
  host_ms: 'real',
  trace_id: 'text',
  client_serial: 'text',
  client_spki: 'text',
  resend: 'boolean',
  resend_of: 'uuid',
  cutoff_id: 'bigint',
  masked: 'text',
}

const BOOLEAN_COLUMNS = new Set(['synthesized', 'conforming', 'resend'])
const MS = (column: string) => `(extract(epoch from ${column}) * 1000)::bigint AS ${column}`

/** The select list of a message row, in the shape SQLite gives (ms times, 0/1 flags, text ids). */
const MESSAGE_SELECT = [
  'seq',
  ...MESSAGE_COLUMNS.map((c) =>
    c === 'arrived_at'
      ? MS('arrived_at')
      : BOOLEAN_COLUMNS.has(c)
        ? `${c}::int AS ${c}`
        : c === 'txn_id' || c === 'cutoff_id' || c === 'request_id' || c === 'resend_of'
          ? `${c}::text AS ${c}`
          : c,
  ),
].join(', ')

const INSERT_MESSAGES = `INSERT INTO ledger_messages (${MESSAGE_COLUMNS.join(', ')})
  SELECT ${MESSAGE_COLUMNS.map((c) => (c === 'arrived_at' ? 'to_timestamp(arrived_at / 1000.0)' : c)).join(', ')}
    FROM unnest(${MESSAGE_COLUMNS.map((c, i) => `$${i + 1}::${PG_TYPES[c]}[]`).join(', ')})
      AS t(${MESSAGE_COLUMNS.join(', ')})
  ON CONFLICT (request_id) DO NOTHING`

const INSERT_CUTOFF = `INSERT INTO ledger_cutoffs (cutoff_id, request_id, arrived_at, product_id, cutoff_date,
    first_txn_id, last_txn_id, ${CUTOFF_COUNTERS.join(', ')})
  VALUES ($1, $2, to_timestamp($3 / 1000.0), $4, $5, $6, $7, ${CUTOFF_COUNTERS.map((_, i) => `$${i + 8}`).join(', ')})
  ON CONFLICT (cutoff_id) DO NOTHING`

const INSERT_ANSWER = `INSERT INTO ledger_answers (request_id, arrived_at, status, content_type, soapaction, body)
  VALUES ($1, to_timestamp($2 / 1000.0), $3, $4, $5, $6) ON CONFLICT (request_id) DO NOTHING`

const LOOKUP_SQL = `SELECT m.request_id::text AS request_id, (extract(epoch from m.arrived_at) * 1000)::bigint AS arrived_at,
        m.format, m.root, m.class, m.outcome, m.status, m.synthesized::int AS synthesized,
        m.acknowledgement, m.response_status, m.cut_off_result,
        a.status AS a_status, a.content_type AS a_content_type, a.soapaction AS a_soapaction, a.body AS a_body
   FROM ledger_messages m LEFT JOIN ledger_answers a ON a.request_id = m.request_id
  WHERE m.txn_id = $1 AND m.mtid IS NOT DISTINCT FROM $2
    AND m.authorised_by_gps IS NOT DISTINCT FROM $3 AND m.txn_stat_code IS NOT DISTINCT FROM $4
  ORDER BY m.seq LIMIT $5`

/** Any constant: serialises migrations of every gateway sharing the database. */
const MIGRATION_LOCK = 0x656869 // "ehi"

export function postgresStore(options: PostgresStoreOptions): LedgerStore {
  let writes: pg.Pool | undefined
  let reads: pg.Pool | undefined

  const clean = (error: unknown): Error => {
    const e = error as Error & { code?: string }
    if (e instanceof LedgerStoreError) return e
    // Driver messages can quote the connection string; keep its secrets out of logs.
    const wrapped = new LedgerStoreError(
      errorKind(e),
      redactSecrets(e?.message ?? String(error), options.url, options.password),
    )
    ;(wrapped as { code?: string }).code = e?.code
    return wrapped
  }

  /**
   * The URL with the password of ledger.passwordFile in it: pg lets the URL's fields win over
   * separate settings, so a URL without one would log in without any.
   */
  function connectionString(): string {
    if (options.password === undefined) return options.url
    const url = new URL(options.url)
    url.password = encodeURIComponent(options.password)
    return url.toString()
  }

  function pool(max: number): pg.Pool {
    const p = new pg.Pool({
      connectionString: connectionString(),
      max,
      connectionTimeoutMillis: options.connectTimeoutMs ?? Math.min(options.statementTimeoutMs, 5000),
      // Connections stay open: a lookup has ~10 ms, less than a fresh connection's SCRAM login.
      idleTimeoutMillis: 0,
      statement_timeout: options.statementTimeoutMs,
      query_timeout: options.statementTimeoutMs + 1000,
      application_name: 'ehi-gateway ledger',
      // The pool must not keep the process alive: drain closes it.
      allowExitOnIdle: true,
    })
    // An idle connection the server closed (a restart) emits here; without a listener it would
    // crash the gateway. The next query takes a new connection.
    p.on('error', () => {})
    return p
  }

  const requireOpen = (p: pg.Pool | undefined): pg.Pool => {
    if (!p) throw new LedgerStoreError('unavailable', 'the ledger store is not open')
    return p
  }

  async function query<T>(
    target: 'writes' | 'reads',
    name: string | undefined,
    text: string,
    values: unknown[] = [],
  ) {
    const p = requireOpen(target === 'writes' ? writes : reads)
    try {
      const result = await p.query(name ? { name, text, values } : { text, values })
      return result.rows as T[]
    } catch (error) {
      throw clean(error)
    }
  }

  async function readVersion(client: pg.PoolClient | pg.Pool): Promise<number> {
    const exists = await client.query("SELECT to_regclass('ledger_schema') IS NOT NULL AS present")
    if (!exists.rows[0]?.present) {
      const other = await client.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'ledger\\_%' LIMIT 3",
      )
      if (other.rows.length > 0)
        throw new LedgerStoreError(
          'schema',
          `the database holds ledger tables without a ledger_schema table (${other.rows.map((r) => r.table_name).join(', ')}): not a ledger this gateway made`,
        )
      return 0
    }
    const row = await client.query('SELECT coalesce(max(version), 0)::int AS v FROM ledger_schema')
    return row.rows[0].v as number
  }

  async function migrate(): Promise<void> {
    const client = await requireOpen(writes).connect()
    client.on('error', () => {})
    try {
      await client.query('BEGIN')
      // Two gateways starting together: one migrates, the other then finds the schema current.
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
      await client.query(
        'CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), description TEXT NOT NULL)',
      )
      const current = (await client.query('SELECT coalesce(max(version), 0)::int AS v FROM ledger_schema'))
        .rows[0].v as number
      if (current > LATEST_VERSION)
        throw new LedgerStoreError('schema', new SchemaTooNewError(current).message)
      for (const migration of MIGRATIONS) {
        if (migration.version <= current) continue
        for (const sql of migration.postgres) await client.query(sql)
        await client.query('INSERT INTO ledger_schema (version, description) VALUES ($1, $2)', [
          migration.version,
          migration.description,
        ])
      }
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      client.release()
    }
  }

  /** Opens every lookup connection and prepares the lookup on it, so the first lookups are fast too. */
  async function warm(p: pg.Pool): Promise<void> {
    await Promise.all(
      Array.from({ length: options.connections }, async () => {
        const client = await p.connect()
        client.on('error', () => {})
        try {
          await client.query({
            name: 'ledger_lookup_v1',
            text: LOOKUP_SQL,
            values: ['-1', null, null, null, 1],
          })
        } finally {
          client.release()
        }
      }),
    )
  }

  async function closePools(): Promise<void> {
    const pools = [writes, reads]
    writes = undefined
    reads = undefined
    await Promise.all(pools.map((p) => p?.end().catch(() => {})))
  }

  return {
    engine: 'postgres',
    location: options.location,
    async open({ migrate: doMigrate }): Promise<OpenResult> {
      await closePools()
      writes = pool(options.connections)
      reads = pool(options.connections)
      try {
        const from = await readVersion(writes)
        if (from > LATEST_VERSION) throw new LedgerStoreError('schema', new SchemaTooNewError(from).message)
        if (from < LATEST_VERSION) {
          if (!doMigrate) throw new LedgerStoreError('schema', new SchemaTooOldError(from).message)
          await migrate()
        }
        const to = await readVersion(writes)
        await warm(reads)
        return { from, to }
      } catch (error) {
        await closePools()
        throw clean(error)
      }
    },

    async insert(records: readonly LedgerRecord[]) {
      if (records.length === 0) return
      const columns = MESSAGE_COLUMNS.map((c) =>
        records.map((r) => {
          const v = r[c]
          return BOOLEAN_COLUMNS.has(c) ? (v === null ? null : v === 1) : v
        }),
      )
      const client = await requireOpen(writes)
        .connect()
        .catch((error: unknown) => {
          throw clean(error)
        })
      // A checked-out connection the server drops emits 'error' on the client, not the pool:
      // without a listener that would crash the gateway. The query itself rejects.
      const ignore = () => {}
      client.on('error', ignore)
      try {
        await client.query('BEGIN')
        await client.query({ name: 'ledger_insert_messages_v1', text: INSERT_MESSAGES, values: columns })
        for (const r of records) {
          if (r.cutoff) {
            const c = r.cutoff
            await client.query({
              name: 'ledger_insert_cutoff_v1',
              text: INSERT_CUTOFF,
              values: [
                c.cutoff_id,
                r.request_id,
                r.arrived_at,
                c.product_id,
                c.cutoff_date,
                c.first_txn_id,
                c.last_txn_id,
                ...CUTOFF_COUNTERS.map((k) => c.counters[k]),
              ],
            })
          }
          if (r.stored_answer) {
            const a = r.stored_answer
            await client.query({
              name: 'ledger_insert_answer_v1',
              text: INSERT_ANSWER,
              values: [
                r.request_id,
                r.arrived_at,
                a.status,
                a.content_type,
                a.soapaction,
                Buffer.from(a.body),
              ],
            })
          }
        }
        await client.query('COMMIT')
        client.off('error', ignore)
        client.release()
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        client.off('error', ignore)
        // A broken connection goes back destroyed, so the next batch gets a fresh one.
        client.release(error as Error)
        throw clean(error)
      }
    },

    async lookup(key: DedupKey, limit: number): Promise<LookupRow[]> {
      const rows = await query<Record<string, unknown>>('reads', 'ledger_lookup_v1', LOOKUP_SQL, [
        key.txn_id,
        key.mtid,
        key.authorised_by_gps,
        key.txn_stat_code,
        limit,
      ])
      return rows.map(lookupRowOf)
    },

    byTxnId: (txnId) => messages('ledger_by_txn_v1', 'WHERE txn_id = $1 ORDER BY seq', [txnId]),
    after: (afterSeq, limit) =>
      messages('ledger_after_v1', 'WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit]),
    latest: async (limit) =>
      (await messages('ledger_latest_v1', 'ORDER BY seq DESC LIMIT $1', [limit])).reverse(),
    page: (fromMs, untilMs, afterSeq, limit) =>
      messages(
        'ledger_page_v1',
        'WHERE arrived_at >= to_timestamp($1 / 1000.0) AND arrived_at < to_timestamp($2 / 1000.0) AND seq > $3 ORDER BY seq LIMIT $4',
        [fromMs, untilMs, afterSeq, limit],
      ),

    async stats(fromMs, untilMs): Promise<StatRow[]> {
      const rows = await query<Record<string, unknown>>(
        'reads',
        undefined,
        `SELECT class, outcome, acknowledgement, resend::int AS resend, count(*)::int AS count FROM ledger_messages
          WHERE arrived_at >= to_timestamp($1 / 1000.0) AND arrived_at < to_timestamp($2 / 1000.0)
          GROUP BY class, outcome, acknowledgement, resend ORDER BY class, outcome, acknowledgement, resend`,
        [fromMs, untilMs],
      )
      return rows as unknown as StatRow[]
    },

    async cutoff(cutoffId): Promise<CutoffRow | undefined> {
      const rows = await query<Record<string, unknown>>(
        'reads',
        undefined,
        `SELECT cutoff_id::text AS cutoff_id, request_id::text AS request_id, ${MS('arrived_at')}, product_id, cutoff_date,
                first_txn_id::text AS first_txn_id, last_txn_id::text AS last_txn_id, ${CUTOFF_COUNTERS.join(', ')},
                ${MS('reconciled_at')}, verdict, detail
           FROM ledger_cutoffs WHERE cutoff_id = $1`,
        [cutoffId],
      )
      return rows[0] ? cutoffRow(rows[0]) : undefined
    },

    async rangeRows(first, last, productId): Promise<RangeRow[]> {
      const rows = await query<Record<string, unknown>>(
        'reads',
        undefined,
        `SELECT txn_id::text AS txn_id, mtid, txn_type, authorised_by_gps, txn_stat_code, class, outcome,
                acknowledgement, synthesized::int AS synthesized
           FROM ledger_messages WHERE txn_id BETWEEN $1 AND $2${productId === null ? '' : ' AND product_id = $3'}
          ORDER BY seq`,
        productId === null ? [first, last] : [first, last, productId],
      )
      return rows as unknown as RangeRow[]
    },

    async saveReconciliation(result: Reconciliation, at: number) {
      await query(
        'writes',
        undefined,
        'UPDATE ledger_cutoffs SET reconciled_at = to_timestamp($1 / 1000.0), verdict = $2, detail = $3 WHERE cutoff_id = $4',
        [at, result.verdict, JSON.stringify(result), result.cutoffId],
      )
    },

    async prune(beforeMs, chunk) {
      const deleted = await query<{ n: number }>(
        'writes',
        undefined,
        `WITH gone AS (DELETE FROM ledger_messages WHERE seq IN (
            SELECT seq FROM ledger_messages WHERE arrived_at < to_timestamp($1 / 1000.0) ORDER BY arrived_at LIMIT $2)
          RETURNING 1) SELECT count(*)::int AS n FROM gone`,
        [beforeMs, chunk],
      )
      await query(
        'writes',
        undefined,
        `DELETE FROM ledger_answers WHERE request_id IN (
           SELECT request_id FROM ledger_answers WHERE arrived_at < to_timestamp($1 / 1000.0) LIMIT $2)`,
        [beforeMs, chunk],
      )
      await query(
        'writes',
        undefined,
        `DELETE FROM ledger_cutoffs WHERE cutoff_id IN (
           SELECT cutoff_id FROM ledger_cutoffs WHERE arrived_at < to_timestamp($1 / 1000.0) LIMIT $2)`,
        [beforeMs, chunk],
      )
      return deleted[0]?.n ?? 0
    },

    async schemaVersion() {
      try {
        return await readVersion(requireOpen(reads))
      } catch (error) {
        throw clean(error)
      }
    },

    close: closePools,
  }

  async function messages(name: string, where: string, values: unknown[]): Promise<MessageRow[]> {
    const rows = await query<Record<string, unknown>>(
      'reads',
      name,
      `SELECT ${MESSAGE_SELECT} FROM ledger_messages ${where}`,
      values,
    )
    for (const row of rows) {
      row.seq = Number(row.seq)
      row.arrived_at = Number(row.arrived_at)
    }
    return rows as unknown as MessageRow[]
  }
}
