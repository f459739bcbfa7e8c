/**
 * The admin server: plain HTTP on its own port (never the EHI port), for the orchestrator and
 * Prometheus. /livez (the process serves), /readyz (the gateway can admit Thredd, and reach the
 * host with admin.readinessChecksHost; the body says which check failed), /metrics (Prometheus
 * text format).
 */
import type { AddressInfo } from 'node:net'
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify'
import type { Logger } from '../observability/logger.ts'
import type { Check } from './rules/readiness.ts'

export interface AdminOptions {
  host: string
  port: number
  logger: Logger
  /** May read from the data plane first (the candidate-trust counts), hence a promise. */
  readiness: () => Check[] | Promise<Check[]>
  metrics: () => Promise<{ contentType: string; text: string }>
}

export interface AdminServer {
  port: number
  close(): Promise<void>
}

export async function startAdminServer(options: AdminOptions): Promise<AdminServer> {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'admin' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  })
  app.get('/livez', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ status: 'ok' }),
  )
  app.get('/readyz', async (_request, reply) => {
    const checks = await options.readiness()
    const ready = checks.every((c) => c.ok)
    return reply
      .code(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ ready, checks })
  })
  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await options.metrics()
    return reply.header('content-type', contentType).send(text)
  })
  await app.listen({
    host: options.host,
    port: options.port,
    listenTextResolver: () => 'admin server listening',
  })
  return {
    port: (app.server.address() as AddressInfo).port,
    close: () => app.close(),
  }
}
