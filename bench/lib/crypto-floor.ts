/**
 * The crypto floor of one full mTLS handshake, server side, on this machine: the public-key work
 * no terminator can avoid, timed with node:crypto (OpenSSL underneath), medians of many
 * iterations: one signature with the server key (RSA-PSS SHA-256 as TLS 1.3 uses, or ECDSA
 * P-256), the verification of the client chain (the transport certificate by the Issuing CA, the
 * Issuing CA by the Root), the verification of the client's CertificateVerify, and one X25519
 * key generation and derivation. Symmetric crypto, hashing, CRL lookups and everything else a
 * handshake does are left out: the rest of a terminator's CPU per handshake is overhead.
 * A process of its own (`node bench/lib/crypto-floor.ts '<spec JSON>'`, pinned to the target's core).
 */
import {
  constants,
  createPrivateKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto'
import { readFileSync } from 'node:fs'
import { median } from './stats.ts'
import type { CryptoFloor, KeyType } from './types.ts'

export interface CryptoFloorInput {
  keyType: KeyType
  serverKey: string
  clientCert: string
  clientKey: string
  issuingCa: string
  rootCa: string
}

function timeUs(fn: () => void, iterations: number): number {
  for (let i = 0; i < Math.min(20, iterations); i++) fn()
  const samples: number[] = []
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint()
    fn()
    samples.push(Number(process.hrtime.bigint() - start) / 1000)
  }
  return Math.round(median(samples) * 10) / 10
}

export function measureCryptoFloor(input: CryptoFloorInput, iterations: number): CryptoFloor {
  const rsa = input.keyType === 'rsa'
  const serverKey = createPrivateKey(readFileSync(input.serverKey))
  const clientKey = createPrivateKey(readFileSync(input.clientKey))
  const client = new X509Certificate(readFileSync(input.clientCert))
  const issuing = new X509Certificate(readFileSync(input.issuingCa))
  const root = new X509Certificate(readFileSync(input.rootCa))
  // TLS 1.3 signs 64 spaces + context + transcript hash: about 130 bytes.
  const toSign = randomBytes(130)
  const keyFor = (key: KeyObject) =>
    rsa
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : { key, dsaEncoding: 'der' as const }
  const clientSignature = sign('sha256', toSign, keyFor(clientKey))
  const clientPublic = client.publicKey
  const issuingPublic = issuing.publicKey
  const rootPublic = root.publicKey
  const peer = generateKeyPairSync('x25519').publicKey

  const serverSignUs = timeUs(() => void sign('sha256', toSign, keyFor(serverKey)), iterations)
  const clientChainVerifyUs = timeUs(() => {
    if (!client.verify(issuingPublic) || !issuing.verify(rootPublic)) throw new Error('chain does not verify')
  }, iterations)
  const certificateVerifyUs = timeUs(() => {
    if (!verify('sha256', toSign, keyFor(clientPublic), clientSignature))
      throw new Error('signature does not verify')
  }, iterations)
  const ecdheX25519Us = timeUs(() => {
    const mine = generateKeyPairSync('x25519')
    diffieHellman({ privateKey: mine.privateKey, publicKey: peer })
  }, iterations)
  return {
    keyType: input.keyType,
    iterations,
    serverSignUs,
    clientChainVerifyUs,
    certificateVerifyUs,
    ecdheX25519Us,
    totalUs: Math.round((serverSignUs + clientChainVerifyUs + certificateVerifyUs + ecdheX25519Us) * 10) / 10,
  }
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as { inputs: CryptoFloorInput[]; iterations: number }
  const results = spec.inputs.map((input) => measureCryptoFloor(input, spec.iterations))
  process.stdout.write(`${JSON.stringify(results)}\n`)
}
