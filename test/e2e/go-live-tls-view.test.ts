/**
 * What Thredd's go-live check looks at, with `openssl s_client`: the whole server chain sent,
 * `verify return:1` at every depth, and Thredd's CAs under "Acceptable client certificate CA
 * names".
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { runTool } from '../support/cli.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness
let output: string

beforeAll(async () => {
  h = await startHarness(pki)
  const result = await runTool('openssl', [
    's_client',
    '-connect',
    `127.0.0.1:${h.port}`,
    '-servername',
    'localhost',
    '-CAfile',
    pki.files['server-root-ca.pem']!,
  ])
  output = result.stdout + result.stderr
})
afterAll(() => h.close())

describe('openssl s_client against the gateway', () => {
  it('shows verify return:1 at every depth of the server chain', () => {
    expect(output.match(/^verify return:1$/gm)).toHaveLength(3)
    expect(output).toMatch(/depth=2 .*Test Server Root CA/)
    expect(output).toMatch(/depth=0 .*CN ?= ?localhost/)
  })

  it('receives the leaf and the intermediate', () => {
    expect(output).toMatch(/ 0 s:.*CN ?= ?localhost/)
    expect(output).toMatch(/ 1 s:.*Test Server Issuing CA/)
  })

  it("lists Thredd's Root and Issuing CA as acceptable client CA names", () => {
    const names = output.slice(output.indexOf('Acceptable client certificate CA names'))
    expect(names).toContain('Test Thredd Root CA')
    expect(names).toContain('Test Thredd Issuing CA')
  })

  it('negotiates TLS 1.3 by default', () => {
    expect(output).toMatch(/TLSv1\.3/)
  })

  it('refuses TLS 1.1 with a protocol_version alert and counts it', async () => {
    // SECLEVEL=0 makes OpenSSL 3 really offer TLS 1.1 instead of refusing on its own side.
    const result = await runTool('openssl', [
      's_client',
      '-connect',
      `127.0.0.1:${h.port}`,
      '-tls1_1',
      '-cipher',
      'DEFAULT@SECLEVEL=0',
    ])
    const out = result.stdout + result.stderr
    expect(out).toContain('alert protocol version')
    expect(out).toContain('Cipher is (NONE)')
    expect(await h.counter('ehi_gateway_connections_refused_total', { reason: 'tls_protocol_version' })).toBe(
      1,
    )
  })
})
