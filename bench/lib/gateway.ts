/**
 * ehi-gateway as the bench runs it: built by the checkout's `npm run build` (scripts/build.ts)
 * and started as the container image starts it (`node <the image's options> dist/src/cli/main.js
 * serve --config FILE`, the image's environment), with a JSON config
 * written for the run (the bench PKI, CRL checking on, loopback allowlist, the bench host as the
 * internal host, `log.level: info` as in production, the admin server on a free port), stdout
 * and stderr to a log file. Ready when the admin server's /readyz answers 200.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchPki } from './pki.ts'
import { imageLaunch, parseDockerfile } from '../../test/support/dockerfile.ts'
import { runToEnd } from './processes.ts'

/** How the bench starts the gateway: as the container image does. */
export interface GatewayLaunch {
  /** `dist/src/cli/main.js` of the checkout, built by buildGateway. */
  entry: string
  /** Node's options from the image's ENTRYPOINT (`node <options> /app/dist/src/cli/main.js`). */
  nodeOptions: string[]
  /** The image's ENV settings, except the EHI_GATEWAY_* ones (the bench's config file says those). */
  env: Record<string, string>
}

/**
 * Builds the checkout's gateway as `npm run build` does (its scripts/build.ts; a checkout from
 * before that script is compiled with this checkout's TypeScript, as its build was then), and
 * reads from its docker/Dockerfile how the image starts it (Node's options, environment). A
 * deployment runs the compiled JavaScript with those settings; running `src/cli/main.ts` instead
 * adds Node's type stripping to the gateway's memory (about 27 MiB of RSS on this machine) and
 * leaves out the image's heap and allocator settings, which the memory figures depend on.
 */
export async function buildGateway(gatewayRoot: string, repoRoot: string): Promise<GatewayLaunch> {
  const script = join(gatewayRoot, 'scripts/build.ts')
  const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc')
  const { code, stdout, stderr } = await runToEnd(
    process.execPath,
    existsSync(script) ? [script] : [tsc, '-p', join(gatewayRoot, 'tsconfig.build.json')],
    180_000,
  )
  if (code !== 0)
    throw new Error(`building the gateway failed (${code}): ${(stdout + stderr).trim().slice(0, 2000)}`)
  const image = imageLaunch(parseDockerfile(readFileSync(join(gatewayRoot, 'docker/Dockerfile'), 'utf8')))
  const entry = join(gatewayRoot, image.script.replace(/^\/app\//, ''))
  if (!existsSync(entry)) throw new Error(`the build made no ${entry} (the image's ENTRYPOINT script)`)
  const env = Object.fromEntries(Object.entries(image.env).filter(([key]) => !key.startsWith('EHI_GATEWAY_')))
  return { entry, nodeOptions: image.nodeOptions, env }
}

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
