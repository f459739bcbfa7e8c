/**
 * `certs csr`: a private key and a PKCS#10 request for the public CA that issues the gateway's
 * server certificate. The common name is also put in the SANs, because clients (and CAs) match
 * on SANs only. Pure: nothing is written here.
 */
import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import { createCsr, generateKeyPair, type KeySpec, type SubjectAltNames } from './x509-builder.ts'

export interface CsrRequest {
  cn: string
  /** DNS names and IP addresses; each is put in the SAN of its type. */
  sans: readonly string[]
  keyType: 'ec' | 'rsa'
}

export interface CsrResult {
  keyPem: string
  csrPem: string
  san: { dns: string[]; ip: string[] }
  keyDescription: string
  /** The SPKI pin of the new key (base64 SHA-256), as for clientAuth.pins.spkiSha256. */
  spkiSha256: string
}

const DNS_NAME =
  /^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i

/** Splits SANs into DNS names and IP addresses; throws on a value that is neither. */
export function sortSans(cn: string, sans: readonly string[]): { dns: string[]; ip: string[] } {
  const dns: string[] = []
  const ip: string[] = []
  for (const raw of [cn, ...sans]) {
    const value = raw.trim().replace(/^(DNS|IP):/i, '')
    if (isIP(value)) {
      if (!ip.includes(value)) ip.push(value)
    } else if (DNS_NAME.test(value)) {
      const lower = value.toLowerCase()
      if (!dns.includes(lower)) dns.push(lower)
    } else {
      throw new Error(`${JSON.stringify(raw)} is neither a DNS name nor an IP address`)
    }
  }
  return { dns, ip }
}

export function buildServerCsr(request: CsrRequest): CsrResult {
  const san = sortSans(request.cn, request.sans)
  const spec: KeySpec =
    request.keyType === 'rsa' ? { type: 'rsa', bits: 2048 } : { type: 'ec', curve: 'P-256' }
  const { privateKey, publicKey } = generateKeyPair(spec)
  const subjectAltNames: SubjectAltNames = {}
  if (san.dns.length) subjectAltNames.dns = san.dns
  if (san.ip.length) subjectAltNames.ip = san.ip
  const csr = createCsr({
    subject: [{ type: 'CN', value: request.cn }],
    key: privateKey,
    publicKey,
    san: subjectAltNames,
  })
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    csrPem: csr.pem,
    san,
    keyDescription: request.keyType === 'rsa' ? 'RSA 2048' : 'EC P-256',
    spkiSha256: createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64'),
  }
}

/** A file name from the common name: "*.ehi.example.com" -> "wildcard.ehi.example.com". */
export function csrFileStem(cn: string): string {
  return (
    cn
      .trim()
      .replace(/^\*\./, 'wildcard.')
      .replace(/[^A-Za-z0-9.-]+/g, '_')
      .replace(/^\.+/, '') || 'server'
  )
}
