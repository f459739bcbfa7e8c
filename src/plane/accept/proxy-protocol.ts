/**
 * PROXY protocol headers, v1 (text) and v2 (binary), as HAProxy's specification defines them
 * (doc/proxy-protocol.txt). A load balancer that does not preserve the client's address sends
 * one in front of the connection's first byte, so the gateway can apply its allowlist, per-IP
 * limits and logs to Thredd's real address. Pure: bytes in, a decision out.
 *
 * Strict, because a header is a claim about who the client is:
 *   - the connection must start with a header (v1 `PROXY ` or the v2 signature); anything else,
 *     a TLS ClientHello included, is refused at the first byte that cannot be one;
 *   - v1: `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` with single spaces, addresses of the
 *     stated family, ports 0-65535 without leading zeros, at most 107 bytes; or `PROXY UNKNOWN...`;
 *   - v2: version 2, command LOCAL or PROXY; PROXY must carry TCP over IPv4 or IPv6 (UDP, unix
 *     sockets and an unspecified family are refused); TLVs after the addresses are skipped;
 *     the whole header is bounded (`maxBytes`);
 *   - LOCAL (v2) and UNKNOWN (v1) carry no client address (a load balancer's own health check):
 *     the connection's own addresses stay in force.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { compileIpAllowlist, type IpAllowlist } from './ip-allowlist.ts'
import type { ConfigIssue } from '../../config/config-issues.ts'

/** The 12 bytes that open every v2 header. */
export const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
])
const V1_PREFIX = Buffer.from('PROXY ', 'latin1')
/** Longest v1 header, CRLF included (the specification's bound). */
export const V1_MAX_BYTES = 107
/** Default bound of a whole v2 header: 16 fixed bytes, the addresses and room for TLVs. */
export const V2_MAX_BYTES = 16 + 2048

export interface ProxyEndpoint {
  address: string
  port: number
}

export type ProxyHeader =
  | {
      version: 1 | 2
      command: 'proxy'
      family: 'tcp4' | 'tcp6'
      source: ProxyEndpoint
      destination: ProxyEndpoint
    }
  /** v2 LOCAL or v1 UNKNOWN: no client address; the connection's own addresses apply. */
  | { version: 1 | 2; command: 'local' }

export type ProxyParse =
  /** Every byte so far can start a header; read more (the caller bounds the wait). */
  | { state: 'incomplete' }
  /** `length` bytes form the header; what follows belongs to the client (the TLS handshake). */
  | { state: 'done'; header: ProxyHeader; length: number }
  | { state: 'invalid'; problem: string }

export interface ProxyParseOptions {
  /** Largest v2 header accepted, in bytes (16 fixed bytes included). */
  maxV2Bytes?: number
}

const INCOMPLETE: ProxyParse = { state: 'incomplete' }

/** Parses the header at the start of `data`, which holds every byte received so far. */
export function parseProxyHeader(data: Uint8Array, options: ProxyParseOptions = {}): ProxyParse {
  if (data.length === 0) return INCOMPLETE
  if (startsWithPrefixOf(data, V2_SIGNATURE)) {
    return data.length < V2_SIGNATURE.length ? INCOMPLETE : parseV2(data, options.maxV2Bytes ?? V2_MAX_BYTES)
  }
  if (startsWithPrefixOf(data, V1_PREFIX)) {
    return data.length < V1_PREFIX.length ? INCOMPLETE : parseV1(data)
  }
  return invalid(`no PROXY header: the connection starts with ${describeFirstByte(data[0]!)}`)
}

/** True when `data` and `prefix` agree on their common length. */
function startsWithPrefixOf(data: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(data.length, prefix.length)
  for (let i = 0; i < n; i++) if (data[i] !== prefix[i]) return false
  return true
}

function describeFirstByte(byte: number): string {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`
  if (byte === 0x16) return `${hex} (a TLS handshake)`
  if (byte >= 0x41 && byte <= 0x5a) return `${hex} (text, not "PROXY ")`
  return hex
}

// ---- v1 ------------------------------------------------------------------------------------

const PORT = /^(?:0|[1-9][0-9]{0,4})$/

function parseV1(data: Uint8Array): ProxyParse {
  const limit = Math.min(data.length, V1_MAX_BYTES)
  let end = -1
  for (let i = 0; i < limit; i++) {
    const byte = data[i]!
    if (byte === 0x0d) {
      if (i + 2 > V1_MAX_BYTES) return invalid('v1 header longer than 107 bytes')
      if (i + 1 >= data.length) return INCOMPLETE
      if (data[i + 1] !== 0x0a) return invalid('v1 header has a CR without LF')
      end = i
      break
    }
    if (byte < 0x20 || byte > 0x7e)
      return invalid(`v1 header holds a non-printable byte 0x${byte.toString(16)}`)
  }
  if (end < 0) return data.length >= V1_MAX_BYTES ? invalid('v1 header longer than 107 bytes') : INCOMPLETE
  const line = Buffer.from(data.subarray(0, end)).toString('latin1')
  const length = end + 2
  const fields = line.split(' ')
  if (fields[1] === 'UNKNOWN') return { state: 'done', header: { version: 1, command: 'local' }, length }
  if (fields.length !== 6) return invalid(`v1 header has ${fields.length} fields, not 6`)
  const [, protocol, source, destination, sourcePort, destinationPort] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ]
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return invalid('v1 protocol is not TCP4, TCP6 or UNKNOWN')
  const isFamily = protocol === 'TCP4' ? isIPv4 : isIPv6
  // isIPv6 accepts a zone ("%eth0"); a header has no business carrying one.
  const validAddress = (a: string) => isFamily(a) && !a.includes('%')
  if (!validAddress(source) || !validAddress(destination))
    return invalid(`v1 addresses are not ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} addresses`)
  const ports = [sourcePort, destinationPort].map((p) => (PORT.test(p) ? Number(p) : -1))
  if (ports.some((p) => p < 0 || p > 65535)) return invalid('v1 ports are not numbers from 0 to 65535')
  return {
    state: 'done',
    header: {
      version: 1,
      command: 'proxy',
      family: protocol === 'TCP4' ? 'tcp4' : 'tcp6',
      source: { address: source.toLowerCase(), port: ports[0]! },
      destination: { address: destination.toLowerCase(), port: ports[1]! },
    },
    length,
  }
}

// ---- v2 ------------------------------------------------------------------------------------

const V2_FIXED = 16
const AF_INET_STREAM = 0x11
const AF_INET6_STREAM = 0x21

function parseV2(data: Uint8Array, maxBytes: number): ProxyParse {
  if (data.length < 13) return INCOMPLETE
  const versionCommand = data[12]!
  if (versionCommand >> 4 !== 2) return invalid(`v2 header has version ${versionCommand >> 4}, not 2`)
  const command = versionCommand & 0x0f
  if (command !== 0 && command !== 1) return invalid(`v2 header has an unknown command ${command}`)
  if (data.length < V2_FIXED) return INCOMPLETE
  const familyProtocol = data[13]!
  const length = V2_FIXED + ((data[14]! << 8) | data[15]!)
  if (length > maxBytes) return invalid(`v2 header of ${length} bytes is over the ${maxBytes}-byte limit`)

  // The address family is known before the whole header is in: refuse early what cannot pass.
  let addressBytes = 0
  if (command === 1) {
    if (familyProtocol === AF_INET_STREAM) addressBytes = 12
    else if (familyProtocol === AF_INET6_STREAM) addressBytes = 36
    else return invalid(`v2 PROXY command with ${describeFamily(familyProtocol)}, not TCP over IPv4 or IPv6`)
    if (length < V2_FIXED + addressBytes) return invalid('v2 header is shorter than its addresses')
  }
  if (data.length < length) return INCOMPLETE
  if (command === 0) return { state: 'done', header: { version: 2, command: 'local' }, length }

  const body = data.subarray(V2_FIXED)
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const header: ProxyHeader =
    familyProtocol === AF_INET_STREAM
      ? {
          version: 2,
          command: 'proxy',
          family: 'tcp4',
          source: { address: ipv4(body.subarray(0, 4)), port: view.getUint16(8) },
          destination: { address: ipv4(body.subarray(4, 8)), port: view.getUint16(10) },
        }
      : {
          version: 2,
          command: 'proxy',
          family: 'tcp6',
          source: { address: ipv6(body.subarray(0, 16)), port: view.getUint16(32) },
          destination: { address: ipv6(body.subarray(16, 32)), port: view.getUint16(34) },
        }
  // Bytes past the addresses are TLVs (ALPN, authority, CRC32c, unique id, SSL, cloud ids):
  // skipped, they decide nothing here.
  return { state: 'done', header, length }
}

function describeFamily(familyProtocol: number): string {
  const family = ['an unspecified family', 'IPv4', 'IPv6', 'a unix socket'][familyProtocol >> 4]
  const protocol = ['an unspecified protocol', 'TCP', 'UDP'][familyProtocol & 0x0f]
  return family && protocol ? `${family} and ${protocol}` : `family/protocol 0x${familyProtocol.toString(16)}`
}

function ipv4(bytes: Uint8Array): string {
  return Array.from(bytes).join('.')
}

/** RFC 5952 text form; IPv4-mapped addresses as ::ffff:a.b.c.d, as Node reports them. */
export function ipv6(bytes: Uint8Array): string {
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff)
    return `::ffff:${ipv4(bytes.subarray(12))}`
  // The longest run of two or more zero groups becomes "::" (the first one on a tie).
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

function invalid(problem: string): ProxyParse {
  return { state: 'invalid', problem }
}

// ---- configuration -------------------------------------------------------------------------

export interface ProxyProtocolSettings {
  enabled: boolean
  trustedCidrs: readonly string[]
  headerTimeoutMs: number
}

/**
 * The trusted load balancers as a matcher, with the configuration's problems. An empty list
 * never means "anyone": with PROXY protocol on it is a configuration error.
 */
export function compileProxyProtocol(settings: ProxyProtocolSettings): {
  trusted: IpAllowlist
  issues: ConfigIssue[]
} {
  const path = 'proxyProtocol.trustedCidrs'
  if (settings.trustedCidrs.length === 0) {
    const issues: ConfigIssue[] = settings.enabled
      ? [
          {
            path,
            message:
              'must list the load balancers that send PROXY headers when proxyProtocol.enabled is true (no address is trusted by default)',
          },
        ]
      : []
    return { trusted: () => false, issues }
  }
  const compiled = compileIpAllowlist(settings.trustedCidrs, path)
  return { trusted: compiled.allow, issues: compiled.issues }
}
