/**
 * Hardening, part 1: certificate and TLS attacks. Each case checks what the client sees (an
 * HTTP answer or a closed connection), the reason code everywhere it appears (answer body,
 * x-ehi-gateway-reason, the connection_refused log line, the metric label), that the metric
 * moved by exactly one, and that the internal host saw nothing. Certificates are made at test
 * time (test/support/attack-pki.ts); nothing is committed.
 */
import { createHash, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect, type ConnectionOptions } from 'node:tls'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildAttackPki, type AttackPki } from '../support/attack-pki.ts'
import { SAMPLE_REQUEST } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { hardeningCase, type CaseContext } from './recorder.ts'
import {
  bodyReason,
  parseResponses,
  rawTcp,
  rawTls,
  stalledTlsHandshake,
  tlsOptions,
  type Identity,
} from './wire.ts'

const pki = inject('pki')
const f = pki.files
let attack: AttackPki
let h: Harness
const HANDSHAKE_TIMEOUT_MS = 1000

const spkiOf = (file: string) =>
  new X509Certificate(readFileSync(file)).publicKey.export({ type: 'spki', format: 'der' })
beforeAll(async () => {
  attack = buildAttackPki(pki)
  h = await startHarness(pki, {
    tls: {
      // Both key types, so a suite is refused for what it is, not for a missing certificate.
      serverCertificates: [
        { cert: f['server-chain.pem'], key: f['server.key'] },
        { cert: f['server-rsa-chain.pem'], key: f['server-rsa.key'] },
      ],
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    },
  })
})
afterAll(() => h?.close())

const REFUSED = 'ehi_gateway_connections_refused_total'

interface Refusal {
  /** HTTP status, or 0 for a connection closed without an answer. */
  status: number
  reason: string
}

/**
 * Sends one EHI request over a fresh connection with `client` and checks the refusal on every
 * channel. Returns the raw result for extra checks.
 */
async function expectRefusal(
  c: CaseContext,
  gateway: Harness,
  client: Identity | undefined,
  want: Refusal,
  tls?: ConnectionOptions,
) {
  const hostBefore = gateway.host.received.length
  const logsBefore = gateway.logs.length
  const metricBefore = await gateway.counter(REFUSED, { reason: want.reason })
  const result = await rawTls(pki, gateway.port, { client, request: SAMPLE_REQUEST, tls, timeoutMs: 4000 })
  const [answer] = parseResponses(result.data)
  // The log line and metric are written as the connection is refused; give the loop a turn.
  await new Promise((resolve) => setTimeout(resolve, 20))
  const line = gateway.logs.slice(logsBefore).find((l) => l.event === 'connection_refused')
  const metricDelta = (await gateway.counter(REFUSED, { reason: want.reason })) - metricBefore
  const hostDelta = gateway.host.received.length - hostBefore
  const seen = answer
    ? `${answer.status} body.reason=${bodyReason(answer)} header=${answer.headers['x-ehi-gateway-reason']}`
    : `closed without an answer${result.error ? ` (client: ${result.error})` : ''}`
  c.observe(
    `${seen}; log reason=${line?.reason}${line?.detail ? ` (${String(line.detail).slice(0, 90)})` : ''}; metric +${metricDelta}; host saw ${hostDelta}`,
  )
  if (want.status === 0) {
    expect(answer).toBeUndefined()
  } else {
    expect(answer?.status).toBe(want.status)
    expect(bodyReason(answer)).toBe(want.reason)
    expect(answer?.headers['x-ehi-gateway-reason']).toBe(want.reason)
    expect(answer?.headers['strict-transport-security']).toBeDefined()
    expect(result.closedByServer).toBe(true)
  }
  expect(line?.reason).toBe(want.reason)
  expect(metricDelta).toBe(1)
  expect(hostDelta).toBe(0)
  return { result, answer, line }
}

/** Sends one request that must be admitted and forwarded once. */
async function expectAdmitted(c: CaseContext, gateway: Harness, client: Identity, tls?: ConnectionOptions) {
  const hostBefore = gateway.host.received.length
  const result = await rawTls(pki, gateway.port, { client, request: SAMPLE_REQUEST, tls, answers: 1 })
  const [answer] = parseResponses(result.data)
  const hostDelta = gateway.host.received.length - hostBefore
  c.observe(`${answer?.status ?? 'no answer'}; host saw ${hostDelta}`)
  expect(answer?.status).toBe(200)
  expect(hostDelta).toBe(1)
  return { result, answer }
}

const refused403 = (reason: string): Refusal => ({ status: 403, reason })

describe('client certificates (rejectMode http)', () => {
  it(
    'no certificate (TLS 1.3)',
    hardeningCase(
      'tls',
      'no client certificate (TLS 1.3)',
      '400 no_client_cert, closed, host sees nothing',
      (c) =>
        expectRefusal(c, h, undefined, { status: 400, reason: 'no_client_cert' }).then(({ answer }) =>
          expect(answer?.body).toContain('No required SSL certificate was sent'),
        ),
    ),
  )

  // A TLS client without a certificate answers the CertificateRequest with an empty Certificate
  // message (RFC 5246 §7.4.6, RFC 8446 §4.4.2): Node's client does exactly that when it has no
  // cert, so "no certificate" and "empty Certificate message" are the same bytes on the wire.
  // Both protocol versions are covered.
  it(
    'empty Certificate message (TLS 1.2)',
    hardeningCase(
      'tls',
      'empty Certificate message (TLS 1.2)',
      '400 no_client_cert, closed, host sees nothing (an empty Certificate message is how a client says it has none)',
      (c) =>
        expectRefusal(
          c,
          h,
          undefined,
          { status: 400, reason: 'no_client_cert' },
          { maxVersion: 'TLSv1.2' },
        ).then(() => undefined),
    ),
  )

  it(
    'wrong CA',
    hardeningCase('tls', 'certificate from another CA', '403 untrusted_issuer', (c) =>
      expectRefusal(c, h, pki.clients.otherCa, refused403('untrusted_issuer')).then(() => undefined),
    ),
  )

  it(
    'self-signed copying subject and issuer names',
    hardeningCase(
      'tls',
      "self-signed certificate copying the real leaf's subject and issuer names",
      '403 untrusted_issuer',
      (c) =>
        expectRefusal(c, h, attack.clients.selfSignedCopiedNames, refused403('untrusted_issuer')).then(
          () => undefined,
        ),
    ),
  )

  it(
    'self-signed copying the subject',
    hardeningCase(
      'tls',
      "self-signed certificate copying the real leaf's subject",
      '403 untrusted_issuer',
      (c) =>
        expectRefusal(c, h, pki.clients.selfSigned, refused403('untrusted_issuer')).then(() => undefined),
    ),
  )

  it(
    "leaf signed under the Issuing CA's name with another key",
    hardeningCase(
      'tls',
      "leaf signed under the real Issuing CA's name by another key, forged CA sent along",
      '403 untrusted_issuer',
      (c) =>
        expectRefusal(c, h, attack.clients.forgedIssuerWithChain, refused403('untrusted_issuer')).then(
          () => undefined,
        ),
    ),
  )

  it(
    'valid leaf with the chain in the wrong order and unrelated certificates',
    hardeningCase(
      'tls',
      'valid leaf sent with its chain in the wrong order plus unrelated CA certificates',
      '200: only the leaf and the configured CAs count; extra certificates neither help nor hurt',
      (c) => expectAdmitted(c, h, attack.clients.goodWithJunkChain).then(() => undefined),
    ),
  )

  it(
    "another CA's leaf with Thredd's real CA certificates appended",
    hardeningCase(
      'tls',
      "another CA's leaf sent with Thredd's real Root and Issuing CA certificates appended",
      '403 untrusted_issuer: certificates the client sends are never trust anchors',
      (c) =>
        expectRefusal(c, h, attack.clients.otherCaWithThreddChain, refused403('untrusted_issuer')).then(
          () => undefined,
        ),
    ),
  )

  it(
    'intermediate with CA:false',
    hardeningCase(
      'tls',
      'leaf issued by an intermediate marked CA:false (sent by the client)',
      '403 untrusted_issuer: only configured CAs may issue, a client-sent intermediate is never trusted',
      (c) =>
        expectRefusal(c, h, attack.clients.underNonCaIntermediate, refused403('untrusted_issuer')).then(
          () => undefined,
        ),
    ),
  )

  it(
    'leaf used as a CA',
    hardeningCase(
      'tls',
      'leaf used as a CA (an ordinary client leaf issuing another leaf)',
      '403 untrusted_issuer',
      (c) =>
        expectRefusal(c, h, attack.clients.underLeafAsCa, refused403('untrusted_issuer')).then(
          () => undefined,
        ),
    ),
  )

  it(
    'path-length violation, sub-CA sent by the client',
    hardeningCase(
      'tls',
      'path-length violation: sub-CA under the pathLength-0 Issuing CA, sent by the client',
      '403 untrusted_issuer',
      (c) =>
        expectRefusal(c, h, attack.clients.pathLengthViolation, refused403('untrusted_issuer')).then(
          () => undefined,
        ),
    ),
  )

  it(
    'expired',
    hardeningCase('tls', 'expired certificate', '403 expired', (c) =>
      expectRefusal(c, h, pki.clients.expired, refused403('expired')).then(() => undefined),
    ),
  )

  it(
    'not yet valid',
    hardeningCase('tls', 'not-yet-valid certificate', '403 not_yet_valid', (c) =>
      expectRefusal(c, h, pki.clients.notYetValid, refused403('not_yet_valid')).then(() => undefined),
    ),
  )

  it(
    'revoked',
    hardeningCase('tls', 'revoked certificate (in the Issuing CA CRL)', '403 revoked', (c) =>
      expectRefusal(c, h, pki.clients.revoked, refused403('revoked')).then(() => undefined),
    ),
  )

  it(
    'wrong EKU',
    hardeningCase('tls', 'wrong EKU (serverAuth only)', '403 bad_eku', (c) =>
      expectRefusal(c, h, pki.clients.serverAuthOnly, refused403('bad_eku')).then(() => undefined),
    ),
  )

  it(
    'key usage keyEncipherment only',
    hardeningCase(
      'tls',
      'key usage missing digitalSignature (RSA, keyEncipherment only)',
      '403 bad_eku (the certificate is not usable for TLS client authentication)',
      (c) =>
        expectRefusal(c, h, attack.clients.kuKeyEnciphermentOnly, refused403('bad_eku')).then(
          () => undefined,
        ),
    ),
  )

  // OpenSSL's sslclient purpose check refuses a keyUsage only when it has neither
  // digitalSignature nor keyAgreement, so this leaf passes OpenSSL; the gateway checks keyUsage
  // itself (identity/key-strength.ts). RFC 5280 §4.2.1.3: the CertificateVerify is a signature.
  it(
    'key usage keyAgreement only',
    hardeningCase(
      'tls',
      'key usage missing digitalSignature (EC, keyAgreement only)',
      '403 bad_eku: a key not allowed to sign cannot authenticate a TLS client',
      (c) =>
        expectRefusal(c, h, attack.clients.kuKeyAgreementOnly, refused403('bad_eku')).then(() => undefined),
    ),
  )

  it(
    'RSA 1024 at the client default security level',
    hardeningCase(
      'tls',
      'weak key (RSA 1024): Node client at its default security level',
      "the client's own OpenSSL refuses to use the key (ERR_SSL_EE_KEY_TOO_SMALL); nothing is sent",
      async (c) => {
        const hostBefore = h.host.received.length
        const result = await rawTls(pki, h.port, { client: attack.clients.rsa1024, request: SAMPLE_REQUEST })
        c.observe(`client error ${result.error}; host saw ${h.host.received.length - hostBefore}`)
        expect(result.error).toBe('ERR_SSL_EE_KEY_TOO_SMALL')
        expect(h.host.received.length).toBe(hostBefore)
      },
    ),
  )

  // OpenSSL fails these with EE_KEY_TOO_SMALL / CA_MD_TOO_WEAK, but Node reports those codes as
  // "UNSPECIFIED"; the gateway reads the key size and signature algorithm itself for the reason.
  it(
    'RSA 1024 presented anyway',
    hardeningCase('tls', 'weak key (RSA 1024) presented by a client at SECLEVEL=0', '403 weak_key', (c) =>
      expectRefusal(c, h, attack.clients.rsa1024, refused403('weak_key'), {
        ciphers: 'DEFAULT@SECLEVEL=0',
      }).then(() => undefined),
    ),
  )

  it(
    'SHA-1 signature',
    hardeningCase(
      'tls',
      'SHA-1 signature on the leaf (ecdsa-with-SHA1 by the real Issuing CA)',
      '403 weak_key',
      (c) => expectRefusal(c, h, attack.clients.sha1Signature, refused403('weak_key')).then(() => undefined),
    ),
  )
})

describe('CRL expired', () => {
  let hc: Harness
  beforeAll(async () => {
    hc = await startHarness(pki, {
      tls: {
        crl: { enabled: true, files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.expired.crl.pem']] },
      },
    })
  })
  afterAll(() => hc?.close())

  it(
    'CRL past nextUpdate',
    hardeningCase('tls', 'CRL expired (Issuing CA CRL past nextUpdate)', '403 crl_expired', (c) =>
      expectRefusal(c, hc, pki.clients.good, refused403('crl_expired')).then(() => undefined),
    ),
  )
})

describe('pins and subject rules', () => {
  let hp: Harness
  beforeAll(async () => {
    const pin = (file: string) => createHashB64(spkiOf(file))
    hp = await startHarness(pki, {
      clientAuth: {
        pins: { spkiSha256: [pki.spki.good, pin(attack.clients.otherSubject.cert)] },
        allowedSubjects: { cn: ['thredd-ehi-transport'] },
      },
    })
  })
  afterAll(() => hp?.close())

  it(
    'pin mismatch after a key change',
    hardeningCase('tls', 'pin mismatch after a key change (same subject, new key)', '403 pin_mismatch', (c) =>
      expectRefusal(c, hp, pki.clients.sameNameNewKey, refused403('pin_mismatch')).then(() => undefined),
    ),
  )

  it(
    'subject not allowed',
    hardeningCase(
      'tls',
      'subject not allowed (valid chain and pinned key, CN not in the allow-list)',
      '403 subject_not_allowed',
      (c) =>
        expectRefusal(c, hp, attack.clients.otherSubject, refused403('subject_not_allowed')).then(
          () => undefined,
        ),
    ),
  )

  it(
    'the pinned, allowed client still gets through',
    hardeningCase('tls', 'control: pinned and allowed client', '200, forwarded once', (c) =>
      expectAdmitted(c, hp, pki.clients.good).then(() => undefined),
    ),
  )
})

describe('a sub-CA in the configured bundle', () => {
  let hb: Harness
  beforeAll(async () => {
    hb = await startHarness(pki, {
      tls: {
        clientCa: [f['thredd-root-ca.pem'], f['thredd-issuing-ca.pem'], attack.subCa.cert],
        crl: {
          enabled: true,
          files: [f['thredd-root-ca.crl.pem'], f['thredd-issuing-ca.crl.pem'], attack.subCa.crl],
        },
      },
    })
  })
  afterAll(() => hb?.close())

  it(
    'path-length violation inside the bundle',
    hardeningCase(
      'tls',
      'path-length violation with the sub-CA in the configured bundle (operator mistake)',
      '403 invalid_chain (OpenSSL PATH_LENGTH_EXCEEDED)',
      (c) =>
        expectRefusal(c, hb, attack.clients.pathLengthViolation, refused403('invalid_chain')).then(
          () => undefined,
        ),
    ),
  )
})

describe('TLS protocol', () => {
  it.each([
    ['TLSv1', 'TLS 1.0'],
    ['TLSv1.1', 'TLS 1.1'],
  ] as const)('%s is refused', async (version, label) =>
    hardeningCase(
      'tls',
      `${label} attempt`,
      'handshake refused, connection closed, tls_protocol_version',
      (c) =>
        expectRefusal(
          c,
          h,
          pki.clients.good,
          { status: 0, reason: 'tls_protocol_version' },
          { minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' },
        ).then(() => undefined),
    )(),
  )

  const weakSuites: [string, string, ConnectionOptions][] = [
    ['CBC (ECDHE-ECDSA-AES128-SHA256)', 'ECDHE-ECDSA-AES128-SHA256', {}],
    ['CBC with SHA-1 (ECDHE-RSA-AES128-SHA)', 'ECDHE-RSA-AES128-SHA', {}],
    ['static RSA key exchange (AES128-GCM-SHA256)', 'AES128-GCM-SHA256', {}],
    ['static RSA, CBC (AES256-SHA)', 'AES256-SHA', {}],
    ['finite-field DHE (DHE-RSA-AES256-GCM-SHA384)', 'DHE-RSA-AES256-GCM-SHA384', {}],
    ['CCM (ECDHE-ECDSA-AES128-CCM)', 'ECDHE-ECDSA-AES128-CCM', {}],
    ['Camellia CBC (ECDHE-ECDSA-CAMELLIA128-SHA256)', 'ECDHE-ECDSA-CAMELLIA128-SHA256', {}],
    ['ARIA (ECDHE-ARIA128-GCM-SHA256)', 'ECDHE-ARIA128-GCM-SHA256', {}],
    ['NULL encryption (ECDHE-ECDSA-NULL-SHA)', 'ECDHE-ECDSA-NULL-SHA', {}],
    ['3DES (DES-CBC3-SHA)', 'DES-CBC3-SHA', {}],
    ['RC4 (RC4-SHA)', 'RC4-SHA', {}],
  ]
  it.each(weakSuites)('TLS 1.2 offering only %s is refused', async (label, suite, extra) =>
    hardeningCase(
      'tls',
      `weak or non-AEAD suite offered alone: ${label}`,
      'handshake refused, connection closed, tls_no_shared_cipher (or: the client cannot even offer it)',
      async (c) => {
        const tls = { maxVersion: 'TLSv1.2', ciphers: `${suite}@SECLEVEL=0`, ...extra } as ConnectionOptions
        const probe = await rawTls(pki, h.port, { client: pki.clients.good, tls, timeoutMs: 100 })
        if (probe.error === 'ERR_SSL_NO_CIPHER_MATCH' && !probe.secure && probe.elapsedMs === 0) {
          // Node's OpenSSL build has no such suite at all: no client built on it can offer it.
          c.observe(`not offerable: this OpenSSL build (${process.versions.openssl}) has no ${suite}`)
          return
        }
        await expectRefusal(c, h, pki.clients.good, { status: 0, reason: 'tls_no_shared_cipher' }, tls)
      },
    )(),
  )

  it(
    'TLS 1.3 offering only CCM',
    hardeningCase(
      'tls',
      'weak suite offered alone: TLS 1.3 TLS_AES_128_CCM_SHA256',
      'handshake refused, connection closed, tls_no_shared_cipher',
      (c) =>
        expectRefusal(
          c,
          h,
          pki.clients.good,
          { status: 0, reason: 'tls_no_shared_cipher' },
          { minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_CCM_SHA256' },
        ).then(() => undefined),
    ),
  )

  it(
    'client-initiated renegotiation',
    hardeningCase(
      'tls',
      'client-initiated renegotiation (TLS 1.2)',
      'refused with a no_renegotiation alert, no second handshake, nothing forwarded (no reason code: OpenSSL refuses it inside the TLS layer)',
      async (c) => {
        const hostBefore = h.host.received.length
        const outcome = await new Promise<string>((resolve) => {
          const socket = connect({
            ...tlsOptions(pki, pki.clients.good, { maxVersion: 'TLSv1.2' }),
            port: h.port,
          })
          const timer = setTimeout(() => (socket.destroy(), resolve('timed out')), 3000)
          socket.once('secureConnect', () => {
            socket.renegotiate({}, (error) => {
              clearTimeout(timer)
              socket.destroy()
              resolve(
                error
                  ? `refused (${(error as NodeJS.ErrnoException).code ?? error.message})`
                  : 'renegotiated',
              )
            })
          })
          socket.once('error', (error: NodeJS.ErrnoException) => {
            clearTimeout(timer)
            resolve(`refused (${error.code ?? error.message})`)
          })
        })
        c.observe(`${outcome}; host saw ${h.host.received.length - hostBefore}`)
        expect(outcome).toMatch(/^refused/)
        expect(h.host.received.length).toBe(hostBefore)
      },
    ),
  )

  it(
    'stall after a partial ClientHello',
    hardeningCase(
      'tls',
      'client stalls mid-handshake (partial ClientHello, then silence)',
      `closed by the gateway after tls.handshakeTimeoutMs (${HANDSHAKE_TIMEOUT_MS} ms), handshake_timeout`,
      async (c) => {
        const before = await h.counter(REFUSED, { reason: 'handshake_timeout' })
        const logsBefore = h.logs.length
        // A TLS record header and the start of a ClientHello, then nothing.
        const result = await rawTcp(h.port, Buffer.from('1603010200010001fc0303', 'hex'), 5000)
        await new Promise((resolve) => setTimeout(resolve, 20))
        const delta = (await h.counter(REFUSED, { reason: 'handshake_timeout' })) - before
        const line = h.logs.slice(logsBefore).find((l) => l.event === 'connection_refused')
        c.observe(
          `closed by server=${result.closedByServer} after ${Math.round(result.elapsedMs)} ms; log reason=${line?.reason}; metric +${delta}`,
        )
        expect(result.closedByServer).toBe(true)
        expect(result.elapsedMs).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 50)
        expect(result.elapsedMs).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 1500)
        expect(line?.reason).toBe('handshake_timeout')
        expect(delta).toBe(1)
      },
    ),
  )

  it(
    'stall after a complete ClientHello',
    hardeningCase(
      'tls',
      'client stalls mid-handshake (complete ClientHello, never its second flight)',
      `closed by the gateway after tls.handshakeTimeoutMs (${HANDSHAKE_TIMEOUT_MS} ms), handshake_timeout`,
      async (c) => {
        const before = await h.counter(REFUSED, { reason: 'handshake_timeout' })
        const result = await stalledTlsHandshake(pki, h.port, pki.clients.good, 5000)
        await new Promise((resolve) => setTimeout(resolve, 20))
        const delta = (await h.counter(REFUSED, { reason: 'handshake_timeout' })) - before
        c.observe(
          `server answered ${result.serverBytes} handshake bytes, then closed=${result.closedByServer} after ${Math.round(result.elapsedMs)} ms; metric +${delta}`,
        )
        expect(result.serverBytes).toBeGreaterThan(0)
        expect(result.closedByServer).toBe(true)
        expect(result.elapsedMs).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 1500)
        expect(delta).toBe(1)
      },
    ),
  )

  it(
    'plain HTTP to the TLS port',
    hardeningCase(
      'tls',
      'plain HTTP sent to the TLS port',
      'connection closed without an HTTP answer, http_on_tls_port, host sees nothing',
      async (c) => {
        const before = await h.counter(REFUSED, { reason: 'http_on_tls_port' })
        const hostBefore = h.host.received.length
        const logsBefore = h.logs.length
        const result = await rawTcp(h.port, SAMPLE_REQUEST)
        await new Promise((resolve) => setTimeout(resolve, 20))
        const delta = (await h.counter(REFUSED, { reason: 'http_on_tls_port' })) - before
        const line = h.logs.slice(logsBefore).find((l) => l.event === 'connection_refused')
        c.observe(
          `${result.data ? `answered ${JSON.stringify(result.data.slice(0, 40))}` : 'closed without an answer'}; log reason=${line?.reason}; metric +${delta}; host saw ${h.host.received.length - hostBefore}`,
        )
        expect(result.data).toBe('')
        expect(result.closedByServer).toBe(true)
        expect(line?.reason).toBe('http_on_tls_port')
        expect(delta).toBe(1)
        expect(h.host.received.length).toBe(hostBefore)
      },
    ),
  )
})

describe('SNI: one identity, SNI ignored', () => {
  const names: [string, string | undefined][] = [
    ['the served name', 'localhost'],
    ['a name the gateway does not serve', 'evil.example'],
    ['no SNI at all', undefined],
  ]

  // The client does not check the name (it asked for one the gateway does not serve): the test
  // looks at what the server does with it. An empty servername sends no SNI extension.
  const sniOptions = (servername: string | undefined): ConnectionOptions => ({
    servername: servername ?? '',
    checkServerIdentity: () => undefined,
  })

  async function serverCertWith(servername: string | undefined) {
    const result = await rawTls(pki, h.port, {
      tls: sniOptions(servername),
      timeoutMs: 500,
    })
    return result.serverCertificate
  }

  it(
    'same certificate and same enforcement for any SNI',
    hardeningCase(
      'tls',
      'SNI the gateway does not serve, and no SNI',
      'the same server certificate for every SNI and none; the same client-certificate checks (no cert 400, wrong CA 403, valid 200)',
      async (c) => {
        const fingerprints = new Set<string | undefined>()
        const outcomes: string[] = []
        for (const [label, servername] of names) {
          fingerprints.add(await serverCertWith(servername))
          const tls = sniOptions(servername)
          for (const [who, client] of [
            ['none', undefined],
            ['otherCa', pki.clients.otherCa],
            ['good', pki.clients.good],
          ] as const) {
            const result = await rawTls(pki, h.port, { client, request: SAMPLE_REQUEST, tls, answers: 1 })
            const [answer] = parseResponses(result.data)
            outcomes.push(
              `${label}/${who}=${answer?.status ?? 'closed'}${answer && answer.status !== 200 ? `:${bodyReason(answer)}` : ''}`,
            )
          }
        }
        c.observe(`${fingerprints.size} distinct server certificate(s); ${outcomes.join(', ')}`)
        expect(fingerprints.size).toBe(1)
        expect([...fingerprints][0]).toBeDefined()
        for (const [label] of names) {
          expect(outcomes).toContain(`${label}/none=400:no_client_cert`)
          expect(outcomes).toContain(`${label}/otherCa=403:untrusted_issuer`)
          expect(outcomes).toContain(`${label}/good=200`)
        }
      },
    ),
  )
})

function createHashB64(der: Buffer): string {
  return createHash('sha256').update(der).digest('base64')
}
