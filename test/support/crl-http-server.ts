/**
 * A CRL distribution point a test can misbehave with: node:http on 127.0.0.1:0, one handler per
 * path, replaceable mid-test (good, slow, 404, garbage, huge...). Records every request path.
 * close() ends every open connection, so a stalled response never outlives its test.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Handler = (req: IncomingMessage, res: ServerResponse) => void

export interface CrlHttpServer {
  port: number
  url(path: string): string
  /** Sets what a path answers (replaces the previous handler). */
  route(path: string, handler: Handler): void
  /** Paths requested, in order. */
  requests: string[]
  close(): Promise<void>
}

export async function startCrlHttpServer(): Promise<CrlHttpServer> {
  const routes = new Map<string, Handler>()
  const requests: string[] = []
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '')
    const handler = routes.get(req.url ?? '')
    if (handler) handler(req, res)
    else res.writeHead(404).end('not found')
  })
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    route: (path, handler) => void routes.set(path, handler),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Answers 200 with these bytes (DER by default, as CAs serve CRLs). */
export function serve(body: Buffer | string, contentType = 'application/pkix-crl'): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }
}
