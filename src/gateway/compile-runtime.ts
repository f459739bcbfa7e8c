/**
 * Turns a loaded configuration into everything the data path decides with: the TLS material,
 * the source allowlist, the client-identity policy and the evaluator that combines them.
 * Collects the problems of every part together with the schema's, so one run names every bad
 * field; a part whose settings already failed the schema is skipped rather than guessed at.
 */
import { compileIpAllowlist, type IpAllowlist } from '../accept/ip-allowlist.ts'
import type { GateState } from '../accept/connection-gate.ts'
import { ConfigError, type ConfigIssue } from '../config/config-issues.ts'
import type { GatewayConfig } from '../config/config-schema.ts'
import { hasIssueUnder, loadConfig, type LoadOptions } from '../config/load-config.ts'
import { createPeerEvaluator } from '../identity/peer-evaluator.ts'
import { compilePeerPolicy } from '../identity/peer-policy.ts'
import { loadTlsMaterial, type TlsMaterial } from '../tls/tls-material.ts'

export interface Runtime {
  config: GatewayConfig
  material: TlsMaterial
  gate: GateState
  allowAllSources: boolean
  warnings: string[]
}

export function compileRuntime(
  config: GatewayConfig,
  priorIssues: readonly ConfigIssue[] = [],
  now = new Date(),
): Runtime {
  const issues: ConfigIssue[] = [...priorIssues]
  const skip = (prefix: string) => hasIssueUnder(priorIssues, prefix)

  let allowIp: IpAllowlist | undefined
  let allowAllSources = false
  if (!skip('network')) {
    const compiled = compileIpAllowlist(config.network.allowlist)
    issues.push(...compiled.issues)
    allowIp = compiled.allow
    allowAllSources = compiled.allowAll
  }

  let policy: ReturnType<typeof compilePeerPolicy>['policy'] | undefined
  if (!skip('clientAuth')) {
    const compiled = compilePeerPolicy(config.clientAuth)
    issues.push(...compiled.issues)
    policy = compiled.policy
  }

  let material: TlsMaterial | undefined
  if (!skip('tls')) {
    const loaded = loadTlsMaterial(config.tls, now)
    issues.push(...loaded.issues)
    material = loaded.material
  }

  if (!skip('upstream') && config.upstream?.url) {
    try {
      const url = new URL(config.upstream.url)
      if (url.username || url.password)
        issues.push({ path: 'upstream.url', message: 'must not carry credentials' })
    } catch {
      issues.push({ path: 'upstream.url', message: 'is not a valid URL' })
    }
  }

  if (issues.length > 0 || !allowIp || !policy || !material) throw new ConfigError(issues)

  const warnings = [...material.warnings]
  if (allowAllSources) {
    warnings.push(
      "network.allowlist is empty: any source address may connect; list Thredd's egress address in production",
    )
  }
  return {
    config,
    material,
    gate: {
      allowIp,
      evaluatePeer: createPeerEvaluator(material.trust, policy),
      rejectMode: config.clientAuth.rejectMode,
    },
    allowAllSources,
    warnings,
  }
}

/** Loads the file and environment and compiles them; throws one ConfigError naming every issue. */
export function loadRuntime(options: LoadOptions = {}): Runtime {
  const loaded = loadConfig(options)
  if (loaded.issues.some((i) => i.path === '(file)')) throw new ConfigError(loaded.issues, loaded.file)
  try {
    return compileRuntime(loaded.config, loaded.issues)
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.issues, loaded.file)
    throw error
  }
}
