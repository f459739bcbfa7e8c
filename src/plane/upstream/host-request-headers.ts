/**
 * The headers the internal host receives, by allowlist. From the client only what an EHI
 * message needs end to end (content-type, soapaction, Thredd's x-thredd-signature, a valid
 * tracestate) and the names the operator lists in upstream.forwardHeaders; everything else the
 * gateway sets itself: the verified identity (XFCC, x-ehi-client-*, and RFC 9440 Client-Cert /
 * Client-Cert-Chain when configured), x-forwarded-for/proto, x-request-id, traceparent, and the
 * x-ehi-* routing hints the route adds. So nothing another terminator or proxy would vouch for
 * (x-client-cert, x-ssl-client-*, true-client-ip, authorization, cookie, ...) reaches a host that
 * may once have trusted it. Pure.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { ConfigIssue } from '../../config/config-issues.ts'
import type { GatewayConfig } from '../../config/config-schema.ts'
import {
  CLIENT_CERT_CHAIN_HEADER,
  CLIENT_CERT_HEADER,
  GATEWAY_HEADER_PREFIX,
  XFCC_HEADER,
} from '../identity/identity-headers.ts'
import type { AllowedPeer } from '../identity/peer-evaluator.ts'
import { connectionTokens, isHopByHop } from '../http/hop-by-hop.ts'
import { tracestateFor } from './trace-context.ts'

/**
 * What every EHI message may carry end to end. A Connection header cannot remove them: the host
 * must read the body under the Content-Type the gateway checked it with, and Thredd's SOAPAction
 * and message signature belong to the message, not to the connection.
 */
const MESSAGE_HEADERS = ['content-type', 'soapaction', 'x-thredd-signature'] as const

/** Set by the gateway or its HTTP client; a client's copy is never passed on. */
const GATEWAY_SET = new Set([
  'host',
  'content-length',
  'expect',
  XFCC_HEADER,
  CLIENT_CERT_HEADER,
  CLIENT_CERT_CHAIN_HEADER,
  'forwarded',
  'x-request-id',
  'traceparent',
  'tracestate',
])
const GATEWAY_SET_PREFIXES = [GATEWAY_HEADER_PREFIX, 'x-forwarded-']

/**
 * A client identity or address that a TLS terminator, CDN or auth proxy asserts to the host behind
 * it. A client's copy is never forwarded, and upstream.forwardHeaders may not list one: a host
 * that once sat behind such a proxy may still believe it.
 */
const IDENTITY_ASSERTIONS = new Set([
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'x-original-forwarded-for',
  'cf-connecting-ip',
  'cf-connecting-ipv6',
  'fastly-client-ip',
  'x-azure-clientip',
  'x-appengine-user-ip',
  'x-client-verify',
  'x-client-dn',
  'x-client-s-dn',
  'x-client-i-dn',
  'x-arr-clientcert',
  'x-remote-user',
  'remote-user',
  'x-authenticated-user',
  'x-webauth-user',
])
const IDENTITY_PREFIXES = [
  'x-client-cert',
  'x-ssl-',
  'ssl-',
  'x-tls-client-',
  'x-envoy-',
  'x-amzn-mtls-',
  'cf-client-cert',
  'x-auth-request-',
  'x-goog-authenticated-user-',
  'x-ms-client-principal',
]

/** RFC 9110 §5.1 field names are tokens. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/

/** The per-configuration choices: compiled once, read by every request. */
export interface HostHeaderPolicy {
  /** Lower-case names from upstream.forwardHeaders, beyond the message headers. */
  readonly extra: readonly string[]
  /** Send RFC 9440 Client-Cert and Client-Cert-Chain (upstream.clientCertHeaders). */
  readonly clientCert: boolean
}

export const DEFAULT_HOST_HEADER_POLICY: HostHeaderPolicy = Object.freeze({ extra: [], clientCert: false })

type UpstreamConfig = Pick<GatewayConfig['upstream'], 'forwardHeaders' | 'clientCertHeaders'>

/** Validates upstream.forwardHeaders: each entry a header name the gateway may pass on. */
export function compileHostHeaderPolicy(upstream: UpstreamConfig): {
  policy: HostHeaderPolicy
  issues: ConfigIssue[]
} {
  const issues: ConfigIssue[] = []
  const extra = new Set<string>()
  upstream.forwardHeaders.forEach((entry, index) => {
    const name = entry.trim().toLowerCase()
    const refusal = refusalOf(name)
    if (refusal)
      issues.push({
        path: `upstream.forwardHeaders[${index}]`,
        message: `${JSON.stringify(entry)} ${refusal}`,
      })
    else if (!(MESSAGE_HEADERS as readonly string[]).includes(name)) extra.add(name)
  })
  return {
    policy: Object.freeze({ extra: Object.freeze([...extra]), clientCert: upstream.clientCertHeaders }),
    issues,
  }
}

function refusalOf(name: string): string | undefined {
  if (!TOKEN.test(name)) return "is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)"
  if (isHopByHop(name, new Set()))
    return 'is a hop-by-hop header: it belongs to the client connection and is never forwarded'
  if (GATEWAY_SET.has(name) || GATEWAY_SET_PREFIXES.some((prefix) => name.startsWith(prefix)))
    return 'is set by the gateway itself; a client copy is never forwarded'
  if (IDENTITY_ASSERTIONS.has(name) || IDENTITY_PREFIXES.some((prefix) => name.startsWith(prefix)))
    return 'carries a client identity or address that only a proxy in front of the host may assert; forwarding the client copy would let the client claim one'
  return undefined
}

export interface ForwardContext {
  requestId: string
  /** The traceparent the host gets: the client's when valid, otherwise a new one. */
  traceparent: string
  clientAddress: string
}

export function toHostRequestHeaders(
  inbound: IncomingHttpHeaders,
  peer: Pick<AllowedPeer, 'headers' | 'clientCertHeaders'>,
  context: ForwardContext,
  policy: HostHeaderPolicy = DEFAULT_HOST_HEADER_POLICY,
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of MESSAGE_HEADERS) {
    const value = inbound[name]
    if (value !== undefined) out[name] = joined(value)
  }
  if (policy.extra.length > 0) {
    const listed = connectionTokens(inbound.connection)
    for (const name of policy.extra) {
      // Own properties only: a listed name like `constructor` must not read the prototype.
      const value = Object.hasOwn(inbound, name) ? inbound[name] : undefined
      if (value !== undefined && !listed.has(name)) out[name] = joined(value)
    }
  }
  // A tracestate belongs to the client's trace: it goes only where that trace continues.
  if (inbound.tracestate !== undefined && continuesClientTrace(inbound.traceparent, context.traceparent)) {
    const tracestate = tracestateFor(inbound.tracestate)
    if (tracestate) out.tracestate = tracestate
  }
  Object.assign(out, peer.headers)
  if (policy.clientCert) Object.assign(out, peer.clientCertHeaders())
  out['x-forwarded-for'] = context.clientAddress
  out['x-forwarded-proto'] = 'https'
  out['x-request-id'] = context.requestId
  out.traceparent = context.traceparent
  return out
}

function continuesClientTrace(inbound: string | string[] | undefined, sent: string): boolean {
  const value = Array.isArray(inbound) ? inbound[0] : inbound
  return value?.trim() === sent
}

function joined(value: string | string[]): string {
  return Array.isArray(value) ? value.join(', ') : value
}
