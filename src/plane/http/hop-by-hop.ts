/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded, in
 * either direction, together with any header the Connection header names. Pure.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
])

/** Header names the Connection header lists as hop-by-hop for this message. */
export function connectionTokens(connection: string | string[] | undefined): Set<string> {
  const tokens = new Set<string>()
  if (!connection) return tokens
  for (const value of Array.isArray(connection) ? connection : [connection]) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase()
      if (name) tokens.add(name)
    }
  }
  return tokens
}

export function isHopByHop(name: string, listed: ReadonlySet<string>): boolean {
  return HOP_BY_HOP.has(name) || listed.has(name)
}
