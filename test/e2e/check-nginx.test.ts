/**
 * `ehi-gateway check` against a third-party endpoint: Debian's nginx as an mTLS terminator in
 * front of the reference EHI host, configured by the test. A correct nginx passes every check
 * (HSTS included, which nginx sets with add_header); a broken one fails with the check named.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startReferenceHost, type ReferenceHost } from '../../src/tools/reference-host/reference-host.ts'
import { asThredd, evidenceOf, runCheck } from '../support/check-cli.ts'
import { NGINX, startNginx, type Nginx, type NginxOptions } from '../support/nginx.ts'

const pki = inject('pki')

if (!NGINX)
  console.warn('nginx is not installed: skipping the nginx checker tests (apt-get install -y nginx)')

describe.skipIf(!NGINX)('check against nginx', () => {
  let host: ReferenceHost
  const started: Nginx[] = []
  const start = async (overrides: Partial<NginxOptions> = {}) => {
    const nginx = await startNginx({
      certChain: pki.files['server-chain.pem']!,
      key: pki.files['server.key']!,
      clientCa: [pki.files['thredd-root-ca.pem']!, pki.files['thredd-issuing-ca.pem']!],
      upstream: host.url,
      ...overrides,
    })
    started.push(nginx)
    return nginx
  }

  beforeAll(async () => {
    host = await startReferenceHost()
  })
  afterAll(async () => {
    await Promise.all(started.map((n) => n.close()))
    await host.close()
  })

  it('an nginx mTLS terminator configured for Thredd passes every check', async () => {
    const started = Date.now()
    const nginx = await start()
    const run = await runCheck(asThredd(pki, nginx.url))
    console.info(`nginx check: ${Date.now() - started} ms including nginx start`)
    expect(
      run.report.failed,
      JSON.stringify(
        run.report.checks.filter((c) => c.status !== 'pass'),
        null,
        2,
      ),
    ).toEqual([])
    expect(run.code).toBe(0)
    expect(evidenceOf(run, 'http.no-client-cert')).toContain('HTTP 400')
    expect(evidenceOf(run, 'http.no-client-cert')).toContain('No required SSL certificate was sent')
    expect(evidenceOf(run, 'http.with-client-cert')).toContain('Acknowledgement=1')
    expect(evidenceOf(run, 'http.hsts')).toContain('max-age=31536000')
    expect(host.received.length).toBeGreaterThan(0)
  })

  it('nginx with the leaf only and TLS 1.1 and a CBC suite: each named', async () => {
    const nginx = await start({
      certChain: pki.files['server-leaf-only.pem']!,
      protocols: 'TLSv1.1 TLSv1.2 TLSv1.3',
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0',
    })
    const run = await runCheck(asThredd(pki, nginx.url))
    expect(run.status['chain.sent']).toBe('fail')
    expect(run.status['protocols.legacy']).toBe('fail')
    expect(run.status['ciphers.tls12']).toBe('fail')
    expect(evidenceOf(run, 'ciphers.tls12')).toContain('accepted ECDHE-ECDSA-AES128-SHA: WEAK')
    expect(run.code).toBe(1)
  })

  it('nginx with ssl_verify_client optional_no_ca answers without checking the CA', async () => {
    const nginx = await start({ verifyClient: 'optional_no_ca' })
    const run = await runCheck(asThredd(pki, nginx.url))
    // nginx then proxies a request that has no certificate at all: 200 instead of 400.
    expect(run.status['http.no-client-cert']).toBe('fail')
  })
})
