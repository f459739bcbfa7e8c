/**
 * The public entry point used by the CLI and the tests: starts the data plane from a compiled
 * runtime, with its control plane (admin server, readiness, reload) unless a cluster primary runs
 * that, and returns a handle to reload, drain and stop it.
 */
import { Server as NetServer, type AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import type { Server as HttpsServer } from 'node:https'
import { collectDefaultMetrics, Registry } from 'prom-client'
import type { LoadOptions } from '../config/load-config.ts'
import { requestVerdict, verdictOf } from '../plane/io/connection-gate.ts'
import { buildGateway } from './listener.ts'
import type { Runtime } from '../runtime/compile-runtime.ts'
import type { LiveState } from '../plane/http/exchange.ts'
import { createLogger, type Logger } from '../observability/logger.ts'
import { createMetrics } from '../observability/metrics.ts'
import {
  startControlPlane,
  type ApplyResult,
  type ControlPlane,
  type ReloadResult,
  type ReloadTrigger,
} from '../control/control-plane.ts'
import type { Check } from '../control/rules/readiness.ts'
import type { CrlFetching } from '../control/crl-fetching.ts'
import { openLedger, type Ledger } from '../ledger/ledger.ts'
import { subjectLine } from '../runtime/tls-material.ts'
import { createOcspChecker } from '../plane/io/ocsp-checker.ts'
import { createHostClient } from '../plane/io/host-client.ts'
import { scheduleTicketKeys, type TicketKeySchedule } from './ticket-key-schedule.ts'
import { sessionTickets } from './session-tickets.ts'

export interface StartOptions {
  runtime: Runtime
  /** Where a reload reads the configuration again (the config file and environment). */
  source?: LoadOptions
  logger?: Logger
  /** Data-plane metrics (and the process metrics when processMetrics). */
  registry?: Registry
  /** Run the control plane in this process (admin server, readiness, reload, file watch). */
  controlPlane?: boolean
  /** Register the default Node.js process metrics (off in tests, which share a process). */
  processMetrics?: boolean
  /** CRL fetching, started before the runtime was compiled (operate/crl-fetching.ts). */
  crls?: CrlFetching | undefined
  /**
   * A cluster worker binds the EHI port itself with SO_REUSEPORT: the kernel spreads new
   * connections over the workers' sockets, instead of the primary accepting each one and handing
   * it over IPC (docs/bench.md, "Both cores").
   */
  reusePort?: boolean
}

export interface RunningGateway {
  /** https://host:port of the EHI listener. */
  readonly origin: string
  readonly port: number
  /** The EHI listener. */
  readonly server: HttpsServer
  readonly registry: Registry
  /** Control-plane metrics (reloads, material, readiness), when this process runs it. */
  readonly controlRegistry: Registry | undefined
  /** The message ledger of this process (a no-op when ledger.url is unset). */
  readonly ledger: Ledger
  readonly logger: Logger
  /** Port of the admin server, when this process runs it. */
  readonly adminPort: number | undefined
  runtime(): Runtime
  readiness(): Check[]
  /** Reloads from the config source: validated as a whole, applied atomically, or refused. */
  reload(trigger?: ReloadTrigger): Promise<ReloadResult>
  /**
   * Swaps in a validated runtime for new connections: the TLS context (certificates, trust,
   * CRLs), the decisions (allowlist, identity policy) and the EHI settings. Open connections
   * keep their TLS session; requests in flight finish with the state they started with.
   */
  applyRuntime(next: Runtime): ApplyResult
  /**
   * Replaces the session-ticket key (48 bytes); a cluster primary shares one key with all workers.
   * keepPrevious (a rotation): the replaced key still reads tickets until the next change.
   */
  setTicketKeys(keys: Buffer, keepPrevious?: boolean): void
  /**
   * Graceful stop: readiness turns false, the listener stops accepting, requests in flight get
   * `timeoutMs` to finish (new requests on open connections are answered 503), then every
   * connection is closed.
   */
  drain(timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

export async function startGateway(options: StartOptions): Promise<RunningGateway> {
  const { runtime } = options
  const { config } = runtime
  const logger = options.logger ?? createLogger(config.log)
  const registry = options.registry ?? new Registry()
  if (options.processMetrics) collectDefaultMetrics({ register: registry })
  const metrics = createMetrics(registry)

  const ocspFor = (next: Runtime) =>
    next.config.tls.ocsp.enabled ? createOcspChecker(next.config.tls.ocsp, { logger, metrics }) : undefined
  let live: LiveState = { runtime, host: createHostClient(config.upstream), ocsp: ocspFor(runtime) }
  let draining = false
  // The ledger opens before the listener: its first attempt to reach the store is bounded and,
  // whatever its outcome, never holds up the start (a ledger that is down catches up later).
  const ledger = await openLedger({ settings: runtime.ledger, logger, metrics })
  const { server, connections, refuse } = buildGateway({
    live: () => live,
    draining: () => draining,
    logger,
    metrics,
    ledger,
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      const own = options.reusePort ? { exclusive: true, reusePort: true } : {}
      server.listen({ host: config.listen.host, port: config.listen.port, ...own }, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    await live.host.close()
    await live.ocsp?.close()
    await ledger.close(0)
    throw error
  }
  // Session tickets: the key is replaced at each rotation boundary (the previous one still reads
  // tickets) and at each reload (ticket-key-schedule.ts; by the primary in cluster mode, so every
  // worker can resume every ticket), and a resumed session gets a new ticket (session-tickets.ts).
  // A worker serves a random key until the primary's arrives. Resumed sessions are re-checked
  // like any other.
  const tickets = sessionTickets(server, randomBytes(48))
  if (!tickets.renewing)
    logger.warn(
      { event: 'config_warning' },
      'this Node.js has no TLS ticket-key hook: resumed sessions get no new ticket, and a rotation ends the sessions of the previous key',
    )
  const setTicketKeys = (keys: Buffer, keepPrevious = false) => tickets.setKey(keys, { keepPrevious })
  const ticketSchedule: TicketKeySchedule | undefined =
    (options.controlPlane ?? true)
      ? scheduleTicketKeys({ runtime: () => live.runtime, install: setTicketKeys })
      : undefined
  const address = server.address() as AddressInfo
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address

  function applyRuntime(next: Runtime): ApplyResult {
    const previous = live
    const upstreamChanged =
      JSON.stringify(previous.runtime.config.upstream) !== JSON.stringify(next.config.upstream)
    const ocspChanged =
      JSON.stringify(previous.runtime.config.tls.ocsp) !== JSON.stringify(next.config.tls.ocsp)
    server.setSecureContext(next.material.secureContextOptions)
    // A new context comes with Node's own random ticket key: ours goes on it.
    tickets.attach()
    // One assignment: a request reads either the old state or the new one, never a mix.
    live = {
      runtime: next,
      host: upstreamChanged ? createHostClient(next.config.upstream) : previous.host,
      // Answers cached under the old settings are dropped with their checker.
      ocsp: ocspChanged ? ocspFor(next) : previous.ocsp,
    }
    logger.level = next.config.log.level
    // Candidate-trust counts are per candidate: a new one (or none) starts from zero.
    if (previous.runtime.candidate?.hash !== next.candidate?.hash) {
      metrics.candidateConnections.reset()
      metrics.candidateDifferences.reset()
      metrics.candidateErrors.reset()
    }
    closeConnectionsRefusedBy(next)
    // Requests already holding the old client finish on it; close() waits for them.
    if (upstreamChanged) void previous.host.close()
    if (ocspChanged) void previous.ocsp?.close()
    return { ok: true, problems: [] }
  }

  /**
   * After a reload, an open connection whose certificate or source address the new trust refuses
   * is closed: at once when idle, after its answer when a request is in flight (that exchange
   * finishes with the trust it started with). Its next request would be refused anyway.
   */
  function closeConnectionsRefusedBy(next: Runtime): void {
    const now = Date.now()
    for (const [socket, state] of connections.open) {
      const verdict = verdictOf(socket)
      if (!verdict?.allow) continue
      const check = requestVerdict(verdict, next.gate, now)
      if (check.allow) continue
      if (state.busy) state.closeAfterAnswer = check.reason
      refuse({
        reason: check.reason,
        peer: { address: verdict.remoteAddress, port: verdict.remotePort },
        // An exchange in flight finishes with the trust it started with; then the answer closes.
        end: state.busy ? 'none' : 'destroy',
        socket,
        details: { detail: check.detail, after: 'reload', closing: state.busy ? 'after its answer' : 'now' },
      })
    }
  }

  let control: ControlPlane | undefined
  const controlRegistry =
    (options.controlPlane ?? true) ? (options.crls?.registry ?? new Registry()) : undefined
  if (controlRegistry) {
    control = await startControlPlane({
      runtime,
      source: options.source,
      logger,
      registry: controlRegistry,
      crls: options.crls,
      ledgerStatuses: () => [ledger.status()],
      dataMetrics: () => registry.metrics(),
      contentType: registry.contentType,
      apply: async (next) => {
        const result = applyRuntime(next)
        // New trust, new ticket key: no ticket from before the reload resumes (a random key is
        // replaced at every reload; a derived one whenever the trust or the secret changed).
        ticketSchedule?.refresh()
        return result
      },
    })
  }
  logPosture(logger, runtime, address.port, control?.adminPort)

  let drained: Promise<void> | undefined
  async function drain(timeoutMs = config.shutdown.drainTimeoutMs): Promise<void> {
    drained ??= (async () => {
      draining = true
      control?.setDraining()
      logger.info(
        { event: 'draining', inFlight: connections.inFlight(), timeoutMs },
        'draining: no new connections, finishing requests in flight',
      )
      // Stop accepting only. http.Server#close() would also close "idle" connections, and a
      // connection whose handshake just finished is idle while its request is on the wire:
      // closing it would drop a request the gateway had accepted.
      const listenerClosed = new Promise<void>((resolve) =>
        NetServer.prototype.close.call(server, () => resolve()),
      )
      const deadline = Date.now() + timeoutMs
      for (;;) {
        // Kept-alive connections between requests are closed; a fresh connection gets its
        // request answered (503 shutting_down, or its result if admitted before) and closes.
        for (const [socket, state] of connections.open) if (!state.busy && state.served > 0) socket.end()
        const pending =
          connections.handshaking.size +
          [...connections.open.values()].filter((state) => state.busy || state.served === 0).length
        if ((connections.inFlight() === 0 && pending === 0) || Date.now() >= deadline) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      if (connections.inFlight() > 0)
        logger.warn(
          { event: 'drain_timeout', inFlight: connections.inFlight() },
          'drain deadline reached: closing connections with requests in flight',
        )
      server.closeAllConnections()
      for (const socket of connections.open.keys()) socket.destroy()
      await listenerClosed
      await live.host.close()
      await live.ocsp?.close()
      // What the answered messages left queued is written (bounded by the drain's time).
      await ledger.close(Math.max(1000, timeoutMs))
      await control?.close()
      ticketSchedule?.stop()
      logger.info({ event: 'stopped' }, 'stopped')
    })()
    return drained
  }

  return {
    origin: `https://${hostPart}:${address.port}`,
    port: address.port,
    server,
    ledger,
    registry,
    controlRegistry,
    logger,
    adminPort: control?.adminPort,
    runtime: () => live.runtime,
    readiness: () => control?.readiness() ?? [],
    reload: (trigger = 'api') => {
      if (!control) return Promise.reject(new Error('this process does not run the control plane'))
      return control.reload(trigger)
    },
    applyRuntime,
    setTicketKeys,
    drain,
    close: () => drain(0),
  }
}

/** One startup line with the effective security posture, then one per warning. */
function logPosture(logger: Logger, runtime: Runtime, port: number, adminPort: number | undefined): void {
  const { config, material } = runtime
  logger.info(
    {
      event: 'started',
      port,
      adminPort,
      upstream: config.upstream.url,
      tls: {
        versions: `${config.tls.minVersion}..TLSv1.3`,
        ciphers: material.secureContextOptions.ciphers,
        groups: config.tls.ecdhCurves,
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
      proxyProtocol: config.proxyProtocol.enabled
        ? { trustedCidrs: config.proxyProtocol.trustedCidrs.length }
        : 'off',
      rejectMode: config.clientAuth.rejectMode,
      trustHash: material.trustHash,
      candidateTrust: runtime.candidate
        ? { cas: runtime.candidate.trust.cas.map((ca) => subjectLine(ca.cert)), hash: runtime.candidate.hash }
        : 'off',
    },
    'ehi-gateway started',
  )
  for (const warning of runtime.warnings) logger.warn({ event: 'config_warning' }, warning)
}
