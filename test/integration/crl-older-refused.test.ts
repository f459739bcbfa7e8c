/**
 * An older CRL must never replace the one in force: still unexpired, it may not list a
 * certificate revoked since, and loading it would admit that certificate again. A reload that
 * would do so fails as a whole, names the CA and both CRLs, and the last good state (the newer
 * CRL) stays in force.
 */
import { writeFileSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { mintIssuingCrl } from '../support/test-pki.ts'

const pki = inject('pki')
const f = pki.files
let h: Harness | undefined

afterEach(async () => {
  await h?.close()
  h = undefined
})

const HOUR = 3_600_000
const reason = async (client: keyof typeof pki.clients) =>
  (await post(pki, h!.port, { client: pki.clients[client] })).headers['x-ehi-gateway-reason']

/** Starts the gateway with an Issuing CA CRL that revokes `revoked`, in a file of its own. */
async function startWithNewerCrl(crlNumber: number | null, name: string) {
  const file = mintIssuingCrl(pki, `${name}-${process.pid}-${Date.now()}.crl.pem`, {
    thisUpdate: new Date(Date.now() - HOUR),
    nextUpdate: new Date(Date.now() + 24 * HOUR),
    revokedCerts: [pki.clients.revoked.cert],
    crlNumber,
  })
  h = await startHarness(pki, { tls: { crl: { enabled: true, files: [f['thredd-root-ca.crl.pem'], file] } } })
  return file
}

/** The same CA's CRL, older but unexpired, that does not list `revoked`, written over `file`. */
function writeOlderCrl(file: string, crlNumber: number | null) {
  const older = mintIssuingCrl(pki, `${file.split('/').pop()}.older`, {
    thisUpdate: new Date(Date.now() - 2 * HOUR),
    nextUpdate: new Date(Date.now() + 24 * HOUR),
    crlNumber,
  })
  writeFileSync(file, readFileSync(older))
}

describe('a reload that would load an older CRL', () => {
  it('is refused by CRL number, and the revoked certificate stays refused', async () => {
    const file = await startWithNewerCrl(20, 'by-number')
    expect(await reason('revoked')).toBe('revoked')

    writeOlderCrl(file, 10)
    const result = await h!.gateway.reload('SIGHUP')

    expect(result.ok).toBe(false)
    const problems = result.problems.join('\n')
    expect(problems).toContain('CN=Test Thredd Issuing CA')
    expect(problems).toMatch(/from CRL number 20, thisUpdate \S+ to the older CRL number 10, thisUpdate \S+/)
    expect(await reason('revoked')).toBe('revoked')
    expect((await post(pki, h!.port, { client: pki.clients.good })).status).toBe(200)
    expect(await h!.counter('ehi_gateway_reloads_total', { result: 'failure' })).toBe(1)
    expect(h!.logs.findLast((l) => l.event === 'reload_failed')).toMatchObject({ trigger: 'SIGHUP' })
  })

  it('is refused by thisUpdate when the CRLs carry no number', async () => {
    const file = await startWithNewerCrl(null, 'by-date')
    expect(await reason('revoked')).toBe('revoked')

    writeOlderCrl(file, null)
    const result = await h!.gateway.reload('SIGHUP')

    expect(result.ok).toBe(false)
    expect(result.problems.join('\n')).toMatch(
      /CN=Test Thredd Issuing CA would go back from no CRL number, thisUpdate \S+ to the older no CRL number/,
    )
    expect(await reason('revoked')).toBe('revoked')
  })

  it('is not what a newer CRL gets: it reloads, and un-revokes what it no longer lists', async () => {
    // Control for the two tests above: the same steps with a newer CRL succeed.
    const file = await startWithNewerCrl(20, 'newer')
    expect(await reason('revoked')).toBe('revoked')

    writeOlderCrl(file, 30)
    const result = await h!.gateway.reload('SIGHUP')

    expect(result).toMatchObject({ ok: true, problems: [] })
    expect((await post(pki, h!.port, { client: pki.clients.revoked })).status).toBe(200)
  })
})
