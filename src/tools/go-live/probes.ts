/**
 * The probes of `ehi-gateway check`: the I/O edge. Each one connects the way Thredd (or a TLS
 * scanner) would and records what it saw, without judging it; evaluate-checks.ts judges.
 * Every connection is new and bounded by a timeout.
 */
import { spawn } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { accessSync, constants as fsConstants } from 'node:fs'
import { request } from 'node:https'
import { connect as netConnect } from 'node:net'
import { delimiter, join } from 'node:path'
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate } from 'node:tls'
import { formatNameDer } from '../pki/rules/x509-name.ts'
import type { HandshakeAttempt, HttpAttempt, ProbeResults, ServerView, TlsVersion } from './rules/checks.ts'
import { TLS12_PROBE_SUITES, TLS13_PROBE_SUITES } from './rules/cipher-suites.ts'
import { parseSClientOutput } from './rules/openssl-output.ts'
import { hostPort, type Target } from './target.ts'
import { buildClientHello, parseServerFlight, type AuthKind } from './tls12-handshake.ts'

/** What reading the server's handshake needs. */
export interface ViewOptions {
  target: Target
  /** PEM trust anchors for the server chain (--ca); undefined = the system roots. */
  ca: string | undefined
  timeoutMs: number
  /** Path of the openssl binary, or undefined when there is none. */
  openssl: string | undefined
}

export interface ProbeOptions extends ViewOptions {
  /** PEM client certificate (chain) and key (--cert, --key). */
  client: { cert: string; key: string } | undefined
  sample: { body: string; format: 'xml' | 'json' }
  /** Parallel handshakes while probing suites. */
  concurrency: number
}

/** Errors that mean this client could not offer what was asked, not that the server refused. */
const LOCAL_ERRORS = new Set([
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_NO_CIPHER_MATCH',
  'ERR_SSL_NO_CIPHERS_AVAILABLE',
  'ERR_TLS_INVALID_PROTOCOL_VERSION',
])

/** Errors that mean the server cannot be reached at all. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ETIMEDOUT',
])

export async function runProbes(options: ProbeOptions): Promise<ProbeResults> {
  const { target } = options
  const base: ProbeResults = {
    url: target.url,
    unreachable: undefined,
    protocols: [],
    tls12Suites: [],
    tls13Suites: [],
    views: [],
    viewNotes: [],
    verification: undefined,
    opensslAvailable: options.openssl !== undefined,
    noClientCert: { ok: false, code: 'NOT_RUN', message: 'not run' },
    withClientCert: undefined,
    sampleFormat: options.sample.format,
  }

  const first = await verifyConnection(options)
  if (!first.ok && UNREACHABLE.has(first.code))
    return { ...base, unreachable: `${first.code}: ${first.message}` }
  // Closed before any TLS byte even for a default hello: a source allowlist, not a TLS policy.
  if (!first.ok && first.code === 'ECONNRESET')
    return {
      ...base,
      unreachable: `ECONNRESET: the connection is closed before TLS (is this address allowlisted?)`,
    }
  if (first.ok) base.verification = { authorized: first.authorized, error: first.error }

  const versions: TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']
  base.protocols = await Promise.all(
    versions.map(async (version) => ({
      version,
      result: await handshake(options, {
        minVersion: version,
        maxVersion: version,
        // OpenSSL 3 refuses to offer TLS 1.0/1.1 at its default security level.
        ...(version === 'TLSv1' || version === 'TLSv1.1' ? { ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
      }),
    })),
  )
  base.tls12Suites = await mapLimited(TLS12_PROBE_SUITES, options.concurrency, async (suite) => ({
    suite,
    result: await handshake(options, {
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: `${suite}@SECLEVEL=0`,
    }),
  }))
  base.tls13Suites = await mapLimited(TLS13_PROBE_SUITES, options.concurrency, async (suite) => ({
    suite,
    // The TLS 1.2 part only carries @SECLEVEL=0, so that CCM_8 may be offered at all.
    result: await handshake(options, {
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ciphers: `${suite}:DEFAULT@SECLEVEL=0`,
    }),
  }))

  const tls13Only = !base.protocols.some((p) => p.version === 'TLSv1.2' && p.result.ok)
  const views = await readServerViews(options, tls13Only)
  base.views = views.views
  base.viewNotes = views.notes

  base.noClientCert = await postSample(options, undefined)
  base.withClientCert = options.client ? await postSample(options, options.client) : undefined
  return base
}

type VerifyResult =
  | { ok: true; authorized: boolean; error: string | undefined; peer: PeerCertificate }
  | { ok: false; code: string; message: string }

/** A default handshake, verified by OpenSSL against the same anchors (hostname checked apart). */
function verifyConnection(options: ViewOptions): Promise<VerifyResult> {
  return new Promise((resolve) => {
    let socket: ReturnType<typeof tlsConnect>
    try {
      socket = tlsConnect({
        ...connectionBase(options),
        ...(options.ca ? { ca: options.ca } : {}),
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
      })
    } catch (error) {
      resolve({ ok: false, code: codeOf(error), message: (error as Error).message })
      return
    }
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
      options.timeoutMs,
    )
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      const error = socket.authorizationError
      resolve({
        ok: true,
        authorized: socket.authorized,
        error: error ? String((error as unknown as { code?: string }).code ?? error) : undefined,
        peer: socket.getPeerCertificate(true),
      })
      socket.destroy()
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      resolve({ ok: false, code: codeOf(error), message: firstLine(error) })
    })
  })
}

function connectionBase(options: ViewOptions): ConnectionOptions {
  return {
    host: options.target.host,
    port: options.target.port,
    ...(options.target.servername ? { servername: options.target.servername } : {}),
  }
}

/** One handshake with the given versions and suites; presents the client certificate when given. */
function handshake(options: ProbeOptions, tls: Partial<ConnectionOptions>): Promise<HandshakeAttempt> {
  return new Promise((resolve) => {
    let socket: ReturnType<typeof tlsConnect>
    try {
      socket = tlsConnect({
        ...connectionBase(options),
        ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
        ...tls,
      })
    } catch (error) {
      const code = codeOf(error)
      resolve({ ok: false, local: true, code, message: firstLine(error) })
      return
    }
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
      options.timeoutMs,
    )
    socket.once('secureConnect', () => {
      clearTimeout(timer)
      resolve({
        ok: true,
        protocol: socket.getProtocol() ?? 'unknown',
        cipher: socket.getCipher()?.name ?? 'unknown',
      })
      socket.destroy()
    })
    socket.once('error', (error) => {
      clearTimeout(timer)
      const code = codeOf(error)
      resolve({ ok: false, local: LOCAL_ERRORS.has(code), code, message: firstLine(error) })
    })
  })
}

/** The chain as sent and the CertificateRequest: TLS 1.2 reader, else openssl, else node:tls. */
export async function readServerViews(
  options: ViewOptions,
  tls13Only: boolean,
): Promise<{ views: ServerView[]; notes: string[] }> {
  const notes: string[] = []
  const views: ServerView[] = []
  if (!tls13Only) {
    for (const auth of ['ecdsa', 'rsa'] as const) {
      const flight = await readTls12Flight(options, auth)
      if ('view' in flight) {
        const leaf = flight.view.certificates[0]
        if (leaf && !views.some((v) => v.certificates[0]?.equals(leaf))) views.push(flight.view)
      } else if (flight.note)
        notes.push(`${auth === 'ecdsa' ? 'ECDSA' : 'RSA'} certificate (TLS 1.2): ${flight.note}`)
    }
    if (views.length > 0) return { views, notes: [] }
  }
  if (options.openssl) {
    const view = await readWithOpenssl(options)
    if ('view' in view) return { views: [view.view], notes: [] }
    notes.push(`openssl s_client: ${view.note}`)
  } else {
    notes.push(
      'openssl is not installed: the TLS 1.3 CertificateRequest (client CA names) cannot be read; install openssl or enable TLS 1.2',
    )
  }
  const fallback = await verifyConnection(options)
  if (fallback.ok && fallback.peer.raw) {
    notes.push('chain read through node:tls: the order as sent is not known')
    views.push({
      source: 'node',
      auth: undefined,
      certificates: peerChain(fallback.peer),
      certificateRequested: undefined,
      caNames: [],
      caNamesDer: undefined,
    })
  }
  return { views, notes }
}

function peerChain(peer: PeerCertificate): Buffer[] {
  const out: Buffer[] = []
  let current: PeerCertificate | undefined = peer
  const seen = new Set<string>()
  while (current?.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256)
    const cert = new X509Certificate(current.raw)
    // node:tls appends the root from its own store; keep only what a server would send.
    if (out.length > 0 && cert.checkIssued(cert)) break
    out.push(current.raw)
    current = (current as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate
  }
  return out
}

function readTls12Flight(
  options: ViewOptions,
  auth: AuthKind,
): Promise<{ view: ServerView } | { note: string }> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: options.target.host, port: options.target.port })
    let received = Buffer.alloc(0)
    let settled = false
    const finish = (value: { view: ServerView } | { note: string }) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(value)
    }
    const timer = setTimeout(
      () => finish({ note: 'timed out waiting for the server hello' }),
      options.timeoutMs,
    )
    socket.once('connect', () =>
      socket.write(
        buildClientHello({
          auth,
          ...(options.target.servername ? { servername: options.target.servername } : {}),
        }),
      ),
    )
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const parsed = parseServerFlight(received)
      if (parsed.state === 'incomplete') return
      if (parsed.state === 'alert') finish({ note: `refused with alert ${parsed.name}` })
      else if (parsed.state === 'error') finish({ note: parsed.message })
      else {
        const request = parsed.flight.certificateRequest
        finish({
          view: {
            source: 'tls1.2',
            auth,
            certificates: parsed.flight.certificates,
            certificateRequested: request !== undefined,
            caNames: (request?.caNames ?? []).map(safeName),
            caNamesDer: request?.caNames ?? [],
          },
        })
      }
    })
    socket.once('error', (error) => finish({ note: `${codeOf(error)}: ${firstLine(error)}` }))
    socket.once('close', () => finish({ note: 'the server closed the connection' }))
  })
}

function safeName(der: Buffer): string {
  try {
    return formatNameDer(der)
  } catch {
    return `(undecodable name, ${der.length} bytes)`
  }
}

async function readWithOpenssl(options: ViewOptions): Promise<{ view: ServerView } | { note: string }> {
  const args = ['s_client', '-connect', hostPort(options.target), '-tls1_3', '-showcerts', '-msg']
  if (options.target.servername) args.push('-servername', options.target.servername)
  const run = await runProcess(options.openssl!, args, options.timeoutMs * 2)
  const parsed = parseSClientOutput(run.output)
  if (parsed.certificates.length === 0) {
    return { note: `no certificate in the output (exit ${run.code ?? 'killed'})` }
  }
  return {
    view: {
      source: 'openssl',
      auth: undefined,
      certificates: parsed.certificates,
      certificateRequested: parsed.certificateRequested,
      caNames: parsed.caNames,
      caNamesDer: undefined,
    },
  }
}

function postSample(
  options: ProbeOptions,
  client: { cert: string; key: string } | undefined,
): Promise<HttpAttempt> {
  const body = Buffer.from(options.sample.body, 'utf8')
  const headers: Record<string, string | number> =
    options.sample.format === 'json'
      ? { 'content-type': 'application/json; charset=utf-8' }
      : {
          'content-type': 'application/xml; charset=utf-8',
          soapaction: '"http://tempuri.org/IEndpointVersion52/GetTransaction"',
        }
  headers['content-length'] = body.length
  return new Promise((resolve) => {
    const req = request(
      {
        ...connectionBase(options),
        path: options.target.path,
        method: 'POST',
        headers,
        agent: false,
        rejectUnauthorized: false,
        ...(options.ca ? { ca: options.ca } : {}),
        ...(client ? { cert: client.cert, key: client.key } : {}),
        timeout: options.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size <= 1_048_576) chunks.push(chunk)
        })
        res.on('end', () =>
          resolve({
            ok: true,
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
        res.on('error', (error) => resolve({ ok: false, code: codeOf(error), message: firstLine(error) }))
      },
    )
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })))
    req.on('error', (error) => resolve({ ok: false, code: codeOf(error), message: firstLine(error) }))
    req.end(body)
  })
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      out[index] = await fn(items[index]!)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  return out
}

function runProcess(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')))
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      resolve({ code: null, output: `${output}\n${error.message}` })
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
    child.stdin.end('')
  })
}

/** The first executable `name` on PATH, or undefined. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const file = join(dir, name)
    try {
      accessSync(file, fsConstants.X_OK)
      return file
    } catch {
      // not in this folder
    }
  }
  return undefined
}

function codeOf(error: unknown): string {
  return String((error as { code?: string }).code ?? 'ERROR')
}

function firstLine(error: unknown): string {
  const message = (error as Error).message ?? String(error)
  // OpenSSL messages carry a file path after the reason; the reason is what matters.
  const reason = /:([^:]+):(?:\.\.\/)?deps\//.exec(message)?.[1]
  return (reason ?? message.split('\n')[0] ?? '').trim()
}
