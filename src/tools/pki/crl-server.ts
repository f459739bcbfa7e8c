/**
 * A static CRL distribution point for the demo and tests: serves CRL files over plain HTTP the
 * way a CA does (DER, application/pkix-crl), so tls.crl.fetch can be seen working without
 * Thredd's network. Each file is read again on every request, so a renewed dev CRL is served at
 * once. Never for production: a real CA publishes its own CRLs.
 */
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { crlDer } from '../../control/crl-refresh.ts'
import { DEV_PKI_FILES } from './dev-pki.ts'

/**
 * The dev PKI's CRLs (certs/dev/), at the paths its transport certificate's CRL Distribution
 * Point names (http://crl.ehi-gateway.invalid/dev/thredd-issuing.crl). For the demo:
 * `startCrlServer({ files: devCrlFiles(certs), port })`, then tls.crl.fetch.urls lists
 * `url('/dev/thredd-issuing.crl')` and `url('/dev/thredd-root.crl')`.
 */
export function devCrlFiles(certsDir: string): Record<string, string> {
  return {
    '/dev/thredd-issuing.crl': join(certsDir, DEV_PKI_FILES.threddIssuingCrl),
    '/dev/thredd-root.crl': join(certsDir, DEV_PKI_FILES.threddRootCrl),
  }
}

export interface CrlServer {
  /** http://host:port */
  readonly origin: string
  readonly port: number
  /** The URL of a served path, for tls.crl.fetch.urls. */
  url(path: string): string
  close(): Promise<void>
}

/** `files`: URL path (for example /dev/thredd-issuing.crl) -> PEM or DER CRL file. */
export async function startCrlServer(options: {
  files: Record<string, string>
  host?: string
  port?: number
}): Promise<CrlServer> {
  const server: Server = createServer((req, res) => {
    const file = Object.hasOwn(options.files, req.url ?? '') ? options.files[req.url!] : undefined
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !file) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405).end()
      return
    }
    readFile(file).then(
      (bytes) => {
        const der = crlDer(bytes)
        if (!der) {
          res.writeHead(500).end()
          return
        }
        res.writeHead(200, {
          'content-type': 'application/pkix-crl',
          'content-length': der.length,
          'cache-control': 'no-cache',
        })
        res.end(req.method === 'HEAD' ? undefined : der)
      },
      () => res.writeHead(404).end(),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 }, () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const origin = `http://${host}:${address.port}`
  return {
    origin,
    port: address.port,
    url: (path) => `${origin}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
