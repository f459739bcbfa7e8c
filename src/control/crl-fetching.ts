/**
 * Start-up of CRL fetching (tls.crl.fetch), in the process that runs the control plane: the
 * refresher loads its cache and fetches every URL once before the first runtime is compiled, so
 * a gateway whose CRLs come only from HTTP starts with them (or from the cache when the network
 * is down). The control plane then owns it: a newer CRL triggers a `crl` reload, a reload
 * reconfigures it, stopping closes it. Workers never fetch; they get the CRLs in the snapshot.
 */
import { Registry } from 'prom-client'
import type { LoadOptions } from '../config/load-config.ts'
import { loadConfig } from '../config/load-config.ts'
import { loadRuntime, type Runtime } from '../runtime/compile-runtime.ts'
import { createLogger, type Logger } from '../observability/logger.ts'
import { createControlMetrics, type ControlMetrics } from '../observability/metrics.ts'
import { crlFetchEnabled } from '../runtime/rules/crl-fetch-settings.ts'
import { startCrlRefresher, type CrlRefresher } from './crl-refresh.ts'

/** What the control plane takes over: the refresher and the metrics it already counts into. */
export interface CrlFetching {
  refresher: CrlRefresher
  registry: Registry
  metrics: ControlMetrics
  /** Set by the control plane: its runtime in force, and its reload. */
  bind(control: { runtime(): Runtime; reload(trigger: 'crl'): unknown }): void
}

/**
 * Loads the configuration and compiles the first runtime, fetching CRLs first when
 * tls.crl.fetch is on. Throws the ConfigError of loadRuntime, naming every bad field.
 */
export async function loadRuntimeFetchingCrls(
  source: LoadOptions,
  logger?: Logger,
): Promise<{ runtime: Runtime; crls: CrlFetching | undefined }> {
  const loaded = loadConfig(source)
  // A broken config has no fetch settings to trust: let the compile report it.
  if (loaded.issues.length > 0 || !crlFetchEnabled(loaded.config.tls.crl))
    return { runtime: loadRuntime(source), crls: undefined }
  const registry = new Registry()
  const metrics = createControlMetrics(registry)
  let control: { runtime(): Runtime; reload(trigger: 'crl'): unknown } | undefined
  const refresher = startCrlRefresher({
    tls: () => control?.runtime().config.tls ?? loaded.config.tls,
    inForce: () => control?.runtime().material.trust.cas,
    logger: logger ?? createLogger(loaded.config.log),
    metrics,
    onUpdate: () => control?.reload('crl'),
  })
  try {
    await refresher.initial()
    return {
      runtime: loadRuntime(source, undefined, refresher.current()),
      crls: { refresher, registry, metrics, bind: (plane) => (control = plane) },
    }
  } catch (error) {
    await refresher.close()
    throw error
  }
}
