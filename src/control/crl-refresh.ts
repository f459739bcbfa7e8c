/**
 * Keeps the client CAs' CRLs current by fetching them over HTTP (tls.crl.fetch). Runs once per
 * gateway, in the process that runs the control plane; workers only ever get CRLs it verified.
 *
 * Each URL is fetched with undici (timeout, size cap enforced while the body streams, DER or PEM
 * body), parsed, matched to the CA in tls.clientCa that issued it (name, then signature), and
 * swapped in only when it is newer than the CRL in force for that CA and not expired
 * (crl-schedule.ts decides). Anything else keeps the last good CRL. A swapped-in CRL is written
 * atomically to the cache folder, which is read back at the next start with the same checks.
 * The decisions (ordering, scheduling, backoff) are pure and live in crl-schedule.ts.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent, errors, interceptors, request, type Dispatcher } from 'undici'
import type { ConfigIssue } from '../config/config-issues.ts'
import type { GatewayConfig } from '../config/config-schema.ts'
import type { Logger } from '../observability/logger.ts'
import type { ControlMetrics } from '../observability/metrics.ts'
import { describeCrl, newestCrl, parseCrl, verifyCrlSignature, type CrlInfo } from '../plane/tls/crl.ts'
import {
  crlSources,
  judgeCandidate,
  planNextFetch,
  scheduleSettings,
  type CrlFetchFailure,
  type CrlFetchSuccess,
  type CrlSource,
} from './rules/crl-schedule.ts'
import { crlFetchEnabled } from '../runtime/rules/crl-fetch-settings.ts'
import { splitPem, toPem } from '../plane/tls/pem.ts'
import { issuedBy, loadClientCas, subjectLine, type CaEntry, type ExtraCrl } from '../runtime/tls-material.ts'

type TlsConfig = GatewayConfig['tls']

export interface CrlRefresherOptions {
  /** The TLS settings in force; read at initial() and at every reconfigure(). */
  tls: () => TlsConfig
  /**
   * The client CAs of the runtime in force, with the CRLs it loaded (tls.crl.files included): a
   * fetched CRL must be newer than those too. Absent before the first runtime is compiled.
   */
  inForce?: () => readonly CaEntry[] | undefined
  logger: Logger
  metrics?: Pick<ControlMetrics, 'crlFetches' | 'crlLastFetchSuccess'>
  /**
   * Called after a newer verified CRL was swapped in (never during initial()): compile a
   * runtime with current() and apply it.
   */
  onUpdate?: () => unknown
  /** Clock and jitter source, for tests. */
  now?: () => number
  random?: () => number
}

export interface CrlRefresher {
  /**
   * Loads the cache, then fetches every URL once (each fetch bounded by timeoutMs), then starts
   * the schedule. Resolves when done, whatever failed: failures are logged and counted, and the
   * compile step after it says which CA has no CRL.
   */
  initial(): Promise<void>
  /** The newest verified CRL of each CA, fetched or cached: pass to compileRuntime. */
  current(): ExtraCrl[]
  /** Fetches every URL now (and calls onUpdate when one brought a newer CRL). */
  refreshNow(): Promise<void>
  /** Reads tls() again after a reload: new URLs are fetched at once, removed ones stop. */
  reconfigure(): void
  close(): Promise<void>
}

/** One CRL held per CA and scope (nearly always one scope: a CA's single complete CRL). */
interface Held {
  fingerprint: string
  crl: CrlInfo
  der: Buffer
  /** The URL it came from (when known). */
  url: string | undefined
  /** Where it came from, for messages: the URL, or the cache file. */
  source: string
}

interface SourceState {
  source: CrlSource
  /** Subject of the CA whose CRL this URL serves; '' until known. */
  issuer: string
  /** That CA's fingerprint and the CRL's scope, once a CRL of it came from this URL. */
  served: { fingerprint: string; scope: string } | undefined
  attempt: number
  timer: NodeJS.Timeout | undefined
  running: Promise<CrlFetchSuccess | CrlFetchFailure> | undefined
}

type Download = { ok: true; body: Buffer } | { ok: false; kind: CrlFetchFailure; detail: string }

const ACCEPT = 'application/pkix-crl, application/x-pkcs7-crl, application/x-pem-file;q=0.9, */*;q=0.5'

export function startCrlRefresher(options: CrlRefresherOptions): CrlRefresher {
  const { logger } = options
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const held = new Map<string, Held>()
  const sources = new Map<string, SourceState>()
  const urlIssuers = new Map<string, string>()
  let cas: CaEntry[] = []
  let started = false
  let closed = false
  const closing = new AbortController()
  const dispatcher: Dispatcher = new Agent({ keepAliveTimeout: 1000 }).compose(
    interceptors.redirect({ maxRedirections: 3 }),
  )
  let cacheWrites: Promise<void> = Promise.resolve()

  const fetchConfig = () => options.tls().crl.fetch
  const enabled = () => crlFetchEnabled(options.tls().crl)

  /** Reads tls.clientCa; false when some CA could not be loaded (then nothing held is dropped). */
  function loadCas(): boolean {
    const issues: ConfigIssue[] = []
    cas = loadClientCas(options.tls().clientCa, new Date(now()), issues)
    // The compile step reports these with their fields; the refresher works with what loaded.
    if (issues.length)
      logger.warn(
        { event: 'crl_fetch_cas', problems: issues.map((i) => `${i.path}: ${i.message}`) },
        'CRL fetching: some client CAs could not be read',
      )
    return issues.length === 0
  }

  function syncSources(prune: boolean): void {
    const wanted = enabled()
      ? crlSources(
          fetchConfig(),
          cas.map((ca) => ({
            der: ca.cert.raw,
            issuerSubject: subjectOf(cas.find((other) => other !== ca && issuedBy(ca.cert, other.cert))),
          })),
        )
      : []
    const urls = new Set(wanted.map((s) => s.url))
    for (const [url, state] of sources) {
      if (urls.has(url)) continue
      if (state.timer) clearTimeout(state.timer)
      sources.delete(url)
    }
    for (const source of wanted) {
      if (sources.has(source.url)) continue
      const state: SourceState = {
        source,
        issuer: urlIssuers.get(source.url) ?? source.expectedIssuer ?? '',
        served: undefined,
        attempt: 0,
        timer: undefined,
        running: undefined,
      }
      sources.set(source.url, state)
      if (started) schedule(state, 0)
    }
    // A CRL of a CA that left the bundle is not needed; one whose fetching was turned off stays
    // (dropping it could make the next compile fall back to an older file CRL).
    if (!prune) return
    for (const [key, entry] of held)
      if (!cas.some((ca) => ca.cert.fingerprint256 === entry.fingerprint)) held.delete(key)
  }

  const heldKey = (fingerprint: string, scope: string) => `${fingerprint}/${scope}`

  /** The CRL in force for a CA and scope: the newest of the one held here and the runtime's. */
  function inForceCrl(fingerprint: string, scope: string): CrlInfo | undefined {
    const loaded = (
      options.inForce?.()?.find((ca) => ca.cert.fingerprint256 === fingerprint)?.crls ?? []
    ).filter((crl) => crl.scope === scope)
    const own = held.get(heldKey(fingerprint, scope))?.crl
    return newestCrl(own ? [own, ...loaded] : loaded)
  }

  // --- the cache -------------------------------------------------------------------------------

  async function loadCache(): Promise<void> {
    const dir = fetchConfig().cacheDir
    if (!dir) return
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        logger.warn(
          { event: 'crl_cache_ignored', dir, code: (error as NodeJS.ErrnoException).code },
          'CRL cache folder cannot be read',
        )
      return
    }
    for (const ca of cas) {
      const prefix = crlCacheName(ca.cert.raw).replace(/\.crl\.pem$/, '')
      for (const name of names.filter((n) => n.startsWith(prefix) && n.endsWith('.crl.pem')))
        await loadCacheFile(join(dir, name), ca)
    }
  }

  async function loadCacheFile(file: string, ca: CaEntry): Promise<void> {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (error) {
      logger.warn(
        { event: 'crl_cache_ignored', file, code: (error as NodeJS.ErrnoException).code },
        'CRL cache file cannot be read',
      )
      return
    }
    const ignore = (why: string) =>
      logger.warn(
        { event: 'crl_cache_ignored', file, ca: subjectLine(ca.cert), why },
        'CRL cache file ignored',
      )
    const block = splitPem(text).find((b) => b.label === 'X509 CRL')
    if (!block) {
      ignore('no PEM "X509 CRL" block')
      return
    }
    let crl: CrlInfo
    try {
      crl = parseCrl(block.der)
    } catch (error) {
      ignore(`cannot be parsed: ${(error as Error).message}`)
      return
    }
    if (!crl.issuerDer.equals(ca.subjectDer) || !verifyCrlSignature(crl, ca.cert.publicKey)) {
      ignore('not a CRL signed by this CA')
      return
    }
    if (crl.delta) {
      ignore('a delta CRL')
      return
    }
    const inForce = inForceCrl(ca.cert.fingerprint256, crl.scope)
    const verdict = judgeCandidate(crl, inForce, now())
    if (verdict === 'older' || verdict === 'unchanged' || verdict === 'not_yet_valid') {
      if (verdict !== 'unchanged')
        ignore(verdict === 'older' ? 'older than the CRL in force' : 'not valid yet')
      return
    }
    // An expired cached CRL is still loaded: its clients are refused either way (crl_expired
    // instead of no CRL at all), and the gateway starts and keeps fetching.
    const url = /^# fetched from (\S+)/m.exec(text)?.[1]
    if (url) urlIssuers.set(url, subjectLine(ca.cert))
    held.set(heldKey(ca.cert.fingerprint256, crl.scope), {
      fingerprint: ca.cert.fingerprint256,
      crl,
      der: block.der,
      url,
      source: `${file} (cache)`,
    })
    logger[verdict === 'expired' ? 'warn' : 'info'](
      {
        event: 'crl_cache_loaded',
        file,
        ca: subjectLine(ca.cert),
        crl: describeCrl(crl),
        nextUpdate: crl.nextUpdate?.toISOString(),
      },
      verdict === 'expired' ? 'loaded an expired CRL from the cache' : 'loaded a CRL from the cache',
    )
  }

  function writeCache(ca: CaEntry, scope: string): Promise<void> {
    const dir = fetchConfig().cacheDir
    if (!dir) return Promise.resolve()
    // One write at a time, each of what is held at that moment: the newest always lands last.
    cacheWrites = cacheWrites.then(async () => {
      const entry = held.get(heldKey(ca.cert.fingerprint256, scope))
      if (!entry) return
      const file = join(dir, crlCacheName(ca.cert.raw, scope))
      const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
      const text = [
        `# ehi-gateway CRL cache: the last good CRL of ${subjectLine(ca.cert)}`,
        ...(entry.url ? [`# fetched from ${entry.url} at ${new Date(now()).toISOString()}`] : []),
        toPem(entry.der, 'X509 CRL'),
      ].join('\n')
      try {
        await mkdir(dir, { recursive: true })
        const handle = await open(temp, 'w', 0o644)
        try {
          await handle.writeFile(text)
          await handle.sync()
        } finally {
          await handle.close()
        }
        await rename(temp, file)
      } catch (error) {
        await rm(temp, { force: true }).catch(() => undefined)
        logger.error(
          { event: 'crl_cache_write_failed', file, code: (error as NodeJS.ErrnoException).code },
          'cannot write the CRL cache: a restart without network may not start',
        )
      }
    })
    return cacheWrites
  }

  // --- fetching --------------------------------------------------------------------------------

  async function download(url: string): Promise<Download> {
    const { timeoutMs, maxBytes } = fetchConfig()
    const timeout = new AbortController()
    const timer = setTimeout(() => timeout.abort(), timeoutMs)
    const signal = AbortSignal.any([timeout.signal, closing.signal])
    try {
      const res = await request(url, {
        dispatcher,
        signal,
        method: 'GET',
        headers: { accept: ACCEPT },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
      // Destroying a body early makes it emit an AbortError: expected here, not a crash.
      res.body.on('error', () => undefined)
      if (res.statusCode < 200 || res.statusCode > 299) {
        res.body.destroy()
        return { ok: false, kind: 'http_status', detail: `HTTP ${res.statusCode}` }
      }
      const declared = Number(res.headers['content-length'])
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.body.destroy()
        return {
          ok: false,
          kind: 'too_large',
          detail: `Content-Length ${declared} is over maxBytes ${maxBytes}`,
        }
      }
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length
        if (size > maxBytes) {
          // Leaving the loop destroys the body: the rest is never read.
          res.body.destroy()
          return { ok: false, kind: 'too_large', detail: `the body is over maxBytes ${maxBytes}` }
        }
        chunks.push(chunk)
      }
      return { ok: true, body: Buffer.concat(chunks) }
    } catch (error) {
      if (timeout.signal.aborted || isTimeout(error))
        return { ok: false, kind: 'timeout', detail: `no complete answer within ${timeoutMs} ms` }
      const code = (error as NodeJS.ErrnoException).code
      return { ok: false, kind: 'network', detail: code ?? (error as Error).message }
    } finally {
      clearTimeout(timer)
    }
  }

  /** Verifies a fetched body and swaps it in when it may replace the CRL in force. */
  async function consider(
    state: SourceState,
    body: Buffer,
  ): Promise<{ kind: CrlFetchSuccess | CrlFetchFailure; detail: string; ca?: CaEntry }> {
    const der = crlDer(body)
    if (!der) return { kind: 'unparsable', detail: 'neither a DER CRL nor one PEM "X509 CRL" block' }
    let crl: CrlInfo
    try {
      crl = parseCrl(der)
    } catch (error) {
      return { kind: 'unparsable', detail: `not a CRL: ${(error as Error).message}` }
    }
    const named = cas.filter((ca) => ca.subjectDer.equals(crl.issuerDer))
    if (named.length === 0) return { kind: 'unknown_issuer', detail: 'issued by no CA in tls.clientCa' }
    state.issuer = subjectLine(named[0]!.cert)
    const ca = named.find((candidate) => verifyCrlSignature(crl, candidate.cert.publicKey))
    if (!ca)
      return { kind: 'bad_signature', detail: `not signed by the key of ${state.issuer}`, ca: named[0]! }
    state.issuer = subjectLine(ca.cert)
    state.served = { fingerprint: ca.cert.fingerprint256, scope: crl.scope }
    urlIssuers.set(state.source.url, state.issuer)
    if (crl.delta) return { kind: 'unsupported', detail: 'a delta CRL (only complete CRLs are used)', ca }
    const inForce = inForceCrl(ca.cert.fingerprint256, crl.scope)
    const verdict = judgeCandidate(crl, inForce, now())
    const detail =
      verdict === 'updated' || verdict === 'unchanged' || verdict === 'older'
        ? `${describeCrl(crl)}${inForce ? `; in force: ${describeCrl(inForce)}` : ''}`
        : verdict === 'expired'
          ? `nextUpdate ${crl.nextUpdate?.toISOString()} has passed`
          : `thisUpdate ${crl.thisUpdate.toISOString()} is in the future`
    if (verdict === 'updated') {
      held.set(heldKey(ca.cert.fingerprint256, crl.scope), {
        fingerprint: ca.cert.fingerprint256,
        crl,
        der,
        url: state.source.url,
        source: state.source.url,
      })
      await writeCache(ca, crl.scope)
    }
    return { kind: verdict, detail, ca }
  }

  async function fetchOne(state: SourceState): Promise<CrlFetchSuccess | CrlFetchFailure> {
    const { url } = state.source
    const downloaded = await download(url)
    if (closed) return 'network'
    const outcome = downloaded.ok
      ? await consider(state, downloaded.body)
      : { kind: downloaded.kind, detail: downloaded.detail, ca: undefined }
    const success = outcome.kind === 'updated' || outcome.kind === 'unchanged'
    options.metrics?.crlFetches.inc({
      url,
      issuer: state.issuer,
      result: success ? 'success' : 'failure',
      kind: outcome.kind,
    })
    if (success) options.metrics?.crlLastFetchSuccess.set({ url, issuer: state.issuer }, now() / 1000)
    const fields = { url, issuer: state.issuer || undefined, kind: outcome.kind, detail: outcome.detail }
    if (outcome.kind === 'updated') logger.info({ event: 'crl_updated', ...fields }, 'fetched a newer CRL')
    else if (success) logger.debug({ event: 'crl_fetched', ...fields }, 'fetched the CRL in force again')
    else logger.warn({ event: 'crl_fetch_failed', ...fields }, 'CRL fetch failed: keeping the last good CRL')
    return outcome.kind
  }

  function schedule(state: SourceState, delayMs: number): void {
    if (closed) return
    if (state.timer) clearTimeout(state.timer)
    state.timer = setTimeout(() => {
      state.timer = undefined
      void run(state).then((kind) => {
        if (kind === 'updated' && started) void Promise.resolve(options.onUpdate?.()).catch(() => undefined)
      })
    }, delayMs)
    state.timer.unref()
  }

  /** One fetch of a URL, then its next one planned. */
  function run(state: SourceState): Promise<CrlFetchSuccess | CrlFetchFailure> {
    if (state.running) return state.running
    const attempt = fetchOne(state).catch((error: unknown) => {
      // Not expected (every step reports its own failure), but the schedule must go on.
      logger.error(
        { event: 'crl_fetch_error', url: state.source.url, error: (error as Error).message },
        'CRL fetch failed unexpectedly',
      )
      return 'network' as const
    })
    state.running = attempt.then((kind) => {
      state.running = undefined
      if (!closed && sources.get(state.source.url) === state) {
        const succeeded = kind === 'updated' || kind === 'unchanged'
        const next = planNextFetch({
          outcome: succeeded ? 'succeeded' : 'failed',
          attempt: state.attempt,
          now: now(),
          nextUpdate: state.served
            ? inForceCrl(state.served.fingerprint, state.served.scope)?.nextUpdate?.getTime()
            : undefined,
          settings: scheduleSettings(fetchConfig()),
          random: random(),
        })
        state.attempt = next.attempt
        schedule(state, next.delayMs)
        if (!succeeded)
          logger.debug(
            { event: 'crl_fetch_retry', url: state.source.url, inSeconds: Math.round(next.delayMs / 1000) },
            'next CRL fetch attempt planned',
          )
      }
      return kind
    })
    return state.running
  }

  async function fetchAll(): Promise<boolean> {
    const states = [...sources.values()]
    for (const state of states) if (state.timer) clearTimeout(state.timer)
    const kinds = await Promise.all(states.map((state) => run(state)))
    return kinds.includes('updated')
  }

  return {
    async initial() {
      if (started || closed) return
      const complete = loadCas()
      // The cache first: it also tells which CA each cached URL serves (the metric's issuer).
      if (enabled()) await loadCache()
      syncSources(complete)
      if (enabled()) await fetchAll()
      started = true
    },
    current() {
      return [...held.values()].map((entry) => ({ pem: toPem(entry.der, 'X509 CRL'), source: entry.source }))
    },
    async refreshNow() {
      if (closed) return
      if (await fetchAll()) await options.onUpdate?.()
    },
    reconfigure() {
      if (closed) return
      syncSources(loadCas())
    },
    async close() {
      closed = true
      closing.abort()
      for (const state of sources.values()) if (state.timer) clearTimeout(state.timer)
      await Promise.allSettled([...sources.values()].map((state) => state.running))
      await cacheWrites
      await dispatcher.destroy()
    },
  }
}

/** The DER of a response body: DER as is, or exactly one PEM "X509 CRL" block. */
export function crlDer(body: Buffer): Buffer | undefined {
  const head = body.subarray(0, 64).toString('latin1').trimStart()
  if (head.startsWith('-----BEGIN')) {
    const blocks = splitPem(body.toString('latin1')).filter((b) => b.label === 'X509 CRL')
    return blocks.length === 1 ? blocks[0]!.der : undefined
  }
  // A DER CertificateList is a SEQUENCE.
  return body[0] === 0x30 ? body : undefined
}

function isTimeout(error: unknown): boolean {
  return (
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError ||
    error instanceof errors.ConnectTimeoutError ||
    (error as Error | undefined)?.name === 'TimeoutError'
  )
}

function subjectOf(ca: CaEntry | undefined): string | undefined {
  return ca ? subjectLine(ca.cert) : undefined
}

/**
 * The cache file of a CA's CRL: the CA certificate's SHA-256 in hex (as `openssl x509
 * -fingerprint -sha256` shows it, without colons), plus a hash of the scope for a partitioned
 * CA's CRLs.
 */
export function crlCacheName(caDer: Buffer, scope = ''): string {
  const ca = createHash('sha256').update(caDer).digest('hex')
  const part = scope ? `.${createHash('sha256').update(scope).digest('hex').slice(0, 16)}` : ''
  return `${ca}${part}.crl.pem`
}
