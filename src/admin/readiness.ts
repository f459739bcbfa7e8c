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
    const stale = material.trust.cas.filter(
      (ca) =>
        !ca.crls.some(
          (crl) => crl.thisUpdate.getTime() <= now && (!crl.nextUpdate || crl.nextUpdate.getTime() >= now),
        ),
    )
    checks.push({
      name: 'crls',
      ok: stale.length === 0,
      detail: stale.length
        ? `no current CRL for: ${stale.map((ca) => ca.cert.subject.split('\n').join(', ')).join('; ')} (its clients are refused)`
        : `current for all ${material.trust.cas.length} CAs`,
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
