/**
 * The verified client identity as request headers for the internal host, built once per
 * distinct certificate. The host can trust them because the gateway strips every inbound
 * header of these names first (see upstream/host-request-headers.ts).
 */
import type { PeerIdentity } from './peer-identity.ts'

export const XFCC_HEADER = 'x-forwarded-client-cert'
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
