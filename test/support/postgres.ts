/**
 * A throwaway PostgreSQL cluster from Debian's postgresql package: initdb into a temporary folder
 * owned by the postgres user, started on a free loopback port (TCP only, no Unix socket), with
 * password (SCRAM) authentication like a real deployment. PostgreSQL refuses to run as root, so
 * as root every server command runs through `runuser -u postgres`.
 *
 * Every cluster is registered in the run's registry folder (global-setup.ts), whose teardown
 * stops whatever a crashed test file left running; a test stops its own in afterAll.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort } from './ports.ts'

export interface PgCluster {
  readonly port: number
  readonly dataDir: string
  readonly password: string
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  url(database?: string): string
  /** The same URL without the password (give the password separately). */
  urlWithoutPassword(database?: string): string
  createDatabase(name: string): Promise<string>
  query(sql: string, database?: string, values?: unknown[]): Promise<Record<string, unknown>[]>
  stopServer(): void
  startServer(): void
  /** Stops the server and removes its files. Safe to call twice. */
  destroy(): void
}

/** The newest installed server (Debian installs each major version under /usr/lib/postgresql). */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : undefined
}

const isRoot = process.getuid?.() === 0

function asPostgres(command: string, args: string[]) {
  const r = isRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { encoding: 'utf8', timeout: 60_000 })
    : spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 })
  if (r.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}${r.error ?? ''}`,
    )
  return r
}

/** Starts a cluster; `registry` is the run's folder (inject('pgRegistry')), so a crash cannot leak it. */
export async function startPostgres(registry?: string): Promise<PgCluster> {
  const bin = postgresBin()
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)')
  const root = mkdtempSync(join(tmpdir(), 'ehi-gateway-pg-'))
  const dataDir = join(root, 'data')
  const password = randomBytes(12).toString('hex')
  const pwfile = join(root, 'pw')
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 })
  if (isRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim())
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim())
    chownSync(root, uid, gid)
    chownSync(pwfile, uid, gid)
  }
  const registered = registry ? join(registry, `${process.pid}-${randomBytes(4).toString('hex')}`) : undefined
  if (registered) {
    mkdirSync(registry!, { recursive: true })
    writeFileSync(registered, JSON.stringify({ bin, root, dataDir }))
  }
  asPostgres(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth-host=scram-sha-256',
    '--auth-local=trust',
    `--pwfile=${pwfile}`,
    '-E',
    'UTF8',
    '--no-sync',
  ])
  const port = await freePort()
  // No fsync: a test cluster, thrown away at the end (a clean stop still writes everything out,
  // so a restart loses nothing). TCP on loopback only.
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories= -c fsync=off -c full_page_writes=off`
  const log = join(root, 'server.log')
  const start = () =>
    asPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-o', options, '-l', log, '-w', '-t', '30', 'start'])
  /** A clean stop (mode fast: connections are closed, committed work is kept), as a restart does. */
  const stop = (mode: 'fast' | 'immediate' = 'fast') => {
    if (existsSync(join(dataDir, 'postmaster.pid')))
      asPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', mode, '-w', '-t', '30', 'stop'])
  }
  start()
  let destroyed = false
  const destroy = () => {
    if (destroyed) return
    destroyed = true
    try {
      stop('immediate')
    } finally {
      rmSync(root, { recursive: true, force: true })
      if (registered) rmSync(registered, { force: true })
    }
  }
  // A test process that exits without its afterAll still stops its server.
  process.once('exit', destroy)

  const urlWithoutPassword = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`
  const url = (database = 'postgres') => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`
  const query = async (sql: string, database = 'postgres', values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url(database) })
    await client.connect()
    try {
      return (await client.query(sql, values)).rows as Record<string, unknown>[]
    } finally {
      await client.end()
    }
  }
  return {
    port,
    dataDir,
    password,
    url,
    urlWithoutPassword,
    async createDatabase(name) {
      await query(`CREATE DATABASE ${name}`)
      return url(name)
    },
    query,
    stopServer: () => stop('fast'),
    startServer: start,
    destroy,
  }
}

/** Global teardown: stops every cluster a test file registered and did not destroy. */
export function stopRegisteredClusters(registry: string): void {
  if (!existsSync(registry)) return
  for (const name of readdirSync(registry)) {
    try {
      const { bin, root, dataDir } = JSON.parse(readFileSync(join(registry, name), 'utf8')) as {
        bin: string
        root: string
        dataDir: string
      }
      if (existsSync(join(dataDir, 'postmaster.pid')))
        asPostgres(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'])
      rmSync(root, { recursive: true, force: true })
    } catch {
      // Best effort: the next cluster gets a new folder and port anyway.
    }
  }
  rmSync(registry, { recursive: true, force: true })
}
