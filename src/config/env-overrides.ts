/**
 * Environment overrides. The rule is mechanical so that every key has one:
 *
 *   EHI_GATEWAY_ + the key path, each segment camelCase -> UPPER_SNAKE, segments joined by `__`
 *
 *   listen.port                 -> EHI_GATEWAY_LISTEN__PORT
 *   tls.crl.enabled             -> EHI_GATEWAY_TLS__CRL__ENABLED
 *   clientAuth.pins.spkiSha256  -> EHI_GATEWAY_CLIENT_AUTH__PINS__SPKI_SHA256
 *
 * Values are converted by the schema type at that path: numbers and booleans (`true`/`false`)
 * are parsed; lists take a JSON array or a comma-separated string; lists of objects and maps
 * (ehi.productModes) take JSON.
 * An EHI_GATEWAY_ variable that names no key is an error, so a typo cannot silently leave
 * a default (for example an empty allowlist) in force. EHI_GATEWAY_CONFIG names the file.
 */
import type { TSchema } from 'typebox'
import { schemaFields } from './config-schema.ts'
import type { ConfigIssue } from './config-issues.ts'
import { closestName } from './did-you-mean.ts'

export const ENV_PREFIX = 'EHI_GATEWAY_'
export const CONFIG_FILE_ENV = 'EHI_GATEWAY_CONFIG'

export function envNameFor(path: readonly string[]): string {
  return (
    ENV_PREFIX +
    path.map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__')
  )
}

export interface EnvOverrides {
  /** Key path -> the environment variable that set it (for error messages). */
  sources: Map<string, string>
  issues: ConfigIssue[]
}

/** Writes the overrides into `target` (a plain object parsed from the file). */
export function applyEnvOverrides(
  target: Record<string, unknown>,
  env: NodeJS.ProcessEnv | Record<string, string | undefined>,
): EnvOverrides {
  const byName = new Map<string, { path: string[]; schema: TSchema }>()
  for (const field of schemaFields()) byName.set(envNameFor(field.path), field)
  const sources = new Map<string, string>()
  const issues: ConfigIssue[] = []

  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV || raw === undefined) continue
    const field = byName.get(name)
    if (!field) {
      const near = closestName(name, byName.keys())
      issues.push({
        path: name,
        message: near
          ? `is not a configuration key; did you mean ${near} (${byName.get(near)!.path.join('.')})?`
          : 'is not a configuration key (see the configuration reference)',
      })
      continue
    }
    const converted = convert(raw, field.schema)
    const dotted = field.path.join('.')
    if (!converted.ok) {
      issues.push({ path: dotted, source: name, message: converted.message })
      continue
    }
    setPath(target, field.path, converted.value)
    sources.set(dotted, name)
  }
  return { sources, issues }
}

type Converted = { ok: true; value: unknown } | { ok: false; message: string }

function convert(raw: string, schema: TSchema): Converted {
  const node = schema as { type?: string; items?: TSchema; enum?: unknown[] }
  if (node.enum) {
    // Enum values may be numbers (ehi.defaultMode): match on their text.
    const match = node.enum.find((value) => String(value) === raw.trim())
    return match === undefined ? { ok: true, value: raw } : { ok: true, value: match }
  }
  switch (node.type) {
    case 'object':
      try {
        return { ok: true, value: JSON.parse(raw) }
      } catch {
        return { ok: false, message: 'is not a valid JSON object' }
      }
    case 'integer':
    case 'number': {
      const value = Number(raw.trim())
      if (raw.trim() === '' || !Number.isFinite(value)) return { ok: false, message: 'must be a number' }
      return { ok: true, value }
    }
    case 'boolean':
      if (/^(true|1)$/i.test(raw.trim())) return { ok: true, value: true }
      if (/^(false|0)$/i.test(raw.trim())) return { ok: true, value: false }
      return { ok: false, message: 'must be true or false' }
    case 'array': {
      const text = raw.trim()
      if (text.startsWith('[')) {
        try {
          return { ok: true, value: JSON.parse(text) }
        } catch {
          return { ok: false, message: 'is not a valid JSON array' }
        }
      }
      const itemType = (node.items as { type?: string } | undefined)?.type
      if (itemType === 'object') return { ok: false, message: 'must be a JSON array of objects' }
      return { ok: true, value: text === '' ? [] : text.split(',').map((item) => item.trim()) }
    }
    default:
      return { ok: true, value: raw }
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target
  for (const segment of path.slice(0, -1)) {
    const next = node[segment]
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[segment] = {}
    node = node[segment] as Record<string, unknown>
  }
  node[path[path.length - 1]!] = value
}
