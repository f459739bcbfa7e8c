/** The URL `check` is pointed at, split into what the probes need. Pure. */
import { isIP } from 'node:net'

export interface Target {
  url: string
  /** Address to connect to (IPv6 without brackets). */
  host: string
  port: number
  /** Path and query the EHI POSTs go to. */
  path: string
  /** What the server certificate must match (the URL's host). */
  hostname: string
  /** SNI: the host name, never an IP address (RFC 6066). */
  servername: string | undefined
}

export function parseTarget(text: string): Target {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new TargetError(`${JSON.stringify(text)} is not a URL; give https://host[:port]/path`)
  }
  if (url.protocol !== 'https:') throw new TargetError(`${text}: only https:// URLs can be checked`)
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  return {
    url: url.href,
    host,
    port: url.port ? Number(url.port) : 443,
    path: `${url.pathname}${url.search}`,
    hostname: host,
    servername: isIP(host) ? undefined : host,
  }
}

export class TargetError extends Error {
  override name = 'TargetError'
}

/** host:port as openssl and people write it ([::1]:8443 for IPv6). */
export function hostPort(target: Pick<Target, 'host' | 'port'>): string {
  return isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`
}
