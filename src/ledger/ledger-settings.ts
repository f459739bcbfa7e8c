/**
 * From the `ledger` config section to a store: the URL checked, the password read, the engine
 * chosen. The checks return config issues (field and message) like every other part of the
 * config, so a bad ledger setting stops a start with the field named.
 */
import type { ConfigIssue } from '../config/config-issues.ts'
import type { GatewayConfig } from '../config/config-schema.ts'
import type { FileReader } from '../runtime/config-snapshot.ts'
import { parseLedgerUrl, type LedgerTarget } from './rules/ledger-url.ts'
import { postgresStore } from './postgres-store.ts'
import { directSqliteStore, threadedSqliteStore } from './sqlite-store.ts'
import type { LedgerStore } from './store.ts'

export type LedgerConfig = GatewayConfig['ledger']

export interface LedgerSettings {
  config: LedgerConfig
  target: LedgerTarget
  password: string | undefined
}

/**
 * Checks the section and reads ledger.passwordFile through `read` (the config snapshot's reader
 * in the gateway, readFileSync in the tools). `settings` is undefined when the ledger is off or
 * when there are issues.
 */
export function ledgerSettings(
  config: LedgerConfig,
  read: FileReader,
): { settings: LedgerSettings | undefined; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = []
  if (config.url === undefined) {
    if (config.replayAcknowledged)
      issues.push({
        path: 'ledger.replayAcknowledged',
        message: 'needs ledger.url: replayed answers come from the ledger',
      })
    return { settings: undefined, issues }
  }
  const parsed = parseLedgerUrl(config.url)
  if (!parsed.ok) {
    issues.push({ path: 'ledger.url', message: parsed.message })
    return { settings: undefined, issues }
  }
  const target = parsed.target
  let password: string | undefined
  if (config.passwordFile !== undefined) {
    if (target.engine !== 'postgres')
      issues.push({ path: 'ledger.passwordFile', message: 'is for a postgres:// ledger.url only' })
    else if (target.hasPassword)
      issues.push({
        path: 'ledger.passwordFile',
        message: 'and a password in ledger.url: give it in one place',
      })
    else {
      try {
        password = read(config.passwordFile)
          .toString('utf8')
          .replace(/\r?\n$/, '')
        if (password === '')
          issues.push({ path: 'ledger.passwordFile', message: `${config.passwordFile} is empty` })
      } catch (error) {
        issues.push({
          path: 'ledger.passwordFile',
          message: `cannot read ${config.passwordFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        })
      }
    }
  }
  if (issues.length > 0) return { settings: undefined, issues }
  return { settings: { config, target, password }, issues }
}

export interface StoreOptions {
  /** The gateway: SQLite on worker threads. The tools: on the calling thread. */
  threaded: boolean
  /** Make a missing SQLite file (the gateway, `ledger migrate`); the read-only tools do not. */
  create: boolean
  /** Tests only: cap the SQLite file at this many pages (a full database). */
  maxPageCount?: number | undefined
}

export function createStore(settings: LedgerSettings, options: StoreOptions): LedgerStore {
  const { target, config } = settings
  if (target.engine === 'sqlite') {
    const sqlite = {
      path: target.path,
      busyTimeoutMs: config.writeTimeoutMs,
      maxPageCount: options.maxPageCount,
    }
    return options.threaded
      ? threadedSqliteStore(sqlite)
      : directSqliteStore({ ...sqlite, create: options.create })
  }
  return postgresStore({
    url: target.url,
    password: settings.password,
    location: target.redacted,
    connections: config.connections,
    statementTimeoutMs: config.writeTimeoutMs,
  })
}
