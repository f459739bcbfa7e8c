/**
 * The client certificate, normalised once per distinct certificate into one typed object:
 * multi-valued subject attributes are lists, SANs are parsed by type, hashes are computed.
 * Pure: reads a node:crypto X509Certificate, touches no socket.
 *
 * Node prints names and SANs as strings; both formats carry escaping (RFC 4514-style escapes in
 * names, JSON-quoted SAN values since CVE-2021-44532), so they are tokenised here, never split
 * on ", ".
 */
import { createHash, type X509Certificate } from 'node:crypto'
import { normaliseSerial } from '../tls/crl.ts'

export interface NameAttributes {
  cn: string[]
  o: string[]
  ou: string[]
  /** Every attribute in order, including ones without a dedicated list. */
  all: { type: string; value: string }[]
}

export interface SubjectAltNames {
  dns: string[]
  uri: string[]
  email: string[]
  ip: string[]
}

export interface PeerIdentity {
  subject: NameAttributes
  /** Subject as one RFC 4514-style line, most significant RDN last as OpenSSL prints it. */
  subjectText: string
  issuerText: string
  san: SubjectAltNames
  /** Upper-case hex, no leading zeros. */
  serial: string
  /** SHA-256 of the DER certificate, lower-case hex without colons. */
  certSha256: string
  /** SHA-256 of the DER SubjectPublicKeyInfo, base64 (the HPKP/Envoy pin format). */
  spkiSha256: string
  notBefore: number
  notAfter: number
  /** Extended key usage OIDs; undefined when the certificate has no EKU extension. */
  extKeyUsage: readonly string[] | undefined
}

export const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2'

export function toPeerIdentity(cert: X509Certificate): PeerIdentity {
  const subject = parseDistinguishedName(cert.subject)
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' })
  return {
    subject,
    subjectText: subject.all.map((a) => `${a.type}=${escapeRfc4514(a.value)}`).join(','),
    issuerText: parseDistinguishedName(cert.issuer)
      .all.map((a) => `${a.type}=${escapeRfc4514(a.value)}`)
      .join(','),
    san: parseSubjectAltNames(cert.subjectAltName),
    serial: normaliseSerial(cert.serialNumber),
    certSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
    notBefore: cert.validFromDate.getTime(),
    notAfter: cert.validToDate.getTime(),
    extKeyUsage: cert.keyUsage,
  }
}

/**
 * Parses node:crypto's multi-line name ("CN=a\nOU=x\nOU=y"): one attribute per line, values
 * escaped with `\c` for special characters and `\XX` hex for control bytes.
 */
export function parseDistinguishedName(text: string | undefined): NameAttributes {
  const result: NameAttributes = { cn: [], o: [], ou: [], all: [] }
  if (!text) return result
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const type = line.slice(0, eq)
    const value = unescapeDnValue(line.slice(eq + 1))
    result.all.push({ type, value })
    if (type === 'CN') result.cn.push(value)
    else if (type === 'O') result.o.push(value)
    else if (type === 'OU') result.ou.push(value)
  }
  return result
}

function unescapeDnValue(raw: string): string {
  if (!raw.includes('\\')) return raw
  const bytes: number[] = []
  const input = Buffer.from(raw, 'utf8')
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!
    if (byte !== 0x5c /* \ */ || i + 1 >= input.length) {
      bytes.push(byte)
      continue
    }
    const hex = input.subarray(i + 1, i + 3).toString('latin1')
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16))
      i += 2
    } else {
      bytes.push(input[i + 1]!)
      i += 1
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

function escapeRfc4514(value: string): string {
  return value.replace(/[\\,+"<>;=]/g, '\\$&').replace(/^[ #]|[ ]$/g, '\\$&')
}

const SAN_KEYS: Record<string, keyof SubjectAltNames> = {
  DNS: 'dns',
  URI: 'uri',
  email: 'email',
  'IP Address': 'ip',
}

/**
 * Parses node:crypto's subjectAltName: `TYPE:value` entries separated by ", ", where a value is
 * a JSON string literal when it could otherwise be ambiguous.
 */
export function parseSubjectAltNames(text: string | undefined): SubjectAltNames {
  const result: SubjectAltNames = { dns: [], uri: [], email: [], ip: [] }
  if (!text) return result
  let i = 0
  while (i < text.length) {
    const colon = text.indexOf(':', i)
    if (colon < 0) break
    const type = text.slice(i, colon)
    let value: string
    let next: number
    if (text[colon + 1] === '"') {
      const end = endOfJsonString(text, colon + 1)
      value = JSON.parse(text.slice(colon + 1, end)) as string
      next = end
    } else {
      const sep = text.indexOf(', ', colon + 1)
      next = sep < 0 ? text.length : sep
      value = text.slice(colon + 1, next)
    }
    const key = SAN_KEYS[type]
    if (key) result[key].push(key === 'ip' ? value.toLowerCase() : value)
    i = next + 2 // skip ", "
  }
  return result
}

function endOfJsonString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++
    else if (text[i] === '"') return i + 1
  }
  return text.length
}
