/**
 * The CRL fetching settings as the compile step checks them (tls.crl.fetch): is fetching on, and
 * what the schema cannot say about them. Pure; the refresher (control/crl-refresh.ts) reads the
 * same switch.
 */
import type { ConfigIssue } from '../../config/config-issues.ts'
import type { GatewayConfig } from '../../config/config-schema.ts'

type CrlConfig = GatewayConfig['tls']['crl']

export function crlFetchEnabled(crl: CrlConfig): boolean {
  return crl.enabled && (crl.fetch.urls.length > 0 || crl.fetch.fromDistributionPoints)
}

/** Problems and warnings of the fetch settings that the schema cannot express. */
export function crlFetchIssues(crl: CrlConfig): { issues: ConfigIssue[]; warnings: string[] } {
  const issues: ConfigIssue[] = []
  const warnings: string[] = []
  const { fetch } = crl
  fetch.urls.forEach((url, index) => {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      issues.push({ path: `tls.crl.fetch.urls[${index}]`, message: 'is not a valid URL' })
      return
    }
    if (parsed.username || parsed.password)
      issues.push({
        path: `tls.crl.fetch.urls[${index}]`,
        message: 'must not carry credentials (CRLs are public)',
      })
  })
  if (fetch.retryMinSeconds > fetch.retryMaxSeconds)
    issues.push({
      path: 'tls.crl.fetch.retryMinSeconds',
      message: `must not exceed tls.crl.fetch.retryMaxSeconds (${fetch.retryMaxSeconds})`,
    })
  const configured = fetch.urls.length > 0 || fetch.fromDistributionPoints
  if (configured && !crl.enabled)
    warnings.push('tls.crl.fetch is set but tls.crl.enabled is false: no CRL is fetched or checked')
  if (crlFetchEnabled(crl) && !fetch.cacheDir && crl.files.length === 0)
    warnings.push(
      'tls.crl.fetch.cacheDir is not set and tls.crl.files is empty: a restart without network to the CRL URLs cannot start',
    )
  return { issues, warnings }
}
