/**
 * The control plane: admin server, readiness, the host probe, reload and the control
 * metrics. One per gateway: in-process with a single data plane, or in the cluster primary,
 * which applies reloads to its workers.
 *
 * A reload is validated as a whole before anything changes: the config file and every file it
 * names are loaded and checked (key matches certificate, chains build, CRLs cover every CA, pins
 * decode), a reload that would remove an access control is refused, and only then is the new
 * state applied to the data plane. A failed reload keeps the last good state, is logged with
 * every problem, and is counted.
 */
import type { Registry } from 'prom-client'
import { ConfigError, type ConfigIssue } from '../config/config-issues.ts'
import type { GatewayConfig } from '../config/config-schema.ts'
import { namedFiles } from '../runtime/config-snapshot.ts'
import type { LoadOptions } from '../config/load-config.ts'
import { compileSnapshot, loadRuntime, type Runtime } from '../runtime/compile-runtime.ts'
import type { Logger } from '../observability/logger.ts'
import { createControlMetrics, recordMaterial, type ControlMetrics } from '../observability/metrics.ts'
import type { ExtraCrl } from '../runtime/tls-material.ts'
import { startAdminServer, type AdminServer } from './admin-server.ts'
import { startHostProbe, type ProbeResult } from './host-probe.ts'
import { readinessChecks, type Check } from './rules/readiness.ts'
import { readCandidateCounts, type CandidateCounts } from './rules/candidate-summary.ts'
import { packageVersion } from '../package-info.ts'
import { watchFiles, type FileWatcher } from './file-watcher.ts'
import type { CrlFetching } from './crl-fetching.ts'
import { ledgerReadinessCheck, type LedgerStatus } from '../ledger/rules/ledger-status.ts'
import { crlRollbacks, restartOnlyChanges, wideningChanges } from './rules/reload-guard.ts'
import { resolve } from 'node:path'

/** `crl`: a newer CRL was fetched; the active configuration is compiled again with it. */
export type ReloadTrigger = 'SIGHUP' | 'file' | 'api' | 'crl'

/** How long /readyz waits for the data plane's candidate-trust counts. */
const CANDIDATE_COUNTS_TIMEOUT_MS = 2000

export interface ReloadResult {
  ok: boolean
  trigger: ReloadTrigger
  /** Why it failed: config issues, widening changes, or a worker's refusal. */
  problems: string[]
  /** Changed settings that need a restart and were not applied. */
  needsRestart: string[]
  trustHash: string
}

export interface ApplyResult {
  ok: boolean
  problems: string[]
}

export interface ControlPlaneOptions {
  runtime: Runtime
  /** Where a reload reads the configuration again; without it reload always fails. */
  source: LoadOptions | undefined
  logger: Logger
  registry: Registry
  /** The data-plane metrics in Prometheus text format (this process's, or all workers'). */
  dataMetrics: () => Promise<string>
  contentType: string
  /** Applies a validated runtime to the data plane(s). */
  apply: (next: Runtime) => Promise<ApplyResult>
  workers?: () => { up: number; expected: number }
  /** Serve /livez, /readyz, /metrics (admin.enabled by default). */
  admin?: boolean
  /** Watch the files for changes (reload.watchFiles by default). */
  watch?: boolean
  /** The control metrics, when made before the control plane (the CRL refresher counts into them). */
  metrics?: ControlMetrics
  /** CRLs fetched over HTTP (the CRL refresher's current()), compiled in at every reload. */
  extraCrls?: () => readonly ExtraCrl[]
  /**
   * CRL fetching started before the first compile (crl-fetching.ts): the control plane takes it
   * over (its metrics and CRLs, a `crl` reload on each newer CRL, reconfigured by each reload,
   * closed with the plane).
   */
  crls?: CrlFetching | undefined
  /** The message ledger's state in each data-plane process (one, or one per worker). */
  ledgerStatuses?: () => readonly LedgerStatus[]
}

export interface ControlPlane {
  readonly adminPort: number | undefined
  runtime(): Runtime
  readiness(): Check[]
  reload(trigger: ReloadTrigger): Promise<ReloadResult>
  setDraining(): void
  /** Counts a worker that died and was replaced (cluster mode). */
  noteWorkerRestart(): void
  close(): Promise<void>
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { logger } = options
  const { crls } = options
  const control = crls?.metrics ?? options.metrics ?? createControlMetrics(options.registry)
  const fetchedCrls = crls ? () => crls.refresher.current() : options.extraCrls
  let current = options.runtime
  let draining = false
  let probe: ProbeResult | undefined

  control.buildInfo.set({ version: packageVersion(), node: process.versions.node }, 1)
  control.draining.set(0)
  // Created at 0, so the first failure is an increase a rule can see.
  control.reloads.inc({ result: 'success' }, 0)
  control.reloads.inc({ result: 'failure' }, 0)
  control.workersConfigured.set(options.workers?.().expected ?? 1)
  if (options.workers) control.countWorkersWith(() => options.workers!().up)
  const markLoaded = () => {
    recordMaterial(control, current.material)
    control.candidateTrustConfig.reset()
    if (current.candidate) control.candidateTrustConfig.set({ hash: current.candidate.hash }, 1)
    control.lastReloadSuccess.set(Date.now() / 1000)
  }
  markLoaded()

  const hostProbe = startHostProbe(
    () => new URL(current.config.upstream.url),
    current.config.admin.hostProbeIntervalMs,
    current.config.upstream.connectTimeoutMs,
    (result) => {
      if (probe?.ok !== result.ok)
        logger[result.ok ? 'info' : 'warn'](
          { event: 'host_probe', ok: result.ok, detail: result.detail },
          'internal host probe',
        )
      probe = result
      control.hostReachable.set(result.ok ? 1 : 0)
    },
  )

  // The candidate-trust counts live in the data plane (the workers, in cluster mode): /readyz
  // reads them from its metrics text, only while a candidate is loaded; concurrent calls share
  // one read. Counts read for a candidate that a reload replaced meanwhile are dropped.
  let candidateCounts: { hash: string; counts: CandidateCounts } | undefined
  let countsRead: Promise<void> | undefined
  const refreshCandidateCounts = (): Promise<void> => {
    const hash = current.candidate?.hash
    if (!hash) return Promise.resolve()
    countsRead ??= withTimeout(options.dataMetrics(), CANDIDATE_COUNTS_TIMEOUT_MS)
      .then((text) => {
        candidateCounts = { hash, counts: readCandidateCounts(text) }
      })
      .catch((error: unknown) => {
        // Readiness answers anyway, with the last counts read; the candidate decides nothing.
        logger.warn(
          { event: 'candidate_counts_unavailable', err: error },
          'could not read the candidate-trust counts',
        )
      })
      .finally(() => {
        countsRead = undefined
      })
    return countsRead
  }

  // Taken at start like the rest of `admin` (a reload says it needs a restart).
  const hostRequired = options.runtime.config.admin.readinessChecksHost
  const readiness = () => {
    const checks = readinessChecks({
      draining,
      material: current.material,
      hostReachable: probe?.ok,
      hostProbeDetail: probe?.detail,
      hostRequired,
      ...(options.workers ? { workers: options.workers() } : {}),
      ...(current.candidate
        ? {
            candidate: {
              ...current.candidate,
              // The data plane restarts its counts for a new candidate (start-gateway.ts).
              counts: candidateCounts?.hash === current.candidate.hash ? candidateCounts.counts : undefined,
            },
          }
        : {}),
      crlMarginMs: current.config.tls.crl.readinessMarginSeconds * 1000,
      now: Date.now(),
    })
    // Reported, and failing readiness only when ledger.failReadiness asks for it.
    if (current.ledger && options.ledgerStatuses)
      checks.push(ledgerReadinessCheck(options.ledgerStatuses(), current.config.ledger.failReadiness))
    control.ready.set(checks.every((c) => c.ok) ? 1 : 0)
    return checks
  }

  // One reload at a time; a request that arrives during one runs once more after it.
  let running: Promise<ReloadResult> | undefined
  let again: ReloadTrigger | undefined
  const reload = (trigger: ReloadTrigger): Promise<ReloadResult> => {
    if (running) {
      // A reload from the source compiles the fetched CRLs in too: never let `crl` replace it.
      if (!(trigger === 'crl' && again && again !== 'crl')) again = trigger
      return running
    }
    running = reloadOnce(trigger).finally(() => {
      running = undefined
      if (again) {
        const next = again
        again = undefined
        void reload(next)
      }
    })
    return running
  }

  async function reloadOnce(trigger: ReloadTrigger): Promise<ReloadResult> {
    const before = current
    const fail = (problems: string[], needsRestart: string[] = []): ReloadResult => {
      control.reloads.inc({ result: 'failure' })
      logger.error(
        { event: 'reload_failed', trigger, problems, trustHash: before.material.trustHash },
        'reload failed: keeping the last good configuration',
      )
      return { ok: false, trigger, problems, needsRestart, trustHash: before.material.trustHash }
    }
    if (!options.source && trigger !== 'crl')
      return fail(['the gateway was started without a configuration file to reload from'])
    const extraCrls = fetchedCrls?.() ?? []
    let next: Runtime
    try {
      // A CRL update keeps the active snapshot (the config and the bytes of its files, as
      // validated) with the fetched CRLs in place of the old ones.
      next =
        trigger === 'crl' || !options.source
          ? compileSnapshot({ ...before.snapshot, extraCrls })
          : loadRuntime(options.source, before, extraCrls)
    } catch (error) {
      if (error instanceof ConfigError) return fail(error.issues.map(issueText))
      return fail([(error as Error).message])
    }
    const widening = wideningChanges(before.config, next.config)
    if (widening.length)
      return fail(widening.map((w) => `${w}: refused on reload; restart to apply a deliberate removal`))
    const rollbacks = crlRollbacks(before.material.trust, next.material.trust)
    if (rollbacks.length) return fail(rollbacks.map((r) => `tls.crl: ${r}`))
    const needsRestart = restartOnlyChanges(before.config, next.config)
    const applied = await options.apply(next)
    if (!applied.ok) return fail(applied.problems, needsRestart)
    current = next
    markLoaded()
    control.reloads.inc({ result: 'success' })
    if (options.source) watcher?.update(watchedFiles(current.config, options.source.file))
    // New URLs or CAs are fetched at once; a CRL update changes neither.
    if (trigger !== 'crl') crls?.refresher.reconfigure()
    logger.info(
      {
        event: 'reloaded',
        trigger,
        trustHash: current.material.trustHash,
        previousTrustHash: before.material.trustHash,
        needsRestart: needsRestart.length ? needsRestart : undefined,
      },
      needsRestart.length
        ? `reloaded; these settings need a restart and were not applied: ${needsRestart.join(', ')}`
        : 'reloaded',
    )
    for (const warning of next.warnings) logger.warn({ event: 'config_warning' }, warning)
    return { ok: true, trigger, problems: [], needsRestart, trustHash: current.material.trustHash }
  }

  const watch = options.watch ?? current.config.reload.watchFiles
  const watcher: FileWatcher | undefined =
    watch && options.source
      ? watchFiles(
          watchedFiles(current.config, options.source.file),
          current.config.reload.debounceMs,
          (changed) => {
            logger.info({ event: 'files_changed', files: changed }, 'watched files changed; reloading')
            void reload('file')
          },
        )
      : undefined

  let admin: AdminServer | undefined
  if ((options.admin ?? true) && current.config.admin.enabled) {
    admin = await startAdminServer({
      host: current.config.admin.host,
      port: current.config.admin.port,
      logger,
      readiness: async () => {
        await refreshCandidateCounts()
        return readiness()
      },
      // ehi_gateway_ready is evaluated at each scrape too: nothing may ever ask /readyz.
      metrics: async () => {
        readiness()
        return {
          contentType: options.contentType,
          text: `${await options.dataMetrics()}${await options.registry.metrics()}`,
        }
      },
    })
  }

  crls?.bind({ runtime: () => current, reload })
  return {
    adminPort: admin?.port,
    runtime: () => current,
    readiness,
    reload,
    setDraining() {
      draining = true
      control.ready.set(0)
      control.draining.set(1)
    },
    noteWorkerRestart() {
      control.workerRestarts.inc()
    },
    async close() {
      watcher?.close()
      hostProbe.stop()
      await crls?.refresher.close()
      await admin?.close()
    },
  }
}

/** The config file and every file it names (certificates, keys, CAs, CRLs, secrets). */
export function watchedFiles(config: GatewayConfig, configFile: string | undefined): string[] {
  return [...(configFile ? [resolve(configFile)] : []), ...namedFiles(config)]
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function issueText(issue: ConfigIssue): string {
  return `${issue.path}: ${issue.message}${issue.source ? ` [from ${issue.source}]` : ''}`
}
