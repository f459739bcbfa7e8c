/**
 * OCSP test kit: a real responder (`openssl ocsp -port 0`, started by the test and stopped by
 * it), openssl's responder run offline on a request file (for tables of responses without a
 * socket), the index file both read, and the failing responders a test needs (nothing listening,
 * a server that accepts and never answers, a server that replays fixed bytes).
 *
 * `openssl ocsp` as a server answers one request at a time, closes each connection after its
 * answer, re-reads its index when the file changes, and with `-port 0` binds a free port and
 * prints it (`ACCEPT [::]:PORT PID=...`), so no port is guessed and nothing races for it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import type { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface IndexEntry {
  cert: X509Certificate
  status: 'good' | 'revoked'
  /** For revoked entries. */
  revokedAt?: Date
  /** CRLReason name as openssl writes it (keyCompromise, certificateHold, ...). */
  reason?: string
}

/** An openssl CA index (`index.txt`): V = valid, R = revoked; serials it lacks answer unknown. */
export function writeOcspIndex(file: string, entries: readonly IndexEntry[]): string {
  const lines = entries.map(({ cert, status, revokedAt, reason }) => {
    const expiry = opensslTime(cert.validToDate)
    const revoked = status === 'revoked' ? opensslTime(revokedAt ?? new Date(Date.now() - 3_600_000)) : ''
    const revokedField = revoked && reason ? `${revoked},${reason}` : revoked
    return [
      status === 'good' ? 'V' : 'R',
      expiry,
      revokedField,
      cert.serialNumber,
      'unknown',
      '/CN=test',
    ].join('\t')
  })
  // A running responder re-reads the index when its inode or its mtime (in whole seconds)
  // changes: a new file renamed over the old one is seen even within the same second.
  writeFileSync(`${file}.new`, lines.map((l) => `${l}\n`).join(''))
  renameSync(`${file}.new`, file)
  // Test leaves share a subject; openssl refuses duplicate subjects unless told otherwise.
  writeFileSync(`${file}.attr`, 'unique_subject = no\n')
  return file
}

export interface SignerFiles {
  /** The CA whose certificates the index lists (PEM file). */
  ca: string
  /** The certificate and key that sign answers: the CA itself or a delegated responder. */
  rsigner: string
  rkey: string
}

/** openssl's responder, offline: answers the DER request in `request` from `index`. */
export function respondOffline(
  index: string,
  signer: SignerFiles,
  request: Buffer,
  extra: string[] = [],
): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'ehi-ocsp-offline-'))
  const reqFile = join(dir, 'request.der')
  const respFile = join(dir, 'response.der')
  try {
    writeFileSync(reqFile, request)
    const run = spawnSync(
      'openssl',
      ['ocsp', '-index', index, '-CA', signer.ca, '-rsigner', signer.rsigner, '-rkey', signer.rkey].concat([
        '-reqin',
        reqFile,
        '-respout',
        respFile,
        ...extra,
      ]),
      { encoding: 'utf8', timeout: 10_000 },
    )
    if (run.status !== 0) throw new Error(`openssl ocsp failed: ${run.stderr}`)
    return readFileSync(respFile)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface RunningServer {
  url: string
  stop(): Promise<void>
}

export interface ResponderOptions extends SignerFiles {
  index: string
  /** Extra arguments: `-nmin 1`, `-badsig`, `-resp_key_id`, `-resp_no_certs`, `-rmd sha1` ... */
  args?: string[]
}

/** A real `openssl ocsp` responder on a free port; resolves once it accepts connections. */
export async function startOcspResponder(options: ResponderOptions): Promise<RunningServer> {
  const child = spawn(
    'openssl',
    [
      'ocsp',
      '-index',
      options.index,
      '-CA',
      options.ca,
      '-rsigner',
      options.rsigner,
      '-rkey',
      options.rkey,
      '-port',
      '0',
      // Keep serving after a client that hangs up mid-request (our timeouts do).
      '-ignore_err',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text))
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text))
  const stop = () => stopChild(child)
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`openssl ocsp did not start: ${stderr}`)), 10_000)
      const check = () => {
        const match = /ACCEPT \S*:(\d+)/.exec(stdout)
        if (match) {
          clearTimeout(timer)
          resolve(Number(match[1]))
        }
      }
      child.stdout!.on('data', check)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`openssl ocsp exited (${code}): ${stderr}`))
      })
    })
    return { url: `http://127.0.0.1:${port}/`, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
  await exited
  clearTimeout(timer)
}

/** A loopback port with nothing listening on it: connections are refused. */
export async function refusedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}/`
}

/** A responder that accepts connections and never answers (a hung responder). */
export async function startStallingServer(): Promise<RunningServer & { connections(): number }> {
  const sockets = new Set<Socket>()
  let connections = 0
  const server: Server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/`,
    connections: () => connections,
    stop: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** An HTTP responder that answers every POST with `body()` (replayed or crafted bytes). */
export async function startReplayServer(
  body: () => Buffer,
  status = 200,
): Promise<RunningServer & { requests(): number }> {
  let requests = 0
  const server: HttpServer = createHttpServer((req, res) => {
    requests++
    req.resume()
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/ocsp-response' })
      res.end(body())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/`,
    requests: () => requests,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function opensslTime(date: Date): string {
  // YYMMDDHHMMSSZ, as openssl ca writes index dates.
  return `${date.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`
}
