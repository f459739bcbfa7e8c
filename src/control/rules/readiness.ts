/**
 * Readiness: the gateway is ready only while it can admit Thredd (and, with
 * admin.readinessChecksHost, reach the host). Pure: takes the loaded material, the probe result
 * and the clock.
 */
import { describeCandidateCounts, type CandidateCounts } from './candidate-summary.ts'
import type { TlsMaterial, TrustStore } from '../../runtime/tls-material.ts'

export interface ReadinessInput {
  draining: boolean
  material: TlsMaterial
  hostReachable: boolean | undefined
  hostProbeDetail: string | undefined
  /**
   * admin.readinessChecksHost: an unreachable host fails readiness. Without it the host line is
   * reported only, so a host outage leaves the gateways in the load balancer, answering Thredd.
   */
  hostRequired?: boolean
  /** Worker processes up and expected (cluster mode). */
  workers?: { up: number; expected: number }
  /**
   * The candidate trust, when one is loaded, with the counts the data plane has reported so far
   * (undefined until first read). Reported only: it never makes the gateway unready.
   */
  candidate?: { trust: TrustStore; pins: number; subjectRules: number; counts: CandidateCounts | undefined }
  /** tls.crl.readinessMarginSeconds in ms: not ready when a CA's current CRL expires within it. */
  crlMarginMs?: number
  now: number
}

export interface Check {
  name: string
  ok: boolean
  detail: string
}

export function readinessChecks(input: ReadinessInput): Check[] {
  const { material, now } = input
  const checks: Check[] = [
    {
      name: 'serving',
      ok: !input.draining,
      detail: input.draining ? 'draining for shutdown' : 'accepting connections',
    },
  ]

  const expiredServer = material.serverChains.filter((c) => c.leaf.validToDate.getTime() <= now)
  checks.push({
    name: 'server_certificate',
    ok: material.serverChains.length > 0 && expiredServer.length === 0,
    detail: expiredServer.length
      ? `expired: ${expiredServer.map((c) => `${c.keyType} certificate on ${c.leaf.validToDate.toISOString()}`).join(', ')}`
      : `${material.serverChains.length} loaded, first expiry ${earliest(material.serverChains.map((c) => c.leaf.validToDate))}`,
  })

  const expiredCas = material.trust.cas.filter((ca) => ca.cert.validToDate.getTime() <= now)
  checks.push({
    name: 'client_cas',
    ok: material.trust.cas.length > 0 && expiredCas.length === 0,
    detail: expiredCas.length
      ? `expired: ${expiredCas.map((ca) => ca.cert.subject.split('\n').join(', ')).join('; ')}`
      : `${material.trust.cas.length} loaded, first expiry ${earliest(material.trust.cas.map((ca) => ca.cert.validToDate))}`,
  })

  if (material.trust.crlEnabled) {
    const current = (ca: (typeof material.trust.cas)[number]) =>
      ca.crls.filter(
        (crl) => crl.thisUpdate.getTime() <= now && (!crl.nextUpdate || crl.nextUpdate.getTime() >= now),
      )
    const stale = material.trust.cas.filter((ca) => current(ca).length === 0)
    // The last moment a CA is covered: the latest nextUpdate of its current CRLs.
    const margin = input.crlMarginMs ?? 0
    const expiring =
      margin > 0
        ? material.trust.cas.flatMap((ca) => {
            const ends = current(ca).map((crl) => crl.nextUpdate?.getTime() ?? Number.POSITIVE_INFINITY)
            const end = Math.max(...ends)
            return ends.length > 0 && end - now < margin ? [{ ca, end }] : []
          })
        : []
    const name = (ca: (typeof material.trust.cas)[number]) => ca.cert.subject.split('\n').join(', ')
    const problems = [
      ...(stale.length
        ? [`no current CRL for: ${stale.map(name).join('; ')} (its clients are refused)`]
        : []),
      ...expiring.map(
        ({ ca, end }) =>
          `the CRL of ${name(ca)} expires at ${new Date(end).toISOString()}, within the readiness margin of ${Math.round(margin / 1000)} s`,
      ),
    ]
    checks.push({
      name: 'crls',
      ok: problems.length === 0,
      detail: problems.length ? problems.join('; ') : `current for all ${material.trust.cas.length} CAs`,
    })
  }

  const probed =
    input.hostReachable === undefined
      ? 'not probed yet'
      : (input.hostProbeDetail ?? (input.hostReachable ? 'reachable' : 'unreachable'))
  checks.push(
    input.hostRequired === true
      ? { name: 'host', ok: input.hostReachable === true, detail: probed }
      : {
          name: 'host',
          ok: true,
          detail: `${probed} (reported only: admin.readinessChecksHost is off)`,
        },
  )

  if (input.workers) {
    const { up, expected } = input.workers
    checks.push({ name: 'workers', ok: up >= expected && expected > 0, detail: `${up} of ${expected} up` })
  }

  if (input.candidate)
    checks.push({ name: 'candidate_trust', ok: true, detail: candidateDetail(input.candidate, now) })
  return checks
}

/** What is loaded as the candidate and how it compares so far; informational, never a failure. */
function candidateDetail(candidate: NonNullable<ReadinessInput['candidate']>, now: number): string {
  const { cas, crlEnabled } = candidate.trust
  const expired = cas.filter((ca) => ca.cert.validToDate.getTime() <= now)
  const parts = [
    `loaded (reported only, never enforced): ${cas.length} CAs, first expiry ${earliest(cas.map((ca) => ca.cert.validToDate))}${expired.length ? ` (expired: ${expired.map((ca) => subjectOf(ca.cert.subject)).join('; ')})` : ''}`,
  ]
  if (crlEnabled) {
    const stale = cas.filter((ca) => !ca.crls.some((crl) => currentAt(crl, now)))
    parts.push(
      stale.length
        ? `no current CRL for: ${stale.map((ca) => subjectOf(ca.cert.subject)).join('; ')}`
        : `CRLs current for all ${cas.length} CAs`,
    )
  } else parts.push('CRLs off')
  parts.push(`${candidate.pins} pins, ${candidate.subjectRules} subject rules`)
  parts.push(candidate.counts ? describeCandidateCounts(candidate.counts) : 'differences not read yet')
  return parts.join('; ')
}

function currentAt(crl: { thisUpdate: Date; nextUpdate: Date | undefined }, now: number): boolean {
  return crl.thisUpdate.getTime() <= now && (!crl.nextUpdate || crl.nextUpdate.getTime() >= now)
}

function subjectOf(subject: string): string {
  return subject.split('\n').join(', ')
}

function earliest(dates: Date[]): string {
  const min = Math.min(...dates.map((d) => d.getTime()))
  return Number.isFinite(min) ? new Date(min).toISOString() : 'n/a'
}
