/**
 * OCSP for client certificates: a per-worker cache of verified answers that keeps itself
 * current, so the connection path reads a status synchronously and never waits on the
 * responder, except once, boundedly, on the first sight of a certificate.
 *
 * How the integrator uses it (see docs/ocsp.md for the operator's view):
 *
 *   const ocsp = config.tls.ocsp.enabled ? createOcspChecker(config.tls.ocsp, { logger, metrics }) : undefined
 *
 *   // After the handshake, once the chain, validity, CRL and policy checks passed; `issuer` is
 *   // the trust store's CA that issued the leaf (buildChain(...)[0].cert):
 *   let verdict = ocsp.status(leaf, issuer, Date.now())       // sync, from the cache
 *   if (verdict.state === 'pending')                           // first sight only
 *     verdict = await ocsp.wait(leaf, issuer, Math.min(firstSightTimeoutMs, msLeftInBudget))
 *   const decision = ocsp.decide(verdict)                      // policy; counts soft admissions
 *   if (!decision.allow) refuse(decision.reason, decision.detail)   // 'revoked' | 'ocsp_unavailable'
 *   else if (decision.warn) log it with the request
 *
 *   // Per-request re-check on a kept-alive connection: status() + decide(), no wait.
 *   // On shutdown, or when a reload replaces the checker: await ocsp.close()
 *
 * - status(leaf, issuer, now): the verdict from the cache (good, revoked, unavailable, pending).
 *   Never waits. On first sight it starts the query; when the cached answer is due for refresh
 *   and no timer did it yet, it starts the refresh and still answers from the cached answer.
 * - wait(leaf, issuer, timeoutMs): status(), and if pending, waits at most timeoutMs for the
 *   first query. The query goes on after the wait gives up (up to requestTimeoutMs), so the
 *   next connection finds the answer.
 * - decide(verdict): ocspDecision under the configured policy, counting soft admissions.
 * - close(): stops the timers, aborts queries on their way; the checker answers `unavailable`
 *   afterwards.
 *
 * The cache is keyed by the SHA-256 fingerprints of the certificate and of the issuer it was
 * verified against, never by serial: two CAs may issue the same serial. It holds the last
 * verified answer until it expires (nextUpdate, or thisUpdate + maxAgeSeconds), queries again
 * refreshMarginSeconds before that (or at half-life), single-flight per certificate, and after a
 * failure retries with jittered exponential backoff while keeping the still-valid answer. A final
 * revocation (any reason but certificateHold) is kept and never queried again. The cache is
 * bounded (maxCachedCertificates, least recently seen dropped first); entries whose
 * certificate expired are dropped at their next refresh.
 */
import { randomBytes, type X509Certificate } from 'node:crypto'
import type { GatewayConfig } from '../../config/config-schema.ts'
import {
  buildOcspRequest,
  readOcspResponse,
  responderUrlsOf,
  type OcspAnswer,
  type OcspError,
  type OcspReadResult,
} from '../identity/ocsp/ocsp-message.ts'
import {
  isFinal,
  ocspDecision,
  ocspVerdict,
  refreshAt,
  retryDelay,
  type OcspDecision,
  type OcspVerdict,
} from '../identity/ocsp/ocsp-policy.ts'
import type { Logger } from '../../observability/logger.ts'
import type { Metrics } from '../../observability/metrics.ts'
import { createOcspAgent, postOcspRequest } from './ocsp-client.ts'

export type OcspConfig = GatewayConfig['tls']['ocsp']

export interface OcspCheckerDeps {
  logger: Logger
  metrics: Metrics
  /** Wall clock in Unix ms (tests move it). */
  now?: () => number
  /** In [0, 1), for retry jitter. */
  random?: () => number
}

export interface OcspChecker {
  status(leaf: X509Certificate, issuer: X509Certificate, now?: number): OcspVerdict
  wait(leaf: X509Certificate, issuer: X509Certificate, timeoutMs?: number): Promise<OcspVerdict>
  decide(verdict: OcspVerdict): OcspDecision
  close(): Promise<void>
}

interface Entry {
  key: string
  leaf: X509Certificate
  issuer: X509Certificate
  /** The issuing CA's subject on one line (metric label, logs). */
  issuerName: string
  url: string | undefined
  answer: OcspAnswer | undefined
  lastError: { error: OcspError; detail: string } | undefined
  inFlight: Promise<void> | undefined
  timer: NodeJS.Timeout | undefined
  /** Consecutive failed queries (backoff). */
  failures: number
  /** Consecutive successful queries that brought nothing newer to wait for (backoff too). */
  stalls: number
  /** No query before this (Unix ms), after a failure. */
  retryAt: number
  /** Query again from this time on (Unix ms). */
  dueAt: number
}

/** setTimeout fires at once for delays past 2^31-1 ms; longer waits are re-armed. */
const MAX_TIMER_MS = 2_147_483_647

export function createOcspChecker(config: OcspConfig, deps: OcspCheckerDeps): OcspChecker {
  const { logger, metrics } = deps
  const now = deps.now ?? Date.now
  const random = deps.random ?? Math.random
  const skewMs = config.clockSkewSeconds * 1000
  const cache = new Map<string, Entry>()
  const issuerKeys = new WeakMap<X509Certificate, string>()
  const closing = new AbortController()
  const agent = createOcspAgent(config.requestTimeoutMs)
  let closed = false
  // This checker owns the OCSP gauges from now on (a reload replaces the previous one).
  metrics.ocspCachedAnswers.reset()
  metrics.ocspNextUpdate.reset()

  function keyOf(leaf: X509Certificate, issuer: X509Certificate): string {
    let issuerKey = issuerKeys.get(issuer)
    if (!issuerKey) {
      issuerKey = issuer.fingerprint256
      issuerKeys.set(issuer, issuerKey)
    }
    return `${leaf.fingerprint256}/${issuerKey}`
  }

  function entryFor(leaf: X509Certificate, issuer: X509Certificate): Entry {
    const key = keyOf(leaf, issuer)
    let entry = cache.get(key)
    if (entry) {
      // Least recently seen goes first: move this one to the end.
      cache.delete(key)
      cache.set(key, entry)
      return entry
    }
    const url = config.responderUrl ?? safeResponderUrls(leaf)[0]
    entry = {
      key,
      leaf,
      issuer,
      issuerName: oneLine(issuer.subject),
      url,
      answer: undefined,
      lastError: undefined,
      inFlight: undefined,
      timer: undefined,
      failures: 0,
      stalls: 0,
      retryAt: 0,
      dueAt: 0,
    }
    if (!url) {
      entry.lastError = {
        error: 'no_responder',
        detail:
          'the certificate names no OCSP responder (authorityInfoAccess) and tls.ocsp.responderUrl is not set',
      }
      metrics.ocspQueries.inc({ result: 'no_responder' })
      logger.warn({ event: 'ocsp_no_responder', client: describe(leaf) }, entry.lastError.detail)
    }
    cache.set(key, entry)
    while (cache.size > config.maxCachedCertificates) {
      const oldest = cache.values().next().value!
      drop(oldest)
    }
    return entry
  }

  function drop(entry: Entry): void {
    clearTimeout(entry.timer)
    if (cache.get(entry.key) === entry) cache.delete(entry.key)
    updateGauges()
  }

  function isCurrent(entry: Entry): boolean {
    return !closed && cache.get(entry.key) === entry
  }

  function verdictOf(entry: Entry, at: number): OcspVerdict {
    if (closed) return { state: 'unavailable', detail: 'the OCSP checker is closed' }
    return ocspVerdict(
      { answer: entry.answer, lastError: entry.lastError, inFlight: entry.inFlight !== undefined },
      at,
      skewMs,
    )
  }

  /** Starts a query when the entry has none on its way and is due (and not backing off). */
  function maybeQuery(entry: Entry, at: number): void {
    if (closed || entry.inFlight || !entry.url) return
    if (entry.answer && isFinal(entry.answer)) return
    if (at < entry.dueAt || at < entry.retryAt) return
    query(entry)
  }

  function query(entry: Entry): void {
    clearTimeout(entry.timer)
    entry.timer = undefined
    entry.inFlight = runQuery(entry).finally(() => {
      entry.inFlight = undefined
    })
  }

  async function runQuery(entry: Entry): Promise<void> {
    const started = performance.now()
    const nonce = config.nonce ? randomBytes(16) : undefined
    let result: OcspReadResult
    try {
      const request = buildOcspRequest(entry.leaf, entry.issuer, nonce)
      const http = await postOcspRequest(entry.url!, request.der, {
        timeoutMs: config.requestTimeoutMs,
        maxBytes: config.maxResponseBytes,
        dispatcher: agent,
        signal: closing.signal,
      })
      if (closed) return
      result = http.ok
        ? readOcspResponse(http.body, {
            leaf: entry.leaf,
            issuer: entry.issuer,
            nonce: request.nonce,
            now: now(),
            clockSkewMs: skewMs,
            maxAgeMs: config.maxAgeSeconds * 1000,
          })
        : http
    } catch (error) {
      // Fail closed: a bug here is a failed query, never an answer.
      result = { ok: false, error: 'malformed', detail: `the query failed: ${(error as Error).message}` }
    }
    if (closed) return
    if (result.ok && entry.answer && result.answer.thisUpdate < entry.answer.thisUpdate) {
      result = {
        ok: false,
        error: 'older',
        detail: `the answer (thisUpdate ${iso(result.answer.thisUpdate)}) is older than the cached one`,
      }
    }
    metrics.ocspQueries.inc({ result: result.ok ? result.answer.status : result.error })
    metrics.ocspQueryDuration.observe((performance.now() - started) / 1000)
    if (result.ok) stored(entry, result.answer)
    else failed(entry, result.error, result.detail)
  }

  function stored(entry: Entry, answer: OcspAnswer): void {
    const previous = entry.answer
    entry.answer = answer
    entry.lastError = undefined
    entry.failures = 0
    entry.retryAt = 0
    if (!previous || previous.status !== answer.status) {
      const line = {
        event: 'ocsp_status',
        status: answer.status,
        client: describe(entry.leaf),
        nextUpdate: answer.nextUpdate === undefined ? undefined : iso(answer.nextUpdate),
        signer: answer.signer,
      }
      if (answer.status === 'good') logger.info(line, 'OCSP status')
      else logger.warn(line, 'OCSP status')
    }
    if (isCurrent(entry) && !isFinal(answer)) {
      const at = now()
      const due = refreshAt(answer, config.refreshMarginSeconds * 1000)
      // A responder that keeps serving an answer already due for refresh has nothing newer
      // yet: ask again with backoff rather than in a loop.
      entry.stalls = due <= at ? entry.stalls + 1 : 0
      entry.dueAt = due <= at ? at + backoff(entry.stalls) : due
      schedule(entry, entry.dueAt - at)
    }
    updateGauges()
  }

  function failed(entry: Entry, error: OcspError, detail: string): void {
    entry.lastError = { error, detail }
    entry.failures += 1
    const delay = backoff(entry.failures)
    entry.retryAt = now() + delay
    const keeps =
      entry.answer && now() <= entry.answer.expiresAt
        ? `keeping the answer valid until ${iso(entry.answer.expiresAt)}`
        : 'no valid answer'
    logger.warn(
      {
        event: 'ocsp_query_failed',
        error,
        detail,
        responder: entry.url,
        client: describe(entry.leaf),
        failures: entry.failures,
        retryInMs: delay,
      },
      `OCSP query failed; ${keeps}`,
    )
    if (isCurrent(entry)) schedule(entry, delay)
  }

  function backoff(attempts: number): number {
    return retryDelay(
      attempts,
      config.retryInitialMs,
      Math.max(config.retryInitialMs, config.retryMaxMs),
      random(),
    )
  }

  function schedule(entry: Entry, delayMs: number): void {
    clearTimeout(entry.timer)
    entry.timer = setTimeout(() => onTimer(entry), Math.max(0, Math.min(delayMs, MAX_TIMER_MS)))
    entry.timer.unref()
  }

  function onTimer(entry: Entry): void {
    entry.timer = undefined
    if (!isCurrent(entry)) return
    const at = now()
    if (at > entry.leaf.validToDate.getTime()) {
      // Expired certificates are refused before OCSP; stop asking about them.
      drop(entry)
      return
    }
    if (at < entry.dueAt || at < entry.retryAt) {
      // Only when a long wait was cut to the timer's maximum.
      schedule(entry, Math.max(entry.dueAt, entry.retryAt) - at)
      return
    }
    if (!entry.inFlight) query(entry)
  }

  function updateGauges(): void {
    const counts = { good: 0, revoked: 0, unknown: 0 }
    const earliest = new Map<string, number>()
    for (const entry of cache.values()) {
      const answer = entry.answer
      if (!answer) continue
      counts[answer.status] += 1
      if (answer.status === 'good') {
        const known = earliest.get(entry.issuerName)
        if (known === undefined || answer.expiresAt < known) earliest.set(entry.issuerName, answer.expiresAt)
      }
    }
    for (const [status, count] of Object.entries(counts)) metrics.ocspCachedAnswers.set({ status }, count)
    metrics.ocspNextUpdate.reset()
    for (const [issuer, at] of earliest) metrics.ocspNextUpdate.set({ issuer }, at / 1000)
  }

  function status(leaf: X509Certificate, issuer: X509Certificate, at = now()): OcspVerdict {
    if (closed) return { state: 'unavailable', detail: 'the OCSP checker is closed' }
    const entry = entryFor(leaf, issuer)
    maybeQuery(entry, at)
    const verdict = verdictOf(entry, at)
    metrics.ocspLookups.inc({
      result: verdict.state === 'good' || verdict.state === 'revoked' ? 'hit' : 'miss',
    })
    return verdict
  }

  async function wait(
    leaf: X509Certificate,
    issuer: X509Certificate,
    timeoutMs = config.firstSightTimeoutMs,
  ): Promise<OcspVerdict> {
    const first = status(leaf, issuer)
    if (first.state !== 'pending') return first
    const entry = cache.get(keyOf(leaf, issuer))
    if (!entry?.inFlight) return first
    let timer: NodeJS.Timeout | undefined
    const answered = await Promise.race([
      entry.inFlight.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs)
      }),
    ])
    clearTimeout(timer)
    metrics.ocspWaits.inc({ result: answered ? 'answered' : 'timeout' })
    return verdictOf(entry, now())
  }

  function decide(verdict: OcspVerdict): OcspDecision {
    const decision = ocspDecision(verdict, config.policy)
    if (decision.allow && decision.warn && (verdict.state === 'pending' || verdict.state === 'unavailable'))
      metrics.ocspSoftAdmissions.inc({ state: verdict.state })
    return decision
  }

  async function close(): Promise<void> {
    if (closed) return
    closed = true
    const pending = [...cache.values()].flatMap((e) => (e.inFlight ? [e.inFlight] : []))
    for (const entry of cache.values()) clearTimeout(entry.timer)
    closing.abort()
    await Promise.allSettled(pending)
    await agent.destroy()
    cache.clear()
  }

  return { status, wait, decide, close }
}

/** A certificate whose extensions cannot be read has no responder URL (and gets no answer). */
function safeResponderUrls(leaf: X509Certificate): string[] {
  try {
    return responderUrlsOf(leaf)
  } catch {
    return []
  }
}

function describe(leaf: X509Certificate): { subject: string; serial: string } {
  return { subject: oneLine(leaf.subject), serial: leaf.serialNumber }
}

function oneLine(subject: string): string {
  return subject.split('\n').join(', ')
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
