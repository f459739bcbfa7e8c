/**
 * Turns a loaded configuration into everything the data path decides with: the TLS material,
 * the source allowlist, the client-identity policy and the evaluator that combines them.
 * Collects the problems of every part together with the schema's, so one run names every bad
 * field; a part whose settings already failed the schema is skipped rather than guessed at.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { compileIpAllowlist, type IpAllowlist } from '../accept/ip-allowlist.ts'
import { compileProxyProtocol } from '../accept/proxy-protocol.ts'
import type { GateState } from '../accept/connection-gate.ts'
import { ConfigError, type ConfigIssue } from '../config/config-issues.ts'
import type { GatewayConfig } from '../config/config-schema.ts'
import { hasIssueUnder, loadConfig, type LoadOptions } from '../config/load-config.ts'
import { tokenHasher, type TokenHasher } from '../ehi/audit-record.ts'
import type { EhiMode } from '../ehi/classify-ehi-message.ts'
import type { MessageClass } from '../ehi/ehi-message.ts'
import { APPROVAL_CODES, type FailurePolicy } from '../ehi/failure-answer.ts'
import type { ParseLimits } from '../ehi/parse-ehi-message.ts'
import { createPeerEvaluator } from '../identity/peer-evaluator.ts'
import { compilePeerPolicy } from '../identity/peer-policy.ts'
import { loadTlsMaterial, type ExtraCrl, type TlsMaterial } from '../tls/tls-material.ts'

/** EHI settings in the shape the request path reads them, made once per configuration. */
export interface EhiSettings {
  limits: ParseLimits
  modes: { defaultMode: EhiMode; productModes: Readonly<Record<string, number>> }
  deadlines: Readonly<Record<MessageClass, number>>
  failurePolicy: FailurePolicy
  replaceNonConforming: boolean
}

export interface Runtime {
  config: GatewayConfig
  ehi: EhiSettings
  material: TlsMaterial
  gate: GateState
  /** Hashes Token for the audit log (keyed HMAC, audit.tokenHmacKeyFile or a random key). */
  tokenKey: TokenHasher
  allowAllSources: boolean
  warnings: string[]
}

/** `extraCrls`: CRLs fetched over HTTP (crl-refresh.ts), in addition to tls.crl.files. */
export function compileRuntime(
  config: GatewayConfig,
  priorIssues: readonly ConfigIssue[] = [],
  now = new Date(),
  extraCrls: readonly ExtraCrl[] = [],
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
  // PROXY protocol settings are fixed for the listener's life (build-gateway.ts); checked here.
  if (!skip('proxyProtocol')) issues.push(...compileProxyProtocol(config.proxyProtocol).issues)

  let policy: ReturnType<typeof compilePeerPolicy>['policy'] | undefined
  if (!skip('clientAuth')) {
    const compiled = compilePeerPolicy(config.clientAuth)
    issues.push(...compiled.issues)
    policy = compiled.policy
  }

  let material: TlsMaterial | undefined
  if (!skip('tls')) {
    const loaded = loadTlsMaterial(config.tls, now, extraCrls)
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

  if (!skip('ehi')) {
    if (APPROVAL_CODES.has(config.ehi.onHostFailure.declineResponseStatus)) {
      issues.push({
        path: 'ehi.onHostFailure.declineResponseStatus',
        message: `${config.ehi.onHostFailure.declineResponseStatus} approves; the gateway never invents an approval (use 91 or 96)`,
      })
    }
    for (const [cls, ms] of Object.entries(config.ehi.deadlineMs)) {
      if (ms >= config.ehi.threddBudgetMs) {
        issues.push({
          path: `ehi.deadlineMs.${cls}`,
          message: `must be below ehi.threddBudgetMs (${config.ehi.threddBudgetMs} ms): past Thredd's budget an answer is useless`,
        })
      }
    }
  }

  let tokenKey: Buffer | undefined
  const tokenWarnings: string[] = []
  if (!skip('audit')) {
    const file = config.audit.tokenHmacKeyFile
    if (file) {
      try {
        tokenKey = readFileSync(file)
        if (tokenKey.length < 16)
          issues.push({ path: 'audit.tokenHmacKeyFile', message: 'holds fewer than 16 bytes' })
      } catch (error) {
        issues.push({
          path: 'audit.tokenHmacKeyFile',
          message: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        })
      }
    } else {
      tokenKey = randomBytes(32)
      tokenWarnings.push(
        'audit.tokenHmacKeyFile is not set: Token hashes in the audit log change at every start',
      )
    }
  }

  if (issues.length > 0 || !allowIp || !policy || !material || !tokenKey) throw new ConfigError(issues)

  const warnings = [...material.warnings, ...tokenWarnings]
  if (allowAllSources) {
    warnings.push(
      "network.allowlist is empty: any source address may connect; list Thredd's egress address in production",
    )
  }
  return {
    config,
    ehi: {
      limits: config.ehi.limits,
      modes: { defaultMode: config.ehi.defaultMode as EhiMode, productModes: config.ehi.productModes },
      deadlines: config.ehi.deadlineMs,
      failurePolicy: config.ehi.onHostFailure,
      replaceNonConforming: config.ehi.hostAnswerCheck === 'replace',
    },
    material,
    gate: {
      allowIp,
      evaluatePeer: createPeerEvaluator(material.trust, policy),
      rejectMode: config.clientAuth.rejectMode,
    },
    tokenKey: tokenHasher(tokenKey),
    allowAllSources,
    warnings,
  }
}

/** Loads the file and environment and compiles them; throws one ConfigError naming every issue. */
export function loadRuntime(options: LoadOptions = {}, extraCrls: readonly ExtraCrl[] = []): Runtime {
  const loaded = loadConfig(options)
  if (loaded.issues.some((i) => i.path === '(file)')) throw new ConfigError(loaded.issues, loaded.file)
  try {
    return compileRuntime(loaded.config, loaded.issues, new Date(), extraCrls)
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.issues, loaded.file)
    throw error
  }
}
