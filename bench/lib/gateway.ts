/**
 * ehi-gateway as the bench runs it: `node src/cli/main.ts serve --config FILE` with a JSON config
 * written for the run (the bench PKI, CRL checking on, loopback allowlist, the bench host as the
 * internal host, `log.level: info` as in production, the admin server on a free port), stdout
 * and stderr to a log file. Ready when the admin server's /readyz answers 200.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchPki } from './pki.ts'

export interface GatewayConfigInput {
  port: number
  adminPort: number
  upstreamPort: number
  workers: number
  pki: Pick<
    BenchPki,
    'serverChain' | 'serverKey' | 'threddRootCa' | 'threddIssuingCa' | 'threddRootCrl' | 'threddIssuingCrl'
  >
  /** Keep-alive connections to the host (nginx's upstream `keepalive` gets the same number). */
  upstreamConnections: number
  /** The message ledger (`ledger` of the config): a SQLite file or a PostgreSQL database. */
  ledger?: { url: string; passwordFile?: string }
}

/** The gateway's configuration for one bench target. Pure. */
export function gatewayConfig(input: GatewayConfigInput): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: input.port },
    tls: {
      serverCertificates: [{ cert: input.pki.serverChain, key: input.pki.serverKey }],
      clientCa: [input.pki.threddRootCa, input.pki.threddIssuingCa],
      crl: { enabled: true, files: [input.pki.threddRootCrl, input.pki.threddIssuingCrl] },
    },
    clientAuth: { rejectMode: 'http' },
    network: { allowlist: ['127.0.0.0/8'] },
    upstream: { url: `http://127.0.0.1:${input.upstreamPort}/ehi`, connections: input.upstreamConnections },
    ehi: { defaultMode: 1 },
    workers: input.workers,
    admin: { host: '127.0.0.1', port: input.adminPort },
    log: { level: 'info', pretty: false },
    ...(input.ledger ? { ledger: input.ledger } : {}),
  }
}

export function writeGatewayConfig(dir: string, name: string, input: GatewayConfigInput): string {
  const folder = join(dir, name)
  mkdirSync(folder, { recursive: true })
  const file = join(folder, 'config.json')
  writeFileSync(file, `${JSON.stringify(gatewayConfig(input), null, 2)}\n`)
  return file
}

export async function gatewayReady(adminPort: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(1000) })
  await response.arrayBuffer()
  return response.status === 200
}
