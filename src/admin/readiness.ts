/**
 * Readiness: the gateway is ready only while it can admit Thredd and reach the host. Pure: takes
 * the loaded material, the probe result and the clock.
 */
import type { TlsMaterial } from '../tls/tls-material.ts'

export interface ReadinessInput {
  draining: boolean
  material: TlsMaterial
  hostReachable: boolean | undefined
  hostProbeDetail: string | undefined
  /** Worker processes up and expected (cluster mode). */
  workers?: { up: number; expected: number }
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

  checks.push({
    name: 'host',
    ok: input.hostReachable === true,
    detail:
      input.hostReachable === undefined
        ? 'not probed yet'
        : (input.hostProbeDetail ?? (input.hostReachable ? 'reachable' : 'unreachable')),
  })

  if (input.workers) {
    const { up, expected } = input.workers
    checks.push({ name: 'workers', ok: up >= expected && expected > 0, detail: `${up} of ${expected} up` })
  }
  return checks
}

function earliest(dates: Date[]): string {
  const min = Math.min(...dates.map((d) => d.getTime()))
  return Number.isFinite(min) ? new Date(min).toISOString() : 'n/a'
}
