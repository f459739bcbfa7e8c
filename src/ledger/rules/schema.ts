/**
 * The ledger's schema, as numbered migrations per engine. Applied at start and by
 * `ehi-gateway ledger migrate`, each in one transaction, recorded in ledger_schema. A store whose
 * schema is newer than the last migration here is refused, never written to: an older gateway
 * cannot know what a newer schema expects of its rows.
 *
 * Add a migration at the end; never edit one that has shipped.
 */

export interface Migration {
  version: number
  description: string
  sqlite: string[]
  postgres: string[]
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'messages, Cut_Offs and stored acknowledgements',
    sqlite: [
      `CREATE TABLE ledger_messages (
        seq INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL UNIQUE,
        arrived_at INTEGER NOT NULL,
        instance TEXT,
        root TEXT,
        format TEXT,
        class TEXT NOT NULL,
        mode INTEGER,
        txn_id INTEGER,
        mtid TEXT,
        txn_type TEXT,
        product_id TEXT,
        sending_attempt INTEGER,
        authorised_by_gps TEXT,
        txn_stat_code TEXT,
        token_hash TEXT,
        outcome TEXT NOT NULL,
        reason TEXT,
        status INTEGER,
        synthesized INTEGER,
        acknowledgement TEXT,
        response_status TEXT,
        cut_off_result TEXT,
        conforming INTEGER,
        total_ms REAL,
        exchange_ms REAL,
        host_ms REAL,
        trace_id TEXT,
        client_serial TEXT,
        client_spki TEXT,
        resend INTEGER NOT NULL DEFAULT 0,
        resend_of TEXT,
        cutoff_id INTEGER,
        masked TEXT
      )`,
      'CREATE INDEX ledger_messages_txn_id ON ledger_messages (txn_id)',
      'CREATE INDEX ledger_messages_arrived_at ON ledger_messages (arrived_at)',
      `CREATE TABLE ledger_cutoffs (
        cutoff_id INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL,
        arrived_at INTEGER NOT NULL,
        product_id TEXT,
        cutoff_date TEXT,
        first_txn_id INTEGER,
        last_txn_id INTEGER,
        auths_ack INTEGER,
        auths_not_ack INTEGER,
        financials_ack INTEGER,
        financials_not_ack INTEGER,
        loads_unloads_ack INTEGER,
        loads_unloads_not_ack INTEGER,
        balance_adjust_expiry_ack INTEGER,
        balance_adjust_expiry_not_ack INTEGER,
        reconciled_at INTEGER,
        verdict TEXT,
        detail TEXT
      )`,
      `CREATE TABLE ledger_answers (
        request_id TEXT PRIMARY KEY,
        arrived_at INTEGER NOT NULL,
        status INTEGER NOT NULL,
        content_type TEXT,
        soapaction TEXT,
        body BLOB NOT NULL
      )`,
      'CREATE INDEX ledger_answers_arrived_at ON ledger_answers (arrived_at)',
    ],
    postgres: [
      `CREATE TABLE ledger_messages (
        seq BIGSERIAL PRIMARY KEY,
        request_id UUID NOT NULL UNIQUE,
        arrived_at TIMESTAMPTZ NOT NULL,
        instance TEXT,
        root TEXT,
        format TEXT,
        class TEXT NOT NULL,
        mode SMALLINT,
        txn_id BIGINT,
        mtid TEXT,
        txn_type TEXT,
        product_id TEXT,
        sending_attempt INTEGER,
        authorised_by_gps TEXT,
        txn_stat_code TEXT,
        token_hash TEXT,
        outcome TEXT NOT NULL,
        reason TEXT,
        status SMALLINT,
        synthesized BOOLEAN,
        acknowledgement TEXT,
        response_status TEXT,
        cut_off_result TEXT,
        conforming BOOLEAN,
        total_ms REAL,
        exchange_ms REAL,
        host_ms REAL,
        trace_id TEXT,
        client_serial TEXT,
        client_spki TEXT,
        resend BOOLEAN NOT NULL DEFAULT false,
        resend_of UUID,
        cutoff_id BIGINT,
        masked TEXT
      )`,
      'CREATE INDEX ledger_messages_txn_id ON ledger_messages (txn_id)',
      'CREATE INDEX ledger_messages_arrived_at ON ledger_messages (arrived_at)',
      `CREATE TABLE ledger_cutoffs (
        cutoff_id BIGINT PRIMARY KEY,
        request_id UUID NOT NULL,
        arrived_at TIMESTAMPTZ NOT NULL,
        product_id TEXT,
        cutoff_date TEXT,
        first_txn_id BIGINT,
        last_txn_id BIGINT,
        auths_ack INTEGER,
        auths_not_ack INTEGER,
        financials_ack INTEGER,
        financials_not_ack INTEGER,
        loads_unloads_ack INTEGER,
        loads_unloads_not_ack INTEGER,
        balance_adjust_expiry_ack INTEGER,
        balance_adjust_expiry_not_ack INTEGER,
        reconciled_at TIMESTAMPTZ,
        verdict TEXT,
        detail JSONB
      )`,
      `CREATE TABLE ledger_answers (
        request_id UUID PRIMARY KEY,
        arrived_at TIMESTAMPTZ NOT NULL,
        status SMALLINT NOT NULL,
        content_type TEXT,
        soapaction TEXT,
        body BYTEA NOT NULL
      )`,
      'CREATE INDEX ledger_answers_arrived_at ON ledger_answers (arrived_at)',
    ],
  },
]

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/** The columns of ledger_messages a record fills, in insert order (seq is the store's). */
export const MESSAGE_COLUMNS = [
  'request_id',
  'arrived_at',
  'instance',
  'root',
  'format',
  'class',
  'mode',
  'txn_id',
  'mtid',
  'txn_type',
  'product_id',
  'sending_attempt',
  'authorised_by_gps',
  'txn_stat_code',
  'token_hash',
  'outcome',
  'reason',
  'status',
  'synthesized',
  'acknowledgement',
  'response_status',
  'cut_off_result',
  'conforming',
  'total_ms',
  'exchange_ms',
  'host_ms',
  'trace_id',
  'client_serial',
  'client_spki',
  'resend',
  'resend_of',
  'cutoff_id',
  'masked',
] as const
export type MessageColumn = (typeof MESSAGE_COLUMNS)[number]

export class SchemaTooNewError extends Error {
  readonly found: number
  constructor(found: number) {
    super(
      `the ledger's schema is version ${found}, newer than this ehi-gateway knows (${LATEST_VERSION}): a newer gateway wrote it. Upgrade this gateway, or point ledger.url at another database; the ledger is left untouched`,
    )
    this.found = found
  }
}

export class SchemaTooOldError extends Error {
  readonly found: number
  constructor(found: number) {
    super(
      `the ledger's schema is version ${found}, older than this ehi-gateway needs (${LATEST_VERSION}): run \`ehi-gateway ledger migrate\` (the gateway migrates at start)`,
    )
    this.found = found
  }
}
