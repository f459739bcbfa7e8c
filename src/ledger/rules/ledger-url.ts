/**
 * ledger.url: which engine and where. Pure. A PostgreSQL URL may carry a password: every text
 * meant for a log line, an error or a status uses `redacted`, never the URL as given.
 */
import { isAbsolute } from 'node:path'

export type LedgerTarget =
  | { engine: 'sqlite'; path: string; redacted: string }
  | { engine: 'postgres'; url: string; redacted: string; hasPassword: boolean }

export type ParsedLedgerUrl = { ok: true; target: LedgerTarget } | { ok: false; message: string }

export function parseLedgerUrl(url: string): ParsedLedgerUrl {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (path === '' || path === ':memory:')
      return {
        ok: false,
        message: 'must name a database file, for example sqlite:/var/lib/ehi-gateway/ledger.db',
      }
    if (!isAbsolute(path))
      return {
        ok: false,
        message:
          'must name the database file by an absolute path (relative paths resolve against the config file)',
      }
    if (path.endsWith('/'))
      return { ok: false, message: 'names a folder; name the database file in it, for example .../ledger.db' }
    return { ok: true, target: { engine: 'sqlite', path, redacted: `sqlite:${path}` } }
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return { ok: false, message: 'is not a valid postgres:// URL' }
    }
    if (!parsed.hostname && !parsed.searchParams.get('host'))
      return { ok: false, message: 'names no host (postgres://user@host:5432/database)' }
    const hasPassword = parsed.password !== ''
    if (hasPassword) parsed.password = '***'
    // Query parameters may carry a password too (password=, sslpassword=): keep only their names.
    for (const key of [...parsed.searchParams.keys()])
      if (/pass|secret|key/i.test(key)) parsed.searchParams.set(key, '***')
    return { ok: true, target: { engine: 'postgres', url, redacted: parsed.toString(), hasPassword } }
  }
  return { ok: false, message: 'must start with sqlite: or postgres://' }
}

/** Replaces any occurrence of the URL's secrets in a text (an error message from a driver). */
export function redactSecrets(text: string, url: string | undefined, password?: string): string {
  let out = text
  const secrets: string[] = []
  if (password) secrets.push(password)
  if (url?.startsWith('postgres')) {
    try {
      const parsed = new URL(url)
      if (parsed.password) secrets.push(decodeURIComponent(parsed.password), parsed.password)
    } catch {
      // Not a URL: nothing to take from it.
    }
  }
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join('***')
  return out
}
