/**
 * The test PKI, generated at test start (never committed): a Thredd-like client CA chain, a
 * server chain, and one client certificate per scenario the gateway must refuse or admit.
 * EC P-256 keys keep generation fast; one RSA leaf covers the RSA path.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createCertificate,
  createCrl,
  generateKeyPair,
  randomSerial,
  type CertificateSpec,
  type NameAttribute,
} from '../../src/tools/pki/x509-builder.ts'

const DAY = 86_400_000

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

interface Ca {
  der: Buffer
  pem: string
  key: KeyObject
}

export function buildTestPki(dir: string, now = Date.now()): TestPki {
  mkdirSync(dir, { recursive: true })
  const files: Record<string, string> = {}
  const write = (name: string, text: string) => {
    const file = join(dir, name)
    writeFileSync(file, text, { mode: 0o600 })
    files[name] = file
    return file
  }
  const window = { notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) }
  const keyPem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string

  const makeCa = (subject: NameAttribute[], parent?: Ca, pathLength?: number): Ca => {
    const key = generateKeyPair({ type: 'ec' })
    const spec: CertificateSpec = {
      subject,
      publicKey: key.publicKey,
      ...window,
      ca: pathLength === undefined ? {} : { pathLength },
      keyUsage: ['keyCertSign', 'cRLSign'],
    }
    if (parent) spec.issuer = { certDer: parent.der, key: parent.key }
    else spec.selfKey = key.privateKey
    const cert = createCertificate(spec)
    return { der: cert.der, pem: cert.pem, key: key.privateKey }
  }

  const org = { type: 'O', value: 'Thredd Test' } as const
  const root = makeCa([org, { type: 'CN', value: 'Test Thredd Root CA' }])
  const issuing = makeCa([org, { type: 'CN', value: 'Test Thredd Issuing CA' }], root, 0)
  const otherRoot = makeCa([
    { type: 'O', value: 'Elsewhere' },
    { type: 'CN', value: 'Other Root CA' },
  ])
  write('thredd-root-ca.pem', root.pem)
  write('thredd-issuing-ca.pem', issuing.pem)
  // CA keys stay in the temporary folder; tests use them to mint CRLs with a chosen window.
  write('thredd-issuing-ca.key', keyPem(issuing.key))
  write('other-root-ca.pem', otherRoot.pem)

  const leafSubject: NameAttribute[] = [
    org,
    { type: 'OU', value: 'EHI' },
    { type: 'OU', value: 'Transport' },
    { type: 'CN', value: 'thredd-ehi-transport' },
  ]
  const clients = {} as TestPki['clients']
  const spki = {} as TestPki['spki']
  const issueClient = (
    name: ClientName,
    options: Partial<CertificateSpec> & { signer?: Ca; keyType?: 'rsa' | 'ec' } = {},
  ) => {
    const key = generateKeyPair(options.keyType === 'rsa' ? { type: 'rsa', bits: 2048 } : { type: 'ec' })
    const signer = options.signer ?? issuing
    const spec: CertificateSpec = {
      subject: leafSubject,
      publicKey: key.publicKey,
      ...window,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['clientAuth'],
      san: { uri: ['spiffe://thredd.test/ehi'], dns: ['ehi.thredd.test'] },
      ...options,
    }
    if (!options.selfKey) spec.issuer = { certDer: signer.der, key: signer.key }
    if (options.selfKey) spec.selfKey = key.privateKey
    const cert = createCertificate(spec)
    clients[name] = {
      cert: write(`client-${name}.pem`, cert.pem),
      key: write(`client-${name}.key`, keyPem(key.privateKey)),
    }
    const der = key.publicKey.export({ type: 'spki', format: 'der' })
    spki[name] = createHashB64(der)
    return cert
  }

  issueClient('good')
  issueClient('goodRsa', { keyType: 'rsa', keyUsage: ['digitalSignature', 'keyEncipherment'] })
  issueClient('expired', { notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) })
  issueClient('notYetValid', { notBefore: new Date(now + DAY), notAfter: new Date(now + 10 * DAY) })
  issueClient('serverAuthOnly', { extKeyUsage: ['serverAuth'] })
  issueClient('noEku', { extKeyUsage: [] })
  const revokedSerial = randomSerial()
  issueClient('revoked', { serial: revokedSerial })
  issueClient('otherCa', { signer: otherRoot })
  // Self-signed, copying the real leaf's subject (an attacker's first try).
  issueClient('selfSigned', { selfKey: generateKeyPair({ type: 'ec' }).privateKey })
  // Signed by a CA that copies the real Issuing CA's name, with a different key.
  const impostor = makeCa([org, { type: 'CN', value: 'Test Thredd Issuing CA' }], root, 0)
  const impostorKeyOnly: Ca = { ...issuing, key: impostor.key }
  issueClient('fakeIssuer', { signer: impostorKeyOnly })
  // Same subject as `good`, new key: what a pin must catch after a key change.
  issueClient('sameNameNewKey')
  // A second CN before the real one: a CN allow-list must not pass it on the listed one alone.
  issueClient('twoCns', {
    subject: [
      ...leafSubject.slice(0, -1),
      { type: 'CN', value: 'evil' },
      leafSubject[leafSubject.length - 1]!,
    ],
  })

  // CRLs: current ones, and an expired issuing CRL for the crl_expired case.
  write(
    'thredd-root-ca.crl.pem',
    createCrl({
      issuer: { certDer: root.der, key: root.key },
      thisUpdate: new Date(now - DAY),
      nextUpdate: new Date(now + 7 * DAY),
    }).pem,
  )
  write(
    'thredd-issuing-ca.crl.pem',
    createCrl({
      issuer: { certDer: issuing.der, key: issuing.key },
      thisUpdate: new Date(now - DAY),
      nextUpdate: new Date(now + 7 * DAY),
      revoked: [{ serial: revokedSerial, date: new Date(now - 3_600_000) }],
    }).pem,
  )
  write(
    'thredd-issuing-ca.expired.crl.pem',
    createCrl({
      issuer: { certDer: issuing.der, key: issuing.key },
      thisUpdate: new Date(now - 3 * DAY),
      nextUpdate: new Date(now - DAY),
      crlNumber: 2,
    }).pem,
  )
  // A CRL that revokes `good`, for revocation-after-session tests.
  const goodSerial = readSerial(files['client-good.pem']!)
  write(
    'thredd-issuing-ca.revokes-good.crl.pem',
    createCrl({
      issuer: { certDer: issuing.der, key: issuing.key },
      thisUpdate: new Date(now - DAY),
      nextUpdate: new Date(now + 7 * DAY),
      revoked: [
        { serial: revokedSerial, date: new Date(now - 3_600_000) },
        { serial: goodSerial, date: new Date(now - 60_000) },
      ],
      crlNumber: 3,
    }).pem,
  )

  // Server chain: root -> intermediate -> leaf for localhost / 127.0.0.1.
  const serverRoot = makeCa([{ type: 'CN', value: 'Test Server Root CA' }])
  const serverIssuing = makeCa([{ type: 'CN', value: 'Test Server Issuing CA' }], serverRoot, 0)
  const serverKey = generateKeyPair({ type: 'ec' })
  const serverLeaf = createCertificate({
    subject: [{ type: 'CN', value: 'localhost' }],
    publicKey: serverKey.publicKey,
    issuer: { certDer: serverIssuing.der, key: serverIssuing.key },
    ...window,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['serverAuth'],
    san: { dns: ['localhost'], ip: ['127.0.0.1', '::1'] },
  })
  const serverRsaKey = generateKeyPair({ type: 'rsa', bits: 2048 })
  const serverRsaLeaf = createCertificate({
    subject: [{ type: 'CN', value: 'localhost' }],
    publicKey: serverRsaKey.publicKey,
    issuer: { certDer: serverIssuing.der, key: serverIssuing.key },
    ...window,
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extKeyUsage: ['serverAuth'],
    san: { dns: ['localhost'], ip: ['127.0.0.1', '::1'] },
  })
  write('server-rsa-chain.pem', serverRsaLeaf.pem + serverIssuing.pem)
  write('server-rsa.key', keyPem(serverRsaKey.privateKey))
  const expiredServer = createCertificate({
    subject: [{ type: 'CN', value: 'localhost' }],
    publicKey: serverKey.publicKey,
    issuer: { certDer: serverIssuing.der, key: serverIssuing.key },
    notBefore: new Date(now - 10 * DAY),
    notAfter: new Date(now - DAY),
    extKeyUsage: ['serverAuth'],
  })
  write('server-expired-chain.pem', expiredServer.pem + serverIssuing.pem)
  write('server-wrong-order.pem', serverIssuing.pem + serverLeaf.pem)
  write('server-root-ca.pem', serverRoot.pem)
  write('server-chain.pem', serverLeaf.pem + serverIssuing.pem)
  write('server-leaf-only.pem', serverLeaf.pem)
  write('server.key', keyPem(serverKey.privateKey))
  const strayKey = generateKeyPair({ type: 'ec' })
  write('unrelated.key', keyPem(strayKey.privateKey))

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
  const key = createPrivateKey(readFileSync(pki.files['thredd-issuing-ca.key']!))
  const certDer = new X509Certificate(readFileSync(pki.files['thredd-issuing-ca.pem']!)).raw
  const crl = createCrl({
    issuer: { certDer, key },
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
  const issuerKey = createPrivateKey(readFileSync(pki.files['thredd-issuing-ca.key']!))
  const certDer = new X509Certificate(readFileSync(pki.files['thredd-issuing-ca.pem']!)).raw
  const key = generateKeyPair({ type: 'ec' })
  const cert = createCertificate({
    subject: [
      { type: 'O', value: 'Thredd Test' },
      { type: 'CN', value: 'thredd-ehi-transport' },
    ],
    publicKey: key.publicKey,
    issuer: { certDer, key: issuerKey },
    ...window,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  })
  const files = { cert: join(pki.dir, `${name}.pem`), key: join(pki.dir, `${name}.key`) }
  writeFileSync(files.cert, cert.pem)
  writeFileSync(files.key, key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 })
  return files
}
