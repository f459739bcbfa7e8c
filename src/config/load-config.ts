/**
 * Loads the configuration: file (YAML or JSON) -> environment overrides -> defaults ->
 * schema validation -> relative file paths resolved against the config file's folder.
 * It collects every problem instead of stopping at the first, so one run names them all.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseYaml, Settings, Value, type TSchema } from './config-libraries.ts'
import {
  ConfigSchema,
  FILE_PATH,
  PATTERN_MESSAGE,
  schemaFields,
  SQLITE_URL,
  type GatewayConfig,
} from './config-schema.ts'
import { describeValue, pointerToPath, type ConfigIssue } from './config-issues.ts'
import { applyEnvOverrides, CONFIG_FILE_ENV } from './env-overrides.ts'
import { describeYamlError } from './yaml-errors.ts'
import { closestName } from './did-you-mean.ts'

export interface LoadedConfig {
  /** Typed and defaulted; only safe to use where `issues` is empty for that subtree. */
  config: GatewayConfig
  issues: ConfigIssue[]
  file: string | undefined
}

export interface LoadOptions {
  file?: string | undefined
  env?: NodeJS.ProcessEnv | Record<string, string | undefined>
  /** Folder relative paths resolve against when there is no file. */
  cwd?: string
}

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env
  const file = options.file ?? env[CONFIG_FILE_ENV] ?? undefined
  const issues: ConfigIssue[] = []
  let raw: Record<string, unknown> = {}
  if (file) {
    const read = readConfigFile(file)
    if ('issue' in read) return { config: {} as GatewayConfig, issues: [read.issue], file }
    raw = read.value
  }
  const overrides = applyEnvOverrides(raw, env)
  issues.push(...overrides.issues)
  const checked = validateConfig(raw, overrides.sources)
  issues.push(...checked.issues)
  const baseDir = file ? dirname(resolve(file)) : (options.cwd ?? process.cwd())
  resolveFilePaths(checked.config, ConfigSchema, baseDir)
  return { config: deepFreeze(checked.config), issues, file }
}

function readConfigFile(file: string): { value: Record<string, unknown> } | { issue: ConfigIssue } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    return {
      issue: { path: '(file)', message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code}` },
    }
  }
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both formats. logLevel 'error': the
    // library's warnings go to stderr and quote the file (an unresolved tag, say).
    const value: unknown = parseYaml(text, { prettyErrors: false, logLevel: 'error' }) ?? {}
    if (typeof value !== 'object' || Array.isArray(value)) {
      return { issue: { path: '(file)', message: 'must contain a mapping of settings at the top level' } }
    }
    return { value: value as Record<string, unknown> }
  } catch (error) {
    return {
      issue: { path: '(file)', message: `is not valid YAML or JSON: ${describeYamlError(error, text)}` },
    }
  }
}

/** Applies defaults and validates against the schema. Pure: no files, no environment. */
export function validateConfig(
  raw: unknown,
  sources: ReadonlyMap<string, string> = new Map(),
): { config: GatewayConfig; issues: ConfigIssue[] } {
  const value = Value.Default(ConfigSchema, Value.Clone(raw)) as GatewayConfig
  // typebox stops after 8 errors by default; a config report must name every bad field.
  Settings.Set({ maxErrors: 1000 })
  const byPath = new Map<string, ConfigIssue>()
  for (const error of Value.Errors(ConfigSchema, value)) {
    for (const issue of toIssues(error, value)) {
      const source = sources.get(issue.path.replace(/\[\d+\].*$/, ''))
      if (source) issue.source = source
      // One message per field: the first is the most specific.
      if (!byPath.has(issue.path)) byPath.set(issue.path, issue)
    }
  }
  for (const issue of pemInPathFields(value, ConfigSchema, ''))
    if (!byPath.has(issue.path)) byPath.set(issue.path, issue)
  return { config: value, issues: [...byPath.values()] }
}

/** File-path fields holding PEM text: refused, and never echoed (it may be a private key). */
function pemInPathFields(value: unknown, schema: TSchema, path: string): ConfigIssue[] {
  const node = schema as {
    type?: string
    properties?: Record<string, TSchema>
    items?: TSchema
    [FILE_PATH]?: boolean
  }
  if (node[FILE_PATH] && typeof value === 'string' && looksLikePem(value)) {
    return [{ path, message: 'must be a file path; it holds PEM text (keep certificates and keys in files)' }]
  }
  if (node.type === 'array' && node.items && Array.isArray(value)) {
    return value.flatMap((item, i) => pemInPathFields(item, node.items!, `${path}[${i}]`))
  }
  if (node.type === 'object' && node.properties && value && typeof value === 'object') {
    return Object.entries(node.properties).flatMap(([key, child]) =>
      pemInPathFields((value as Record<string, unknown>)[key], child, path ? `${path}.${key}` : key),
    )
  }
  return []
}

export function looksLikePem(text: string): boolean {
  return text.includes('-----BEGIN') || text.includes('\n')
}

interface SchemaError {
  keyword: string
  instancePath: string
  schemaPath: string
  params: Record<string, unknown>
  message: string
}

function toIssues(error: SchemaError, root: unknown): ConfigIssue[] {
  // Each missing required key is its own issue under its own path, so later checks can skip
  // exactly the parts that are missing.
  if (error.keyword === 'required') {
    const parent = pointerToPath(error.instancePath)
    const missing = (error.params.requiredProperties as string[] | undefined) ?? []
    return missing.map((key) => ({ path: join(parent, key), message: 'is required' }))
  }
  // One issue per unknown key, each under its own path with its own "did you mean".
  if (error.keyword === 'additionalProperties') {
    const parent = pointerToPath(error.instancePath)
    const keys = (error.params.additionalProperties as string[] | undefined) ?? []
    return keys.map((key) => {
      const near = nearestSetting(parent, key)
      return {
        path: join(parent, key),
        message: `is not a known setting${near ? `; did you mean ${near}?` : ''}`,
      }
    })
  }
  const issue = toIssue(error, root)
  return issue ? [issue] : []
}

/**
 * The setting an unknown key most likely meant: a near sibling (`tls.clientCA` -> `tls.clientCa`),
 * else a field of that name elsewhere (`listen.allowlist` -> `network.allowlist`).
 */
function nearestSetting(parent: string, key: string): string | undefined {
  const siblings = Object.keys(schemaAt(parent)?.properties ?? {})
  const sibling = closestName(key, siblings)
  if (sibling) return join(parent, sibling)
  const wanted = key.toLowerCase()
  const elsewhere = [...schemaFields()].filter((f) => f.path.at(-1)!.toLowerCase() === wanted)
  return elsewhere.length === 1 ? elsewhere[0]!.path.join('.') : undefined
}

/** The object schema at a dotted path with list indexes (`tls.serverCertificates[0]`), if any. */
function schemaAt(path: string): { properties?: Record<string, TSchema> } | undefined {
  let node = ConfigSchema as { properties?: Record<string, TSchema>; items?: TSchema } | undefined
  for (const segment of path.match(/[^.[\]]+/g) ?? []) {
    node = (/^\d+$/.test(segment) ? node?.items : node?.properties?.[segment]) as typeof node
  }
  return node
}

function toIssue(error: SchemaError, root: unknown): ConfigIssue | undefined {
  const path = pointerToPath(error.instancePath)
  switch (error.keyword) {
    case 'boolean':
      // "schema is false" under additionalProperties; the additionalProperties error says it better.
      return undefined

    case 'enum': {
      const allowed = ((error.params.allowedValues as unknown[]) ?? [])
        .map((v) => JSON.stringify(v))
        .join(', ')
      return { path, message: `must be one of ${allowed}${describeValue(valueAt(root, error.instancePath))}` }
    }
    case 'pattern': {
      // The schema words each pattern (PATTERN_MESSAGE); the regular expression is the fallback.
      const words = (schemaAt(path) as Record<string, unknown> | undefined)?.[PATTERN_MESSAGE]
      const message = typeof words === 'string' ? words : error.message
      return { path, message: `${message}${describeValue(valueAt(root, error.instancePath))}` }
    }
    default:
      return {
        path: path || '(top level)',
        message: `${error.message}${describeValue(valueAt(root, error.instancePath))}`,
      }
  }
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root
  for (const segment of pointer.split('/').slice(1))
    node = (node as Record<string, unknown> | undefined)?.[segment]
  return node
}

function join(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key
}

/** Resolves every schema field marked FILE_PATH (or a SQLITE_URL's path) against `baseDir`, in place. */
function resolveFilePaths(value: unknown, schema: TSchema, baseDir: string): unknown {
  const node = schema as {
    type?: string
    properties?: Record<string, TSchema>
    items?: TSchema
    [FILE_PATH]?: boolean
    [SQLITE_URL]?: boolean
  }
  if (node[FILE_PATH] && typeof value === 'string' && !looksLikePem(value)) return resolve(baseDir, value)
  if (node[SQLITE_URL] && typeof value === 'string') return resolveSqliteUrl(value, baseDir)
  if (node.type === 'array' && node.items && Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = resolveFilePaths(value[i], node.items, baseDir)
  } else if (node.type === 'object' && node.properties && value && typeof value === 'object') {
    const record = value as Record<string, unknown>
    for (const [key, child] of Object.entries(node.properties)) {
      if (key in record) record[key] = resolveFilePaths(record[key], child, baseDir)
    }
  }
  return value
}

/** `sqlite:relative/file.db` -> `sqlite:/abs/file.db`; other URLs unchanged. */
export function resolveSqliteUrl(url: string, baseDir: string): string {
  if (!url.startsWith('sqlite:')) return url
  const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
  return path ? `sqlite:${resolve(baseDir, path)}` : url
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}

/** True when some issue concerns `prefix` or a field below it. */
export function hasIssueUnder(issues: readonly ConfigIssue[], prefix: string): boolean {
  return issues.some(
    (i) => i.path === prefix || i.path.startsWith(`${prefix}.`) || i.path.startsWith(`${prefix}[`),
  )
}
