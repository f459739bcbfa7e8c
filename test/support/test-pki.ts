/**
 * The test PKI, generated at test start (never committed): a Thredd-like client CA chain, a
 * server chain, and one client certificate per scenario the gateway must refuse or admit.
 * EC P-256 keys keep generation fast; one RSA leaf covers the RSA path.
 */
import { createHash, X509Certificate } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PkiBuilder, type CertificateOptions, type Issued } from '../../src/tools/pki/pki-builder.ts'
import { generateKeyPair, type KeySpec, type NameAttribute } from '../../src/tools/pki/x509-builder.ts'

const DAY = 86_400_000

/** The Thredd transport certificate's subject in the tests: two OUs, as Thredd's has. */
export const THREDD_LEAF_SUBJECT: NameAttribute[] = [
  { type: 'O', value: 'Thredd Test' },
  { type: 'OU', value: 'EHI' },
  { type: 'OU', value: 'Transport' },
  { type: 'CN', value: 'thredd-ehi-transport' },
]

/** A Thredd transport (client) certificate; the test and attack PKIs vary it one field at a time. */
export const THREDD_CLIENT: CertificateOptions = {
  subject: THREDD_LEAF_SUBJECT,
  keyUsage: ['digitalSignature'],
  extKeyUsage: ['clientAuth'],
  san: { uri: ['spiffe://thredd.test/ehi'], dns: ['ehi.thredd.test'] },
}

/** The test PKI's builder: EC P-256 keys (unless `key` says otherwise), valid from a day before `now` for 30 days. */
export function testPkiBuilder(now = Date.now(), key: KeySpec = { type: 'ec' }): PkiBuilder {
  return new PkiBuilder({ key, notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) })
}

/** The test PKI's Issuing CA, with its key, from the PKI's files (to mint more certificates and CRLs). */
export function issuingCa(pki: TestPki, now = Date.now()): Issued {
  return testPkiBuilder(now).load(
    readFileSync(pki.files['thredd-issuing-ca.pem']!),
    readFileSync(pki.files['thredd-issuing-ca.key']!),
  )
}

export interface TestPki {
  dir: string
  /** Absolute file paths by name. */
  files: Record<string, string>
  /** Client identities: name -> { cert, key } file paths. */
  clients: Record<ClientName, { cert: string; key: string }>
  /** SPKI pins (base64 SHA-256) and certificate fingerprints (hex) by client name. */
  spki: Record<ClientName, string>
}

export const CLIENT_NAMES = [
  'good',
  'goodRsa',
  'expired',
  'notYetValid',
  'serverAuthOnly',
  'noEku',
  'revoked',
  'otherCa',
  'selfSigned',
  'fakeIssuer',
  'sameNameNewKey',
  'twoCns',
] as const
export type ClientName = (typeof CLIENT_NAMES)[number]

export function buildTestPki(dir: string, now = Date.now()): TestPki {
  mkdirSync(dir, { recursive: true })
  const files: Record<string, string> = {}
  const write = (name: string, text: string) => {
    const file = join(dir, name)
    writeFileSync(file, text, { mode: 0o600 })
    files[name] = file
    return file
  }
  const pki = testPkiBuilder(now)

  const org = { type: 'O', value: 'Thredd Test' } as const
  const root = pki.root({ subject: [org, { type: 'CN', value: 'Test Thredd Root CA' }] })
  const issuing = root.intermediate({
    subject: [org, { type: 'CN', value: 'Test Thredd Issuing CA' }],
    ca: { pathLength: 0 },
  })
  const otherRoot = pki.root({
    subject: [
      { type: 'O', value: 'Elsewhere' },
      { type: 'CN', value: 'Other Root CA' },
    ],
  })
  write('thredd-root-ca.pem', root.pem)
  write('thredd-issuing-ca.pem', issuing.pem)
  // CA keys stay in the temporary folder; tests use them to mint CRLs with a chosen window.
  write('thredd-issuing-ca.key', issuing.keyPem)
  write('other-root-ca.pem', otherRoot.pem)

  const clients = {} as TestPki['clients']
  const spki = {} as TestPki['spki']
  const client = (name: ClientName, cert: Issued) => {
    clients[name] = {
      cert: write(`client-${name}.pem`, cert.pem),
      key: write(`client-${name}.key`, cert.keyPem),
    }
    spki[name] = createHashB64(cert.publicKey.export({ type: 'spki', format: 'der' }))
    return cert
  }

  const good = client('good', issuing.issue(THREDD_CLIENT))
  client(
    'goodRsa',
    issuing.issue({
      ...THREDD_CLIENT,
      key: { type: 'rsa', bits: 2048 },
      keyUsage: ['digitalSignature', 'keyEncipherment'],
    }),
  )
  client(
    'expired',
    issuing.issue({ ...THREDD_CLIENT, notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) }),
  )
  client(
    'notYetValid',
    issuing.issue({ ...THREDD_CLIENT, notBefore: new Date(now + DAY), notAfter: new Date(now + 10 * DAY) }),
  )
  client('serverAuthOnly', issuing.issue({ ...THREDD_CLIENT, extKeyUsage: ['serverAuth'] }))
  client('noEku', issuing.issue({ ...THREDD_CLIENT, extKeyUsage: [] }))
  const revoked = client('revoked', issuing.issue(THREDD_CLIENT))
  client('otherCa', otherRoot.issue(THREDD_CLIENT))
  // Self-signed, copying the real leaf's subject (an attacker's first try).
  client('selfSigned', pki.selfSigned(THREDD_CLIENT))
  // In the real Issuing CA's name, signed by another key (an impostor CA's).
  client(
    'fakeIssuer',
    issuing.issue({ ...THREDD_CLIENT, signingKey: generateKeyPair({ type: 'ec' }).privateKey }),
  )
  // Same subject as `good`, new key: what a pin must catch after a key change.
  client('sameNameNewKey', issuing.issue(THREDD_CLIENT))
  // A second CN before the real one: a CN allow-list must not pass it on the listed one alone.
  client(
    'twoCns',
    issuing.issue({
      ...THREDD_CLIENT,
      subject: [
        ...THREDD_LEAF_SUBJECT.slice(0, -1),
        { type: 'CN', value: 'evil' },
        THREDD_LEAF_SUBJECT[THREDD_LEAF_SUBJECT.length - 1]!,
      ],
    }),
  )

  // CRLs: current ones, and an expired issuing CRL for the crl_expired case.
  const current = { thisUpdate: new Date(now - DAY), nextUpdate: new Date(now + 7 * DAY) }
  const revokedEntry = { serial: revoked.serial, date: new Date(now - 3_600_000) }
  write('thredd-root-ca.crl.pem', root.crl(current).pem)
  write('thredd-issuing-ca.crl.pem', issuing.crl({ ...current, revoked: [revokedEntry] }).pem)
  write(
    'thredd-issuing-ca.expired.crl.pem',
    issuing.crl({ thisUpdate: new Date(now - 3 * DAY), nextUpdate: new Date(now - DAY), crlNumber: 2 }).pem,
  )
  // A CRL that revokes `good`, for revocation-after-session tests.
  write(
    'thredd-issuing-ca.revokes-good.crl.pem',
    issuing.crl({
      ...current,
      revoked: [revokedEntry, { serial: good.serial, date: new Date(now - 60_000) }],
      crlNumber: 3,
    }).pem,
  )

  // Server chain: root -> intermediate -> leaf for localhost / 127.0.0.1.
  const serverRoot = pki.root({ subject: [{ type: 'CN', value: 'Test Server Root CA' }] })
  const serverIssuing = serverRoot.intermediate({
    subject: [{ type: 'CN', value: 'Test Server Issuing CA' }],
    ca: { pathLength: 0 },
  })
  const localhost: CertificateOptions = {
    subject: [{ type: 'CN', value: 'localhost' }],
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['serverAuth'],
    san: { dns: ['localhost'], ip: ['127.0.0.1', '::1'] },
  }
  const serverLeaf = serverIssuing.issue(localhost)
  const serverRsaLeaf = serverIssuing.issue({
    ...localhost,
    key: { type: 'rsa', bits: 2048 },
    keyUsage: ['digitalSignature', 'keyEncipherment'],
  })
  write('server-rsa-chain.pem', serverRsaLeaf.pem + serverIssuing.pem)
  write('server-rsa.key', serverRsaLeaf.keyPem)
  const expiredServer = serverIssuing.issue({
    subject: localhost.subject,
    key: serverLeaf.key,
    notBefore: new Date(now - 10 * DAY),
    notAfter: new Date(now - DAY),
    extKeyUsage: ['serverAuth'],
  })
  write('server-expired-chain.pem', expiredServer.pem + serverIssuing.pem)
  write('server-wrong-order.pem', serverIssuing.pem + serverLeaf.pem)
  write('server-root-ca.pem', serverRoot.pem)
  write('server-chain.pem', serverLeaf.pem + serverIssuing.pem)
  write('server-leaf-only.pem', serverLeaf.pem)
  write('server.key', serverLeaf.keyPem)
  const strayKey = generateKeyPair({ type: 'ec' })
  write('unrelated.key', strayKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)

  return { dir, files, clients, spki }
}

function createHashB64(der: Buffer): string {
  return createHash('sha256').update(der).digest('base64')
}

function readSerial(file: string): Buffer {
  return Buffer.from(new X509Certificate(readFileSync(file)).serialNumber, 'hex')
}

/**
 * Mints a CRL of the test Issuing CA with the given window, written next to the PKI. Its CRL
 * number defaults to the current Unix second (so a later mint is newer); null leaves it out.
 */
export function mintIssuingCrl(
  pki: TestPki,
  name: string,
  window: { thisUpdate: Date; nextUpdate: Date; revokedCerts?: string[]; crlNumber?: number | bigint | null },
): string {
  const crl = issuingCa(pki).crl({
    thisUpdate: window.thisUpdate,
    nextUpdate: window.nextUpdate,
    revoked: (window.revokedCerts ?? []).map((file) => ({
      serial: readSerial(file),
      date: window.thisUpdate,
    })),
    crlNumber: window.crlNumber === undefined ? Math.floor(Date.now() / 1000) : window.crlNumber,
  })
  const file = join(pki.dir, name)
  writeFileSync(file, crl.pem)
  return file
}

/** Issues one more client certificate from the test Issuing CA (a chosen validity window), next to the PKI. */
export function mintClient(
  pki: TestPki,
  name: string,
  window: { notBefore: Date; notAfter: Date },
): { cert: string; key: string } {
  const cert = issuingCa(pki).issue({
    subject: [
      { type: 'O', value: 'Thredd Test' },
      { type: 'CN', value: 'thredd-ehi-transport' },
    ],
    ...window,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  })
  const files = { cert: join(pki.dir, `${name}.pem`), key: join(pki.dir, `${name}.key`) }
  writeFileSync(files.cert, cert.pem)
  writeFileSync(files.key, cert.keyPem, { mode: 0o600 })
  return files
}
