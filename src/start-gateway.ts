/**
 * The public entry point used by the CLI and the tests: starts the data plane (and, in demo
 * mode, the embedded reference host) from a compiled runtime, and returns a handle to stop it.
 */
import type { AddressInfo } from 'node:net'
import type { Server as TlsServer } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import type { GateState } from './accept/connection-gate.ts'
import { buildGateway } from './gateway/build-gateway.ts'
import type { Runtime } from './gateway/compile-runtime.ts'
import { createLogger, type Logger } from './observability/logger.ts'
import { createMetrics } from './observability/metrics.ts'
import { startReferenceHost, type ReferenceHost } from './reference-host/reference-host.ts'
import { subjectLine } from './tls/tls-material.ts'
import { createHostClient } from './upstream/host-client.ts'

export interface StartOptions {
  runtime: Runtime
  logger?: Logger
  registry?: Registry
}

export interface RunningGateway {
  /** https://host:port of the EHI listener. */
  readonly origin: string
  readonly port: number
  readonly app: FastifyInstance
  readonly registry: Registry
  readonly logger: Logger
  readonly referenceHost: ReferenceHost | undefined
  /**
   * Swaps in a new compiled runtime for new connections: the TLS context (certificates, trust,
   * CRLs) and the decisions (allowlist, identity policy). Open connections keep theirs.
   */
  applyRuntime(next: Runtime): void
  close(): Promise<void>
}

export async function startGateway(options: StartOptions): Promise<RunningGateway> {
  const { runtime } = options
  const { config } = runtime
  const logger = options.logger ?? createLogger(config.log)
  const registry = options.registry ?? new Registry()
  const metrics = createMetrics(registry)

  // The reference host starts first so the gateway's upstream is there when traffic arrives.
  const referenceHost = config.referenceHost.enabled
    ? await startReferenceHost({ host: config.referenceHost.host, port: config.referenceHost.port })
    : undefined

  const host = createHostClient(config.upstream)
  let state: GateState = runtime.gate
  const app = buildGateway({ runtime, state: () => state, host, logger, metrics })
  try {
    await app.listen({
      host: config.listen.host,
      port: config.listen.port,
      listenTextResolver: () => 'listening',
    })
  } catch (error) {
    await host.close()
    await referenceHost?.close()
    throw error
  }
  const address = app.server.address() as AddressInfo
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address
  logPosture(logger, runtime, address.port)

  return {
    origin: `https://${hostPart}:${address.port}`,
    port: address.port,
    app,
    registry,
    logger,
    referenceHost,
    applyRuntime(next) {
      // Both swaps happen in one tick, so no connection sees the new context with old decisions.
      ;(app.server as unknown as TlsServer).setSecureContext(next.material.secureContextOptions)
      state = next.gate
    },
    async close() {
      await app.close()
      await host.close()
      await referenceHost?.close()
    },
  }
}

/** One startup line with the effective security posture, then one per warning. */
function logPosture(logger: Logger, runtime: Runtime, port: number): void {
  const { config, material } = runtime
  logger.info(
    {
      event: 'started',
      port,
      upstream: config.upstream.url,
      tls: {
        versions: `${config.tls.minVersion}..TLSv1.3`,
        ciphers: material.secureContextOptions.ciphers,
        serverCertificates: material.serverChains.map((c) => ({
          subject: subjectLine(c.leaf),
          keyType: c.keyType,
          notAfter: c.leaf.validToDate.toISOString(),
          chainLength: c.chain.length,
        })),
      },
      clientCas: material.trust.cas.map((ca) => ({
        subject: subjectLine(ca.cert),
        notAfter: ca.cert.validToDate.toISOString(),
      })),
      crl: config.tls.crl.enabled
        ? material.trust.cas.map((ca) => ({
            ca: subjectLine(ca.cert),
            nextUpdate: ca.crls.map((crl) => crl.nextUpdate?.toISOString()),
          }))
        : 'off',
      pins: config.clientAuth.pins.spkiSha256.length + config.clientAuth.pins.certSha256.length,
      allowlist: runtime.allowAllSources ? 'any source' : config.network.allowlist.length,
      rejectMode: config.clientAuth.rejectMode,
      trustHash: material.trustHash,
    },
    'ehi-gateway started',
  )
  for (const warning of runtime.warnings) logger.warn({ event: 'config_warning' }, warning)
}
