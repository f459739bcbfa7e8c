/**
 * The headers the internal host receives. Inbound headers pass through except hop-by-hop ones
 * and every header the gateway itself vouches for: identity (XFCC, x-ehi-*), forwarding and
 * request-id headers are stripped from the inbound request and set by the gateway, so the host
 * can trust them. Pure.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { GATEWAY_HEADER_PREFIX, XFCC_HEADER } from '../identity/identity-headers.ts'
import { connectionTokens, isHopByHop } from '../reply/hop-by-hop.ts'

/** Inbound headers the gateway replaces (or drops) instead of passing on. */
const GATEWAY_OWNED = new Set([
  'host',
  'content-length',
  // undici refuses `expect`; the gateway has already read the whole body anyway.
  'expect',
  XFCC_HEADER,
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'forwarded',
  'x-real-ip',
  'x-request-id',
  'traceparent',
])

export interface ForwardContext {
  requestId: string
  traceparent: string
  clientAddress: string
}

export function toHostRequestHeaders(
  inbound: IncomingHttpHeaders,
  identityHeaders: Readonly<Record<string, string>>,
  context: ForwardContext,
): Record<string, string> {
  const listed = connectionTokens(inbound.connection)
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(inbound)) {
    if (value === undefined || GATEWAY_OWNED.has(name) || name.startsWith(GATEWAY_HEADER_PREFIX)) continue
    if (isHopByHop(name, listed)) continue
    out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  Object.assign(out, identityHeaders)
  out['x-forwarded-for'] = context.clientAddress
  out['x-forwarded-proto'] = 'https'
  out['x-request-id'] = context.requestId
  out.traceparent = context.traceparent
  return out
}
