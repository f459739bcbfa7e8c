/**
 * The verified client identity as request headers for the internal host, built once per
 * distinct certificate. The host can trust them because no inbound header of these names ever
 * reaches it: only an allowlist of request headers is forwarded (upstream/host-request-headers.ts).
 */
import type { X509Certificate } from 'node:crypto'
import type { TrustStore } from '../../runtime/tls-material.ts'
import { buildChain } from './certificate-status.ts'
import type { PeerIdentity } from './peer-identity.ts'

export const XFCC_HEADER = 'x-forwarded-client-cert'
/** RFC 9440 (https://www.rfc-editor.org/rfc/rfc9440): the client certificate and its chain. */
export const CLIENT_CERT_HEADER = 'client-cert'
export const CLIENT_CERT_CHAIN_HEADER = 'client-cert-chain'
/** Every header the gateway sets towards the host starts with this prefix (or is XFCC). */
export const GATEWAY_HEADER_PREFIX = 'x-ehi-'

/**
 * Envoy-style XFCC (`Hash=...;Subject="...";URI=...;DNS=...`) plus `SPKI`, the base64 SHA-256
 * pin of the public key, and dedicated headers for serial and notAfter.
 */
export function toIdentityHeaders(peer: PeerIdentity): Readonly<Record<string, string>> {
  const parts = [`Hash=${peer.certSha256}`, `Subject=${quote(peer.subjectText)}`, `SPKI=${peer.spkiSha256}`]
  for (const uri of peer.san.uri) parts.push(`URI=${quote(uri)}`)
  for (const dns of peer.san.dns) parts.push(`DNS=${quote(dns)}`)
  return Object.freeze({
    [XFCC_HEADER]: parts.join(';'),
    'x-ehi-client-verified': 'SUCCESS',
    'x-ehi-client-serial': peer.serial,
    'x-ehi-client-not-after': new Date(peer.notAfter).toISOString(),
    'x-ehi-client-spki-sha256': peer.spkiSha256,
  })
}

/** XFCC values are quoted, with `"` and `\` escaped; header-unsafe characters are percent-encoded. */
function quote(value: string): string {
  // eslint-disable-next-line no-control-regex
  const safe = value.replace(/[\u0000-\u001f\u007f-\uffff]/g, (c) => encodeURIComponent(c))
  return `"${safe.replace(/["\\]/g, '\\$&')}"`
}

/**
 * RFC 9440 headers for an allowed client, made on first use and then kept: the evaluator holds
 * one per distinct certificate, and nothing is encoded while upstream.clientCertHeaders is off.
 * Client-Cert is the leaf's DER; Client-Cert-Chain the CA certificates of the path the gateway
 * validated, issuer first up to the trust anchor, taken from the trust store (not what the client
 * sent). Each certificate is an RFC 8941 byte sequence, `:base64:`.
 */
export function clientCertHeadersOnce(
  leaf: X509Certificate,
  trust: TrustStore,
): () => Readonly<Record<string, string>> {
  let headers: Readonly<Record<string, string>> | undefined
  return () =>
    (headers ??= toClientCertHeaders(
      leaf.raw,
      (buildChain(leaf, trust) ?? []).map((ca) => ca.cert.raw),
    ))
}

export function toClientCertHeaders(
  leafDer: Buffer,
  chainDer: readonly Buffer[],
): Readonly<Record<string, string>> {
  const headers: Record<string, string> = { [CLIENT_CERT_HEADER]: byteSequence(leafDer) }
  if (chainDer.length > 0) headers[CLIENT_CERT_CHAIN_HEADER] = chainDer.map(byteSequence).join(', ')
  return Object.freeze(headers)
}

/** RFC 8941 §3.3.5: base64 with padding between colons. */
function byteSequence(der: Buffer): string {
  return `:${der.toString('base64')}:`
}
