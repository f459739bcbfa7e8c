/**
 * Every decision of `ehi-gateway check`, from hand-made probe results: a baseline that passes
 * everything, then one defect at a time, each failing (or warning) exactly the check it concerns.
 */
import { describe, expect, it } from 'vitest'
import type { HttpAttempt, ProbeResults, ServerView } from '../../../../src/tools/go-live/rules/checks.ts'
import {
  allRequiredPass,
  evaluateChecks,
  parseHsts,
  type EvaluateOptions,
} from '../../../../src/tools/go-live/evaluate-checks.ts'
import { certificateSubjectDer } from '../../../../src/plane/tls/crl.ts'
import { DAY, issue, makeCa, NOW } from '../../../support/unit-certs.ts'

const serverRoot = makeCa('Server Root')
const serverIssuing = makeCa('Server Issuing', serverRoot, { ca: { pathLength: 0 } })
const serverLeaf = issue({
  subject: [{ type: 'CN', value: 'ehi.example.com' }],
  signer: serverIssuing,
  extKeyUsage: ['serverAuth'],
  san: { dns: ['ehi.example.com'] },
})
const threddRoot = makeCa('Thredd Root CA - G1')
const threddIssuing = makeCa('Thredd Issuing CA - G1', threddRoot)

const EHI_ANSWER =
  '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetTransactionResponse xmlns="http://tempuri.org/"><GetTransactionResult><Acknowledgement>1</Acknowledgement></GetTransactionResult></GetTransactionResponse></s:Body></s:Envelope>'
const HSTS = { 'strict-transport-security': 'max-age=31536000' }

function view(overrides: Partial<ServerView> = {}): ServerView {
  const names = [threddRoot, threddIssuing].map((ca) => certificateSubjectDer(ca.der))
  return {
    source: 'tls1.2',
    auth: 'ecdsa',
    certificates: [serverLeaf.der, serverIssuing.der],
    certificateRequested: true,
    caNames: ['O=Unit Test, CN=Thredd Root CA - G1', 'O=Unit Test, CN=Thredd Issuing CA - G1'],
    caNamesDer: names,
    ...overrides,
  }
}

const ok = (protocol: string, cipher: string) => ({ ok: true as const, protocol, cipher })
const refused = (code = 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE') => ({
  ok: false as const,
  local: false,
  code,
  message: 'refused',
})
const http = (status: number, body: string, headers: Record<string, string> = HSTS): HttpAttempt => ({
  ok: true,
  status,
  headers,
  body,
})

function baseline(overrides: Partial<ProbeResults> = {}): ProbeResults {
  return {
    url: 'https://ehi.example.com/ehi',
    unreachable: undefined,
    protocols: [
      { version: 'TLSv1', result: refused('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION') },
      { version: 'TLSv1.1', result: refused('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION') },
      { version: 'TLSv1.2', result: ok('TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256') },
      { version: 'TLSv1.3', result: ok('TLSv1.3', 'TLS_AES_128_GCM_SHA256') },
    ],
    tls12Suites: [
      { suite: 'ECDHE-ECDSA-AES128-GCM-SHA256', result: ok('TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256') },
      { suite: 'ECDHE-ECDSA-AES128-SHA', result: refused() },
      { suite: 'AES128-GCM-SHA256', result: refused() },
      {
        suite: 'DES-CBC3-SHA',
        result: { ok: false, local: true, code: 'ERR_SSL_NO_CIPHER_MATCH', message: 'no cipher match' },
      },
    ],
    tls13Suites: [
      { suite: 'TLS_AES_128_GCM_SHA256', result: ok('TLSv1.3', 'TLS_AES_128_GCM_SHA256') },
      { suite: 'TLS_AES_128_CCM_8_SHA256', result: refused() },
    ],
    views: [view()],
    viewNotes: [],
    verification: { authorized: true, error: undefined },
    opensslAvailable: true,
    noClientCert: http(400, 'No required SSL certificate was sent'),
    withClientCert: http(200, EHI_ANSWER),
    sampleFormat: 'xml',
    ...overrides,
  }
}

const options: EvaluateOptions = {
  now: new Date(NOW),
  anchors: [serverRoot.cert],
  anchorsLabel: '--ca root.pem',
  hostname: 'ehi.example.com',
  expectedCaNames: ['Thredd Root CA - G1', 'Thredd Issuing CA - G1'],
  clientIssuer: undefined,
}

function statuses(probes: ProbeResults, opts: Partial<EvaluateOptions> = {}) {
  return Object.fromEntries(evaluateChecks(probes, { ...options, ...opts }).map((c) => [c.id, c.status]))
}

function notPassing(probes: ProbeResults, opts: Partial<EvaluateOptions> = {}) {
  return Object.fromEntries(Object.entries(statuses(probes, opts)).filter(([, s]) => s !== 'pass'))
}

describe('evaluateChecks', () => {
  it('passes every check for a correct endpoint', () => {
    const results = evaluateChecks(baseline(), options)
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['protocols.legacy', 'pass'],
      ['protocols.modern', 'pass'],
      ['ciphers.tls12', 'pass'],
      ['ciphers.tls13', 'pass'],
      ['chain.sent', 'pass'],
      ['chain.trusted', 'pass'],
      ['chain.expiry', 'pass'],
      ['chain.hostname', 'pass'],
      ['client-ca.names', 'pass'],
      ['http.no-client-cert', 'pass'],
      ['http.with-client-cert', 'pass'],
      ['http.hsts', 'pass'],
    ])
    expect(allRequiredPass(results)).toBe(true)
    const suites = results.find((r) => r.id === 'ciphers.tls12')!
    expect(suites.evidence.join('\n')).toContain('not probed, this Node.js/OpenSSL cannot offer them')
  })

  const b = baseline()
  it.each<[string, ProbeResults, Partial<EvaluateOptions>, Record<string, string>]>([
    [
      'TLS 1.1 accepted',
      baseline({
        protocols: [
          ...b.protocols.slice(0, 1),
          { version: 'TLSv1.1', result: ok('TLSv1.1', 'ECDHE-ECDSA-AES128-SHA') },
          ...b.protocols.slice(2),
        ],
      }),
      {},
      { 'protocols.legacy': 'fail' },
    ],
    [
      'TLS 1.3 not offered',
      baseline({ protocols: [...b.protocols.slice(0, 3), { version: 'TLSv1.3', result: refused() }] }),
      {},
      { 'protocols.modern': 'fail', 'ciphers.tls13': 'skip' },
    ],
    [
      'a CBC suite accepted',
      baseline({
        tls12Suites: [...b.tls12Suites, { suite: 'ECDHE-ECDSA-AES256-SHA384', result: ok('TLSv1.2', 'x') }],
      }),
      {},
      { 'ciphers.tls12': 'fail' },
    ],
    [
      'static RSA accepted',
      baseline({
        tls12Suites: [...b.tls12Suites, { suite: 'AES256-GCM-SHA384', result: ok('TLSv1.2', 'x') }],
      }),
      {},
      { 'ciphers.tls12': 'fail' },
    ],
    [
      'an ARIA suite accepted',
      baseline({
        tls12Suites: [
          ...b.tls12Suites,
          { suite: 'ECDHE-ECDSA-ARIA128-GCM-SHA256', result: ok('TLSv1.2', 'x') },
        ],
      }),
      {},
      { 'ciphers.tls12': 'warn' },
    ],
    [
      'TLS 1.3 CCM_8 accepted',
      baseline({ tls13Suites: [{ suite: 'TLS_AES_128_CCM_8_SHA256', result: ok('TLSv1.3', 'x') }] }),
      {},
      { 'ciphers.tls13': 'fail' },
    ],
    [
      'leaf only',
      baseline({
        views: [view({ certificates: [serverLeaf.der] })],
        verification: { authorized: false, error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
      }),
      {},
      { 'chain.sent': 'fail', 'chain.trusted': 'fail' },
    ],
    [
      'wrong order',
      baseline({ views: [view({ certificates: [serverIssuing.der, serverLeaf.der] })] }),
      {},
      { 'chain.sent': 'fail', 'chain.hostname': 'fail' },
    ],
    [
      'an untrusted root',
      baseline({ verification: { authorized: false, error: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' } }),
      { anchors: [threddRoot.cert] },
      { 'chain.sent': 'warn', 'chain.trusted': 'fail' },
    ],
    ['another host name', baseline(), { hostname: 'other.example.com' }, { 'chain.hostname': 'fail' }],
    [
      'a certificate expiring in 10 days',
      baseline(),
      { now: new Date(serverLeaf.cert.validToDate.getTime() - 10 * DAY) },
      { 'chain.expiry': 'warn' },
    ],
    [
      'an expired certificate',
      baseline(),
      { now: new Date(serverLeaf.cert.validToDate.getTime() + DAY) },
      { 'chain.expiry': 'fail', 'chain.trusted': 'fail' },
    ],
    [
      'no CertificateRequest',
      baseline({ views: [view({ certificateRequested: false, caNames: [], caNamesDer: [] })] }),
      {},
      { 'client-ca.names': 'fail' },
    ],
    [
      'another CA advertised',
      baseline({
        views: [view({ caNames: ['CN=Other Root CA'], caNamesDer: [certificateSubjectDer(serverRoot.der)] })],
      }),
      {},
      { 'client-ca.names': 'fail' },
    ],
    [
      'no CA names, none expected',
      baseline({ views: [view({ caNames: [], caNamesDer: [] })] }),
      { expectedCaNames: [] },
      { 'client-ca.names': 'warn' },
    ],
    [
      'the client certificate issuer advertised',
      baseline(),
      {
        expectedCaNames: [],
        clientIssuer: {
          text: 'O=Unit Test, CN=Thredd Issuing CA - G1',
          der: certificateSubjectDer(threddIssuing.der),
        },
      },
      {},
    ],
    [
      'the client certificate issuer not advertised',
      baseline(),
      {
        expectedCaNames: [],
        clientIssuer: { text: 'CN=Elsewhere', der: certificateSubjectDer(serverIssuing.der) },
      },
      { 'client-ca.names': 'fail' },
    ],
    [
      'the CertificateRequest unreadable (no openssl)',
      baseline({
        views: [
          view({ source: 'node', certificateRequested: undefined, caNames: [], caNamesDer: undefined }),
        ],
        viewNotes: ['openssl is not installed'],
      }),
      {},
      { 'client-ca.names': 'skip' },
    ],
    [
      '200 without a client certificate',
      baseline({ noClientCert: http(200, EHI_ANSWER) }),
      {},
      { 'http.no-client-cert': 'fail' },
    ],
    [
      'a closed connection without a client certificate',
      baseline({ noClientCert: { ok: false, code: 'ECONNRESET', message: 'socket hang up' } }),
      {},
      { 'http.no-client-cert': 'fail' },
    ],
    [
      '403 with the client certificate',
      baseline({ withClientCert: http(403, '{"reason":"untrusted_issuer"}') }),
      {},
      { 'http.with-client-cert': 'fail' },
    ],
    [
      '200 but not an EHI answer',
      baseline({ withClientCert: http(200, '<html>ok</html>') }),
      {},
      { 'http.with-client-cert': 'fail' },
    ],
    [
      'no client certificate given',
      baseline({ withClientCert: undefined }),
      {},
      { 'http.with-client-cert': 'skip' },
    ],
    ['no HSTS', baseline({ noClientCert: http(400, 'x', {}) }), {}, { 'http.hsts': 'fail' }],
    [
      'HSTS max-age=0',
      baseline({ noClientCert: http(400, 'x', { 'strict-transport-security': 'max-age=0' }) }),
      {},
      { 'http.hsts': 'fail' },
    ],
    [
      'HSTS for one day',
      baseline({ withClientCert: http(200, EHI_ANSWER, { 'strict-transport-security': 'max-age=86400' }) }),
      {},
      { 'http.hsts': 'warn' },
    ],
  ])('%s', (_name, probes, opts, expected) => {
    expect(notPassing(probes, opts)).toEqual(expected)
  })

  it('exit status: a warning passes, a failure or a skipped required check does not, an optional skip does', () => {
    expect(allRequiredPass(evaluateChecks(baseline({ withClientCert: undefined }), options))).toBe(true)
    expect(
      allRequiredPass(
        evaluateChecks(
          baseline({
            tls12Suites: [
              ...b.tls12Suites,
              { suite: 'ECDHE-ECDSA-ARIA128-GCM-SHA256', result: ok('TLSv1.2', 'x') },
            ],
          }),
          options,
        ),
      ),
    ).toBe(true)
    expect(allRequiredPass(evaluateChecks(baseline({ noClientCert: http(400, 'x', {}) }), options))).toBe(
      false,
    )
    const noView = baseline({
      views: [view({ source: 'node', certificateRequested: undefined, caNamesDer: undefined })],
    })
    expect(allRequiredPass(evaluateChecks(noView, options))).toBe(false)
  })

  it('notes certificates that cannot be parsed instead of failing the whole run', () => {
    const junk = baseline({
      views: [view({ certificates: [Buffer.from('junk'), serverLeaf.der, serverIssuing.der] })],
    })
    const results = evaluateChecks(junk, options)
    expect(results.find((r) => r.id === 'chain.sent')!.evidence.join('\n')).toContain(
      'certificate #1 sent by the server cannot be parsed',
    )
  })

  it('says once that the server cannot be reached, and runs no other check', () => {
    const results = evaluateChecks(
      baseline({ unreachable: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1' }),
      options,
    )
    expect(results).toEqual([
      {
        id: 'connect',
        title: 'The server accepts a connection',
        required: true,
        status: 'fail',
        summary: 'cannot reach the server: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1',
        evidence: ['the other 12 checks need a connection and were not run'],
      },
    ])
    expect(allRequiredPass(results)).toBe(false)
  })

  it('gives the evidence Thredd looks at: verify return at each depth, the CA names, the answers', () => {
    const results = Object.fromEntries(
      evaluateChecks(baseline(), options).map((r) => [r.id, r.evidence.join('\n')]),
    )
    expect(results['chain.trusted']).toMatch(/depth=0 CN=ehi.example.com: verify return:1/)
    expect(results['chain.trusted']).toMatch(
      /depth=2 O=Unit Test, CN=Server Root \(trust anchor\): verify return:1/,
    )
    expect(results['client-ca.names']).toContain('advertised: O=Unit Test, CN=Thredd Root CA - G1')
    expect(results['http.no-client-cert']).toContain('HTTP 400')
    expect(results['http.with-client-cert']).toContain('Acknowledgement=1')
  })
})

describe('parseHsts', () => {
  it.each([
    ['max-age=31536000; includeSubDomains', 31536000, true],
    ['max-age="600"', 600, false],
    ['includeSubDomains', undefined, true],
  ])('%s', (value, maxAge, sub) => {
    expect(parseHsts(value)).toEqual({ maxAge, includeSubDomains: sub })
  })
})
