/**
 * The host's answer headers as they go back to Thredd: unchanged except hop-by-hop headers and
 * Content-Length, which the gateway sets itself from the body it buffered (never chunked). Pure.
 */
import { connectionTokens, isHopByHop } from './hop-by-hop.ts'

export function toClientResponseHeaders(
  hostHeaders: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const listed = connectionTokens(hostHeaders.connection)
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(hostHeaders)) {
    if (value === undefined || name === 'content-length' || isHopByHop(name, listed)) continue
    out[name] = value
  }
  return out
}
