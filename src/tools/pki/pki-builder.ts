/**
 * The one builder of every PKI the project makes: the dev PKI (`certs dev`, the demo), the test
 * PKIs, the hardening suite's forged chains and the bench's. A PKI starts at a root and grows by
 * `issue()`, `intermediate()` and `crl()` on the certificates it made:
 *
 *   const pki = new PkiBuilder({ key: { type: 'ec' }, notBefore, notAfter })
 *   const root = pki.root({ subject: [{ type: 'CN', value: 'Root CA' }] })
 *   const issuing = root.intermediate({ subject: [...], ca: { pathLength: 0 } })
 *   const leaf = issuing.issue({ subject: [...], extKeyUsage: ['clientAuth'] })
 *   const crl = issuing.crl({ thisUpdate, nextUpdate, revoked: [{ serial: leaf.serial, date }] })
 *
 * Every certificate holds its private key, so any of them can sign, as an attacker's leaf-as-CA
 * does. The encoding is x509-builder.ts's. Never loaded by `serve`.
 */
import { createPrivateKey, createPublicKey, KeyObject, X509Certificate } from 'node:crypto'
import {
  createCertificate,
  createCrl,
  generateKeyPair,
  type CertificateSpec,
  type CrlSpec,
  type KeySpec,
  type NameAttribute,
} from './x509-builder.ts'

export interface PkiDefaults {
  /** The key of every certificate that asks for none (default EC P-256). */
  key?: KeySpec
  /** The validity of every certificate that names none. */
  notBefore: Date
  notAfter: Date
}

/** What a certificate says; what it leaves out comes from the PKI's defaults. */
export type CertificateOptions = Partial<
  Omit<CertificateSpec, 'subject' | 'publicKey' | 'issuer' | 'selfKey'>
> & {
  subject: NameAttribute[]
  /**
   * A key to generate, or an existing key to certify: a private key (the certificate can sign
   * and be used by a client) or a public key alone (the certificate is only read).
   */
  key?: KeySpec | KeyObject
  /** Sign with this key instead of the issuer's: a forgery in the issuer's name. */
  signingKey?: KeyObject
}

/** A CRL of this certificate's key; `signingKey` signs in its name with another key. */
export type CrlOptions = Omit<CrlSpec, 'issuer'> & { signingKey?: KeyObject }

const CA: Pick<CertificateOptions, 'ca' | 'keyUsage'> = { ca: {}, keyUsage: ['keyCertSign', 'cRLSign'] }

export class PkiBuilder {
  readonly defaults: PkiDefaults

  constructor(defaults: PkiDefaults) {
    this.defaults = defaults
  }

  /** A self-signed CA (keyCertSign and cRLSign unless `options` say otherwise). */
  root(options: CertificateOptions): Issued {
    return this.selfSigned({ ...CA, ...options })
  }

  /** A self-signed certificate of any kind (signed by `signingKey` when given). */
  selfSigned(options: CertificateOptions): Issued {
    const { key, signingKey, ...spec } = options
    const pair = keyPair(key ?? this.defaults.key)
    const made = createCertificate({
      notBefore: this.defaults.notBefore,
      notAfter: this.defaults.notAfter,
      ...spec,
      publicKey: pair.publicKey,
      selfKey: signingKey ?? pair.privateKey ?? noPrivateKey(),
    })
    return new Issued(made.der, made.pem, pair, this)
  }

  /** A certificate and its key made elsewhere (PEM or DER; a PEM or KeyObject key). */
  load(cert: string | Buffer, key: string | Buffer | KeyObject): Issued {
    const x509 = new X509Certificate(cert)
    const privateKey = key instanceof KeyObject ? key : createPrivateKey(key)
    return new Issued(x509.raw, x509.toString(), { privateKey, publicKey: x509.publicKey }, this)
  }
}

export class Issued {
  readonly der: Buffer
  readonly pem: string
  readonly cert: X509Certificate
  readonly publicKey: KeyObject
  readonly #privateKey: KeyObject | undefined
  readonly #pki: PkiBuilder

  constructor(
    der: Buffer,
    pem: string,
    pair: { privateKey: KeyObject | undefined; publicKey: KeyObject },
    pki: PkiBuilder,
  ) {
    this.der = der
    this.pem = pem
    this.cert = new X509Certificate(der)
    this.publicKey = pair.publicKey
    this.#privateKey = pair.privateKey
    this.#pki = pki
  }

  /** The private key of the certified public key. */
  get key(): KeyObject {
    return this.#privateKey ?? noPrivateKey()
  }

  /** PKCS#8 PEM of the private key, as the gateway and OpenSSL read it. */
  get keyPem(): string {
    return this.key.export({ type: 'pkcs8', format: 'pem' }) as string
  }

  /** The serial number's bytes (as a CRL names it). */
  get serial(): Buffer {
    return Buffer.from(this.cert.serialNumber, 'hex')
  }

  /** A certificate signed by this one's key (an end entity unless `options.ca` says otherwise). */
  issue(options: CertificateOptions): Issued {
    const { key, signingKey, ...spec } = options
    const pair = keyPair(key ?? this.#pki.defaults.key)
    const made = createCertificate({
      notBefore: this.#pki.defaults.notBefore,
      notAfter: this.#pki.defaults.notAfter,
      ...spec,
      publicKey: pair.publicKey,
      issuer: { certDer: this.der, key: signingKey ?? this.key },
    })
    return new Issued(made.der, made.pem, pair, this.#pki)
  }

  /** A CA under this one (keyCertSign and cRLSign unless `options` say otherwise). */
  intermediate(options: CertificateOptions): Issued {
    return this.issue({ ...CA, ...options })
  }

  crl(options: CrlOptions): { der: Buffer; pem: string } {
    const { signingKey, ...spec } = options
    return createCrl({ ...spec, issuer: { certDer: this.der, key: signingKey ?? this.key } })
  }
}

function keyPair(key: KeySpec | KeyObject | undefined): {
  privateKey: KeyObject | undefined
  publicKey: KeyObject
} {
  if (key instanceof KeyObject) {
    return key.type === 'private'
      ? { privateKey: key, publicKey: createPublicKey(key) }
      : { privateKey: undefined, publicKey: key }
  }
  return generateKeyPair(key ?? { type: 'ec', curve: 'P-256' })
}

function noPrivateKey(): never {
  throw new Error('this certificate was made for a public key alone: it has no private key')
}
