/**
 * The fair Node peer: the mTLS proxy a user would write in an afternoon, a process of its own
 * (`node bench/lib/plain-node-proxy.ts '<PlainProxySpec JSON>'`, pinned to CPU 0 like nginx).
 * `node:https` with the client certificate required and verified against the Thredd CA bundle and
 * the CRLs, the TLS 1.2/1.3 suites and groups nginx gets, each request piped to the bench host
 * with `node:http.request` over a keep-alive agent, status and headers copied back. No checks
 * beyond the handshake, no EHI parsing, no logging. Prints one JSON line with its port.
 */
import { readFileSync } from 'node:fs'
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { DEFAULT_TLS12_CIPHERS, DEFAULT_TLS13_CIPHERSUITES } from '../../src/config/config-schema.ts'
import { runBenchServer } from './processes.ts'

export interface PlainProxySpec {
  certFile: string
  keyFile: string
  caBundle: string
  crlBundle: string
  upstreamPort: number
  /** Keep-alive sockets to the host (nginx's upstream `keepalive`, the gateway's connections). */
  maxSockets: number
}

/** Each `-----BEGIN ...-----` … `-----END ...-----` block of a PEM bundle. */
export function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g) ?? []
}

export async function startPlainProxy(spec: PlainProxySpec): Promise<{ port: number; close(): void }> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.maxSockets })
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = request(
      {
        host: '127.0.0.1',
        port: spec.upstreamPort,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, connection: 'keep-alive' },
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end()
      else res.destroy()
    })
    req.pipe(upstream)
  }
  const server = createServer(
    {
      cert: readFileSync(spec.certFile),
      key: readFileSync(spec.keyFile),
      ca: readFileSync(spec.caBundle),
      // Node reads one CRL per PEM string: the bundle goes in as one string per CRL.
      crl: pemBlocks(readFileSync(spec.crlBundle, 'utf8')),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      // nginx's ssl_ciphers + Ciphersuites and ssl_ecdh_curve (bench/lib/nginx.ts).
      ciphers: `${DEFAULT_TLS13_CIPHERSUITES}:${DEFAULT_TLS12_CIPHERS}`,
      ecdhCurve: 'X25519:P-256:P-384',
      honorCipherOrder: true,
      keepAliveTimeout: 5000,
    },
    handler,
  )
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
  return {
    port,
    close() {
      server.closeAllConnections()
      server.close()
      agent.destroy()
    },
  }
}

if (import.meta.main) runBenchServer('plain Node proxy', startPlainProxy, (proxy) => ({ port: proxy.port }))
