/**
 * The TLS policy on the wire: TLS 1.2 and 1.3 only, ECDHE with AEAD only, RSA and ECDSA server
 * certificates served at once, client-initiated renegotiation refused.
 */
import { readFileSync } from 'node:fs'
import { connect, type ConnectionOptions } from 'node:tls'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki, {
    tls: {
      serverCertificates: [
        { cert: pki.files['server-chain.pem'], key: pki.files['server.key'] },
        { cert: pki.files['server-rsa-chain.pem'], key: pki.files['server-rsa.key'] },
      ],
    },
  })
})
afterAll(() => h.close())

interface Handshake {
  ok: boolean
  protocol?: string | null
  cipher?: string
  keyType?: string | undefined
  error?: string
}

function handshake(options: ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port: h.port,
      servername: 'localhost',
      ca: readFileSync(pki.files['server-root-ca.pem']!),
      cert: readFileSync(pki.clients.good.cert),
      key: readFileSync(pki.clients.good.key),
      ...options,
    })
    socket.once('secureConnect', () => {
      const result = {
        ok: true,
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        keyType: socket.getPeerX509Certificate()?.publicKey.asymmetricKeyType,
      }
      socket.destroy()
      resolve(result)
    })
    // on, not once: a refused renegotiation or handshake can be followed by a reset.
    socket.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ ok: false, error: error.code ?? error.message }),
    )
  })
}

describe('TLS policy', () => {
  it.each([
    ['ECDHE-ECDSA-AES128-GCM-SHA256', true],
    ['ECDHE-ECDSA-CHACHA20-POLY1305', true],
    ['ECDHE-RSA-AES256-GCM-SHA384', true],
    ['ECDHE-ECDSA-AES128-SHA256', false], // CBC
    ['ECDHE-RSA-AES128-SHA', false], // CBC, SHA-1
    ['AES128-GCM-SHA256', false], // static RSA key exchange: no forward secrecy
    ['DHE-RSA-AES128-GCM-SHA256', false], // finite-field DH
  ])('TLS 1.2 with %s is accepted: %s', async (cipher, accepted) => {
    const result = await handshake({ maxVersion: 'TLSv1.2', ciphers: cipher })
    expect(result.ok).toBe(accepted)
    if (accepted) expect(result.cipher).toBe(cipher)
  })

  it('refuses TLS 1.1', async () => {
    const result = await handshake({
      minVersion: 'TLSv1.1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    })
    expect(result.ok).toBe(false)
  })

  it('prefers TLS 1.3', async () => {
    expect((await handshake({})).protocol).toBe('TLSv1.3')
  })

  it('serves the ECDSA certificate to a client that signs with ECDSA only', async () => {
    expect((await handshake({ sigalgs: 'ecdsa_secp256r1_sha256' })).keyType).toBe('ec')
  })

  it('serves the RSA certificate to a client that signs with RSA only', async () => {
    expect((await handshake({ sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' })).keyType).toBe('rsa')
  })

  // A client that can verify both gets ECDSA, whatever its order (the server's preference): its
  // signature costs the server about a tenth of an RSA-2048 one (the bench's crypto floor).
  it.each(['TLSv1.3', 'TLSv1.2'] as const)(
    'serves the ECDSA certificate to a client that offers RSA first and ECDSA too (%s)',
    async (version) => {
      const result = await handshake({
        maxVersion: version,
        sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256:ecdsa_secp256r1_sha256',
      })
      expect(result.protocol).toBe(version)
      expect(result.keyType).toBe('ec')
    },
  )

  it('refuses client-initiated renegotiation on TLS 1.2', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port: h.port,
        servername: 'localhost',
        maxVersion: 'TLSv1.2',
        ca: readFileSync(pki.files['server-root-ca.pem']!),
        cert: readFileSync(pki.clients.good.cert),
        key: readFileSync(pki.clients.good.key),
      })
      socket.once('secureConnect', () => {
        socket.renegotiate({}, (error) => {
          socket.destroy()
          resolve(error ? 'refused' : 'renegotiated')
        })
      })
      socket.on('error', () => resolve('refused'))
    })
    expect(outcome).toBe('refused')
  })
})
