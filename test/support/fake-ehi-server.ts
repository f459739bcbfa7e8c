/**
 * A small EHI endpoint built on node:https, correct by default (leaf + intermediate, TLS 1.2 and
 * 1.3 with ECDHE + AEAD suites, Thredd's CAs requested, 400 without a client certificate, 200 and
 * an EHI answer with one, HSTS) so that each test can break exactly one thing and see the checker
 * name it. It is not the gateway: it is a stand-in for a third-party or misconfigured endpoint.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { TestPki } from './test-pki.ts'

export const GATEWAY_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':')

export const EHI_APPROVAL =
  '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetTransactionResponse xmlns="http://tempuri.org/"><GetTransactionResult><Responsestatus>00</Responsestatus><Acknowledgement>1</Acknowledgement></GetTransactionResult></GetTransactionResponse></s:Body></s:Envelope>'

export interface FakeServerOptions {
  /** PEM file the server sends (default: the test PKI's leaf + intermediate). */
  cert?: string
  key?: string
  /** CA files that are trusted and advertised for client certificates (default: Thredd's). */
  clientCa?: string[]
  minVersion?: 'TLSv1.1' | 'TLSv1.2'
  /** OpenSSL cipher string, TLS 1.2 part (default: the gateway's ECDHE + AEAD list). */
  ciphers?: string
  /** false: answers 200 whether or not a valid client certificate was sent. */
  requireClientCert?: boolean
  hsts?: boolean
}

export interface FakeServer {
  port: number
  url: string
  close(): Promise<void>
}

export async function startFakeEhiServer(pki: TestPki, options: FakeServerOptions = {}): Promise<FakeServer> {
  const f = pki.files
  const clientCa = options.clientCa ?? [f['thredd-root-ca.pem']!, f['thredd-issuing-ca.pem']!]
  const server: Server = createServer(
    {
      cert: readFileSync(options.cert ?? f['server-chain.pem']!),
      key: readFileSync(options.key ?? f['server.key']!),
      ca: clientCa.map((file) => readFileSync(file)),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: options.minVersion ?? 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      ciphers: options.ciphers ?? GATEWAY_TLS12_CIPHERS,
      honorCipherOrder: true,
    },
    (req, res) => {
      req.resume()
      req.on('end', () => {
        const socket = req.socket as TLSSocket
        const headers: Record<string, string> = {}
        if (options.hsts !== false) headers['strict-transport-security'] = 'max-age=31536000'
        const requireCert = options.requireClientCert !== false
        if (requireCert && !socket.authorized) {
          const sent = Object.keys(socket.getPeerCertificate()).length > 0
          res.writeHead(sent ? 403 : 400, { ...headers, 'content-type': 'text/plain', connection: 'close' })
          res.end(sent ? 'client certificate refused' : 'No required SSL certificate was sent')
          return
        }
        res.writeHead(200, { ...headers, 'content-type': 'text/xml; charset=utf-8' })
        res.end(EHI_APPROVAL)
      })
    },
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: `https://127.0.0.1:${port}/ehi`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
