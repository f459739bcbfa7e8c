/**
 * The decisions of CRL fetching, apart from the fetching (crl-refresh.ts does the I/O): which
 * URLs to fetch, whether a fetched CRL may replace the one in force, and when to fetch next.
 * Pure: every input, the clock and the random jitter included, is an argument.
 */
import type { GatewayConfig } from '../../config/config-schema.ts'
import { compareCrls, crlDistributionPointUrls, type CrlInfo, type CrlOrderKey } from '../../plane/tls/crl.ts'

export type CrlConfig = GatewayConfig['tls']['crl']
export type CrlFetchConfig = CrlConfig['fetch']

/**
 * Why a fetch did not swap in a CRL: a bounded set, used as the `kind` label of
 * ehi_gateway_crl_fetches_total{result="failure"} and in the log line crl_fetch_failed.
 */
export const CRL_FETCH_FAILURES = [
  'timeout', // no complete answer within timeoutMs
  'network', // DNS, connection refused or reset, TLS
  'http_status', // an answer other than 2xx
  'too_large', // the body is larger than maxBytes
  'unparsable', // neither a DER nor a PEM CRL
  'unknown_issuer', // issued by no CA in tls.clientCa
  'bad_signature', // a configured CA's name, but not its signature
  'unsupported', // a delta CRL
  'expired', // past its nextUpdate
  'not_yet_valid', // thisUpdate in the future
  'older', // older than the CRL in force for that CA
] as const
export type CrlFetchFailure = (typeof CRL_FETCH_FAILURES)[number]

/** A fetch that worked: a newer CRL was swapped in, or the one in force was served again. */
export const CRL_FETCH_SUCCESSES = ['updated', 'unchanged'] as const
export type CrlFetchSuccess = (typeof CRL_FETCH_SUCCESSES)[number]

export interface CrlSource {
  url: string
  /** Subject of the CA expected to issue this URL's CRL, when known from a distribution point. */
  expectedIssuer?: string
}

/**
 * The URLs to fetch: the configured ones, then (fromDistributionPoints) those in the CRL
 * Distribution Points of the CA certificates, each once.
 */
export function crlSources(
  fetch: CrlFetchConfig,
  cas: readonly { der: Buffer; issuerSubject: string | undefined }[],
): CrlSource[] {
  const out = new Map<string, CrlSource>()
  for (const url of fetch.urls) out.set(url, { url })
  if (fetch.fromDistributionPoints) {
    for (const ca of cas) {
      let urls: string[]
      try {
        urls = crlDistributionPointUrls(ca.der)
      } catch {
        continue // node:crypto parsed this certificate; forge's strict reader may not: no URLs
      }
      for (const url of urls) {
        if (out.has(url)) continue
        out.set(url, ca.issuerSubject ? { url, expectedIssuer: ca.issuerSubject } : { url })
      }
    }
  }
  return [...out.values()]
}

export type CandidateVerdict = 'updated' | 'unchanged' | 'expired' | 'not_yet_valid' | 'older'

/**
 * May a verified CRL of a CA replace the one in force (undefined: none yet)? Never an expired
 * one or one not valid yet (OpenSSL would refuse every client of that CA with it), never an
 * older one (it may not list certificates revoked since).
 */
export function judgeCandidate(
  candidate: Pick<CrlInfo, 'crlNumber' | 'thisUpdate' | 'nextUpdate'>,
  inForce: CrlOrderKey | undefined,
  now: number,
): CandidateVerdict {
  if (candidate.nextUpdate && candidate.nextUpdate.getTime() <= now) return 'expired'
  if (candidate.thisUpdate.getTime() > now) return 'not_yet_valid'
  if (!inForce) return 'updated'
  const order = compareCrls(candidate, inForce)
  return order === 'newer' ? 'updated' : order === 'same' ? 'unchanged' : 'older'
}

export interface ScheduleSettings {
  intervalMs: number
  marginMs: number
  retryMinMs: number
  retryMaxMs: number
}

export function scheduleSettings(fetch: CrlFetchConfig): ScheduleSettings {
  return {
    intervalMs: fetch.refreshIntervalSeconds * 1000,
    marginMs: fetch.refreshMarginSeconds * 1000,
    retryMinMs: fetch.retryMinSeconds * 1000,
    retryMaxMs: fetch.retryMaxSeconds * 1000,
  }
}

/**
 * Exponential backoff with "equal jitter": attempt 1 waits between min/2 and min, each further
 * attempt doubles that, up to max. `random` is in [0, 1).
 */
export function retryDelay(attempt: number, minMs: number, maxMs: number, random: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(base / 2 + (random * base) / 2)
}

export interface NextFetch {
  delayMs: number
  /** Consecutive attempts that did not bring a usable newer CRL when one was due. */
  attempt: number
}

/**
 * When to fetch a URL again, after a fetch that failed or succeeded. `nextUpdate` is that of
 * the CA's CRL in force (undefined: unknown, or a CRL without one).
 *
 * - failed: back off (retryDelay), never slower than the interval.
 * - succeeded, before nextUpdate - margin: at the interval or at nextUpdate - margin, whichever
 *   is first, up to 10% early (jitter: gateways behind one CRL server do not fetch in step).
 * - succeeded inside the margin (the CA has not published a newer CRL yet): back off as after
 *   a failure, so the new CRL is picked up soon after it appears.
 */
export function planNextFetch(input: {
  outcome: 'failed' | 'succeeded'
  attempt: number
  now: number
  nextUpdate: number | undefined
  settings: ScheduleSettings
  random: number
}): NextFetch {
  const { settings, random } = input
  const backoff = (): NextFetch => {
    const attempt = input.attempt + 1
    const delay = retryDelay(attempt, settings.retryMinMs, settings.retryMaxMs, random)
    return { delayMs: Math.min(delay, settings.intervalMs), attempt }
  }
  if (input.outcome === 'failed') return backoff()
  const due = input.nextUpdate === undefined ? Number.POSITIVE_INFINITY : input.nextUpdate - settings.marginMs
  if (input.now >= due) return backoff()
  const wait = Math.min(settings.intervalMs, due - input.now)
  return { delayMs: Math.round(wait * (1 - 0.1 * random)), attempt: 0 }
}
