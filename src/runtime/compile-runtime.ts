/**
 * Turns a loaded configuration into everything the data path decides with: the TLS material,
 * the source allowlist, the client-identity policy and the evaluator that combines them.
 * Collects the problems of every part together with the schema's, so one run names every bad
 * field: a check is skipped only when a field it reads failed the schema (it would be guessing),
 * not when another field of its section did.
 */
import { createHash } from 'node:crypto'
import { compileIpAllowlist, type IpAllowlist } from '../plane/accept/ip-allowlist.ts'
import { compileProxyProtocol } from '../plane/accept/proxy-protocol.ts'
import type { GateState } from '../plane/io/connection-gate.ts'
import { ConfigError, hasIssueAt, hasIssueOver, type ConfigIssue } from '../config/config-issues.ts'
import {
  snapshotFingerprint,
  snapshotReader,
  takeSnapshot,
  type ConfigSnapshot,
  type FileReader,
} from './config-snapshot.ts'
import type { GatewayConfig } from '../config/config-schema.ts'
import { loadConfig, type LoadOptions } from '../config/load-config.ts'
import { tokenHasher, type TokenHasher } from '../plane/ehi/audit-record.ts'
import type { EhiMode } from '../plane/ehi/classify-ehi-message.ts'
import type { MessageClass } from '../plane/ehi/ehi-message.ts'
import { APPROVAL_CODES, type FailurePolicy } from '../plane/ehi/failure-answer.ts'
import type { ParseLimits } from '../plane/ehi/parse-ehi-message.ts'
import { createCandidateTrust } from '../plane/identity/candidate-trust.ts'
import { createPeerEvaluator } from '../plane/identity/peer-evaluator.ts'
import { compilePeerPolicy } from '../plane/identity/peer-policy.ts'
import {
  loadClientTrust,
  loadTlsMaterial,
  type ExtraCrl,
  type TlsMaterial,
  type TrustStore,
} from './tls-material.ts'
import { ledgerSettings, type LedgerSettings } from '../ledger/ledger-settings.ts'
import { compileHostHeaderPolicy, type HostHeaderPolicy } from '../plane/upstream/host-request-headers.ts'

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
  /** What this runtime was compiled from: the config and the bytes of every file it names. */
  snapshot: ConfigSnapshot
  /** SHA-256 of the snapshot; every cluster worker reports it back to the primary. */
  fingerprint: string
  ehi: EhiSettings
  material: TlsMaterial
  gate: GateState
  /** The candidate trust (candidateTrust), when enabled: reported on, never enforced. */
  candidate?: CandidateMaterial
  /** Hashes Token for the audit log (keyed HMAC, audit.tokenHmacKeyFile or a random key). */
  tokenKey: TokenHasher
  /** Which request headers reach the host (upstream.forwardHeaders, upstream.clientCertHeaders). */
  hostHeaders: HostHeaderPolicy
  /** The message ledger's settings (ledger.url); undefined when it is off. Restart-only. */
  ledger: LedgerSettings | undefined
  allowAllSources: boolean
  warnings: string[]
}

/** What readiness and the logs say about a loaded candidate trust. */
export interface CandidateMaterial {
  trust: TrustStore
  /** SHA-256 over its CAs, CRLs, pins and subject rules: changes exactly when what it decides changes. */
  hash: string
  pins: number
  /** Non-empty subject allow-lists. */
  subjectRules: number
}

/**
 * Reads the files `config` names from the disk, then compiles them (see compileSnapshot).
 * `extraCrls`: CRLs fetched over HTTP (crl-refresh.ts), in addition to tls.crl.files.
 */
export function compileRuntime(
  config: GatewayConfig,
  priorIssues: readonly ConfigIssue[] = [],
  now = new Date(),
  extraCrls: readonly ExtraCrl[] = [],
): Runtime {
  return compileSnapshot(takeSnapshot(config, undefined, extraCrls), priorIssues, now)
}

/** Compiles a snapshot; reads no file, so every process compiling one snapshot gets one runtime. */
export function compileSnapshot(
  snapshot: ConfigSnapshot,
  priorIssues: readonly ConfigIssue[] = [],
  now = new Date(),
): Runtime {
  const { config } = snapshot
  const read = snapshotReader(snapshot)
  const issues: ConfigIssue[] = [...priorIssues]
  /** True when one of the fields a check reads failed the schema (or a section above it did). */
  const skip = (...fields: string[]) => fields.some((field) => hasIssueAt(priorIssues, field))

  let allowIp: IpAllowlist | undefined
  let allowAllSources = false
  if (!skip('network.allowlist')) {
    const compiled = compileIpAllowlist(config.network.allowlist)
    issues.push(...compiled.issues)
    allowIp = compiled.allow
    allowAllSources = compiled.allowAll
  }
  // PROXY protocol settings are fixed for the listener's life (build-gateway.ts); checked here.
  if (!skip('proxyProtocol.enabled', 'proxyProtocol.trustedCidrs'))
    issues.push(...compileProxyProtocol(config.proxyProtocol).issues)

  let policy: ReturnType<typeof compilePeerPolicy>['policy'] | undefined
  if (!skip('clientAuth.pins', 'clientAuth.allowedSubjects', 'clientAuth.requireClientAuthEku')) {
    const compiled = compilePeerPolicy(config.clientAuth)
    issues.push(...compiled.issues)
    policy = compiled.policy
  }

  let material: TlsMaterial | undefined
  if (!hasIssueOver(priorIssues, 'tls')) {
    const loaded = loadTlsMaterial(config.tls, now, snapshot.extraCrls, read, priorIssues)
    issues.push(...loaded.issues)
    material = loaded.material
  }

  let ledger: LedgerSettings | undefined
  if (!skip('ledger')) {
    const checked = ledgerSettings(config.ledger, read)
    issues.push(...checked.issues)
    ledger = checked.settings
  }

  let hostHeaders: HostHeaderPolicy | undefined
  if (!skip('upstream.forwardHeaders', 'upstream.clientCertHeaders')) {
    const compiled = compileHostHeaderPolicy(config.upstream)
    issues.push(...compiled.issues)
    hostHeaders = compiled.policy
  }

  const candidate = skip('candidateTrust', 'clientAuth.requireClientAuthEku')
    ? undefined
    : compileCandidate(config, now, read)
  if (candidate) issues.push(...candidate.issues)

  if (!skip('upstream.url') && config.upstream?.url) {
    try {
      const url = new URL(config.upstream.url)
      if (url.username || url.password)
        issues.push({ path: 'upstream.url', message: 'must not carry credentials' })
    } catch {
      issues.push({ path: 'upstream.url', message: 'is not a valid URL' })
    }
  }

  if (
    !skip('ehi.onHostFailure.declineResponseStatus') &&
    APPROVAL_CODES.has(config.ehi.onHostFailure.declineResponseStatus)
  ) {
    issues.push({
      path: 'ehi.onHostFailure.declineResponseStatus',
      message: `${config.ehi.onHostFailure.declineResponseStatus} approves; the gateway never invents an approval (use 91 or 96)`,
    })
  }
  // Each class's deadline on its own: one bad deadline does not hide another's problem.
  if (!skip('ehi.threddBudgetMs') && !hasIssueOver(priorIssues, 'ehi.deadlineMs')) {
    for (const [cls, ms] of Object.entries(config.ehi.deadlineMs)) {
      if (!skip(`ehi.deadlineMs.${cls}`) && ms >= config.ehi.threddBudgetMs) {
        issues.push({
          path: `ehi.deadlineMs.${cls}`,
          message: `must be below ehi.threddBudgetMs (${config.ehi.threddBudgetMs} ms): past Thredd's budget an answer is useless`,
        })
      }
    }
  }

  let tokenKey: Buffer | undefined
  const tokenWarnings: string[] = []
  if (!skip('audit.tokenHmacKeyFile')) {
    const file = config.audit.tokenHmacKeyFile
    if (file) {
      try {
        tokenKey = read(file)
        if (tokenKey.length < 16)
          issues.push({ path: 'audit.tokenHmacKeyFile', message: 'holds fewer than 16 bytes' })
      } catch (error) {
        issues.push({
          path: 'audit.tokenHmacKeyFile',
          message: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        })
      }
    } else {
      tokenKey = Buffer.from(snapshot.generatedTokenKey, 'base64')
      tokenWarnings.push(
        'audit.tokenHmacKeyFile is not set: Token hashes in the audit log change at every start',
      )
    }
  }

  if (issues.length > 0 || !allowIp || !policy || !material || !tokenKey || !hostHeaders)
    throw new ConfigError(issues)

  const warnings = [...material.warnings, ...(candidate?.warnings ?? []), ...tokenWarnings]
  if (allowAllSources) {
    warnings.push(
      "network.allowlist is empty: any source address may connect; list Thredd's egress address in production",
    )
  }
  return {
    config,
    snapshot,
    fingerprint: snapshotFingerprint(snapshot),
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
      ...(candidate?.gate ? { candidate: candidate.gate } : {}),
    },
    ...(candidate?.material ? { candidate: candidate.material } : {}),
    tokenKey: tokenHasher(tokenKey),
    hostHeaders,
    ledger,
    allowAllSources,
    warnings,
  }
}

/**
 * The candidate trust: loaded and checked like the live one (same loader, problems under
 * candidateTrust.*), with the live clientAuth settings except its own pins and subject rules.
 */
function compileCandidate(config: GatewayConfig, now: Date, read: FileReader) {
  const section = config.candidateTrust
  const issues: ConfigIssue[] = []
  const warnings: string[] = []
  if (!section.enabled) {
    const set = section.clientCa.length + section.crl.files.length > 0
    if (set)
      warnings.push(
        'candidateTrust.enabled is false: the candidate trust is not loaded and nothing is compared',
      )
    return { issues, warnings }
  }
  if (section.clientCa.length === 0)
    issues.push({ path: 'candidateTrust.clientCa', message: 'is empty but candidateTrust.enabled is true' })
  const loaded = loadClientTrust(section, now, issues, warnings, read, 'candidateTrust')
  const compiled = compilePeerPolicy({
    ...config.clientAuth,
    pins: section.pins,
    allowedSubjects: section.allowedSubjects,
  })
  // The policy names the live fields; the candidate's problems are in its own section.
  for (const issue of compiled.issues)
    issues.push({ ...issue, path: issue.path.replace(/^clientAuth\./, 'candidateTrust.') })
  if (issues.length > 0) return { issues, warnings }
  return {
    issues,
    warnings,
    gate: createCandidateTrust(createPeerEvaluator(loaded.trust, compiled.policy)),
    material: {
      trust: loaded.trust,
      hash: createHash('sha256')
        .update(loaded.trustHash)
        .update(
          JSON.stringify([section.pins, section.allowedSubjects, config.clientAuth.requireClientAuthEku]),
        )
        .digest('hex'),
      pins: section.pins.spkiSha256.length + section.pins.certSha256.length,
      subjectRules: Object.values(section.allowedSubjects).filter((list) => list.length > 0).length,
    } satisfies CandidateMaterial,
  }
}

/**
 * Loads the file and environment, reads every file they name, and compiles them; throws one
 * ConfigError naming every issue. `previous` (a reload) keeps its generated Token key;
 * `extraCrls` are the CRLs fetched over HTTP (crl-refresh.ts).
 */
export function loadRuntime(
  options: LoadOptions = {},
  previous?: Runtime,
  extraCrls: readonly ExtraCrl[] = [],
): Runtime {
  const loaded = loadConfig(options)
  if (loaded.issues.some((i) => i.path === '(file)')) throw new ConfigError(loaded.issues, loaded.file)
  try {
    return compileSnapshot(takeSnapshot(loaded.config, previous?.snapshot, extraCrls), loaded.issues)
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(error.issues, loaded.file)
    throw error
  }
}
