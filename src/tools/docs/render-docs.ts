/**
 * Renders the generated documentation from the sources of truth: the JSON Schema and
 * docs/configuration.md from the config schema (and the reload rules), the reason-code table from
 * the catalog, the metric table from the metric catalog. `npm run docs` writes them; tests fail
 * when the committed files drift. Pure.
 */
import type { TSchema } from 'typebox'
import { ConfigSchema, FILE_PATH, schemaFields, type GatewayConfig } from '../../config/config-schema.ts'
import { CONFIG_FILE_ENV, envNameFor } from '../../config/env-overrides.ts'
import { restartOnlyChanges, WIDENING_RULES } from '../../control/rules/reload-guard.ts'
import { Registry } from 'prom-client'
import { createControlMetrics, createMetrics } from '../../observability/metrics.ts'
import { REASONS } from '../../reasons.ts'

export function renderJsonSchema(): string {
  const schema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://ehi-gateway.local/config/ehi-gateway.schema.json',
    ...JSON.parse(JSON.stringify(ConfigSchema)),
  }
  return `${JSON.stringify(schema, null, 2)}\n`
}

/**
 * docs/configuration.md: how a configuration is given (file, environment, paths, reload), then
 * every key of the schema. The file keys and the restart-only and never-widened settings are read
 * from the schema and the reload guard, so the page cannot promise what the code does not do.
 */
export function renderConfiguration(): string {
  const fields = [...schemaFields()]
  const example = (path: string[]) => `\`${path.join('.')}\` is \`${envNameFor(path)}\``
  const restartOnly = fields.map((field) => field.path).filter((path) => reloadOf(path) === 'restart')
  const lines = [
    '# Configuration',
    '',
    'Generated from the configuration schema (`src/config/config-schema.ts`) and the reload rules by',
    '`npm run docs`; a test fails when this page drifts from them.',
    '',
    '## The file',
    '',
    `One YAML or JSON file, named by \`ehi-gateway serve --config FILE\` or by \`${CONFIG_FILE_ENV}=FILE\`.`,
    'Only the keys marked **required** in the [reference](#reference) must be given; every other key',
    'has a default. [config/production.yaml](../config/production.yaml) is an annotated production',
    'template and [config/demo.yaml](../config/demo.yaml) is what `./dev start` serves. For completion',
    'and checks in your editor, point it at the JSON Schema',
    '[config/ehi-gateway.schema.json](../config/ehi-gateway.schema.json) (both examples start with the',
    '`yaml-language-server` comment that does).',
    '',
    'Check a file without starting anything with `ehi-gateway verify-config FILE`',
    '([go-live-toolkit.md](go-live-toolkit.md)). An invalid configuration never starts: the command',
    'exits with status 2 before listening and names every bad field and why, for example:',
    '',
    '```',
    'Invalid configuration (gateway.yaml): 2 problems',
    '  - clientAuth.rejectMode: must be one of "http", "handshake" (got "strict")',
    '  - tls.serverCertificates[0].key: does not match the certificate in /etc/ehi-gateway/server-chain.pem',
    '```',
    '',
    'The contents of a private key never appear in any message.',
    '',
    '## Environment variables',
    '',
    'Every key can be set from the environment, by one mechanical rule: `EHI_GATEWAY_`, then the key',
    'path with each segment turned from camelCase into UPPER_SNAKE and the segments joined by `__`.',
    `So ${example(['listen', 'port'])} and ${example(['clientAuth', 'pins', 'spkiSha256'])}.`,
    'A variable wins over the file. Numbers and booleans (`true`, `false`) are parsed; lists take a',
    'JSON array or a comma-separated string; lists of objects and maps (`ehi.productModes`) take JSON.',
    'An `EHI_GATEWAY_` variable that names no key is an error, so a typo cannot leave a default in force.',
    '',
    '## File paths',
    '',
    'These keys name files (certificates, keys, CAs, CRLs, secrets). A relative path resolves against',
    'the folder of the configuration file; absolute paths are clearer on a server. PEM text given in',
    'place of a path is refused: keep certificates and keys in files, mounted read-only.',
    '',
    ...filePathKeys().map((key) => `- \`${key}\``),
    '',
    'A relative path in a `sqlite:` URL (`ledger.url`) resolves the same way.',
    '',
    '## Reload or restart',
    '',
    'The gateway reloads on `SIGHUP` and, with `reload.watchFiles`, when the configuration file or a',
    'file it names changes. A reload reads and checks the whole new configuration and every file it',
    'names, then applies it in every worker, or nowhere: a reload that fails keeps the last good state',
    'and logs `reload_failed` with each problem ([architecture.md](architecture.md#reload)).',
    '',
    'These settings are bound to the listener or the process and take a restart. A reload that changes',
    'them applies everything else, keeps their old values and names them in the `reloaded` log line',
    '(`needsRestart`):',
    '',
    `- ${groupKeys(restartOnly, fields)}`,
    '',
    'A reload never widens access by accident (a half-written file can parse and still drop a whole',
    'control). These changes are refused on reload; restart to make them deliberately. Adding entries',
    'and narrowing reload.',
    '',
    ...WIDENING_RULES.map((rule) => `- \`${rule.path}\` ${rule.effect}`),
    '- a CA would get a CRL older than the one in force',
    '',
    '## Reference',
    '',
    'Reload: `yes` applies on reload; **restart** needs a restart; `not widening` applies on reload',
    'unless the change is one of the widening changes above.',
    '',
    '| Key | Environment variable | Type | Default | Reload | Description |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  for (const field of fields) {
    const node = field.schema as { description?: string; default?: unknown }
    const reload = reloadOf(field.path)
    lines.push(
      `| \`${field.path.join('.')}\` | \`${envNameFor(field.path)}\` | ${typeOf(field.schema)} | ${defaultOf(node, isRequired(field.path))} | ${reload === 'restart' ? '**restart**' : `\`${reload}\``} | ${cell(node.description ?? '')} |`,
    )
  }
  return `${lines.join('\n')}\n`
}

/** Whether a reload applies a change of this key, needs a restart, or refuses a widening change. */
function reloadOf(path: readonly string[]): 'yes' | 'restart' | 'not widening' {
  // The same config before and after but for the value at `path`: what the reload guard says.
  const before: Record<string, unknown> = { tls: {}, log: {} }
  const after = structuredClone(before)
  let node = after
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>
  node[path.at(-1)!] = '(changed)'
  if (restartOnlyChanges(before as unknown as GatewayConfig, after as unknown as GatewayConfig).length)
    return 'restart'
  const key = path.join('.')
  return WIDENING_RULES.some((rule) => key === rule.path || key.startsWith(`${rule.path}.`))
    ? 'not widening'
    : 'yes'
}

/** Every key that names a file, items of lists of objects included (`a.b[].c`). */
function filePathKeys(schema: TSchema = ConfigSchema, prefix = ''): string[] {
  const node = schema as {
    type?: string
    properties?: Record<string, TSchema>
    items?: TSchema
    [FILE_PATH]?: boolean
  }
  if (node[FILE_PATH]) return [prefix]
  if (node.type === 'array' && node.items) {
    const items = node.items as { type?: string }
    return filePathKeys(node.items, items.type === 'object' ? `${prefix}[]` : prefix)
  }
  if (node.type === 'object' && node.properties)
    return Object.entries(node.properties).flatMap(([key, child]) =>
      filePathKeys(child, prefix ? `${prefix}.${key}` : key),
    )
  return []
}

/** The keys as a list, a section named once as `section.*` when every key of it is there. */
function groupKeys(paths: readonly (readonly string[])[], fields: { path: string[] }[]): string {
  const listed = new Set(paths.map((path) => path.join('.')))
  const names: string[] = []
  for (const path of paths) {
    const section = fields.filter((field) => field.path[0] === path[0]).map((field) => field.path.join('.'))
    const whole = section.length > 1 && section.every((key) => listed.has(key))
    const name = whole ? `\`${path[0]}.*\`` : `\`${path.join('.')}\``
    if (!names.includes(name)) names.push(name)
  }
  return names.join(', ')
}

export function renderReasonCodes(): string {
  const lines = [
    '# Reason codes',
    '',
    'Generated from `src/reasons.ts` by `npm run docs`; a test fails when this file drifts.',
    '',
    'Every refusal and every answer the gateway makes itself carries exactly one of these codes. The',
    'same code appears in the HTTP answer (JSON body `reason` and header `x-ehi-gateway-reason`), in',
    'the log line (`reason`) and in the metric label (`reason`). Codes are public API: they are added,',
    'never renamed. Status 0 means no HTTP answer is possible: the connection is closed.',
    '',
    '| Code | Stage | HTTP status | Meaning |',
    '| --- | --- | --- | --- |',
  ]
  for (const [code, info] of Object.entries(REASONS)) {
    lines.push(
      `| \`${code}\` | ${info.stage} | ${info.status || '(connection closed)'} | ${cell(info.message)} |`,
    )
  }
  return `${lines.join('\n')}\n`
}

export interface CatalogEntry {
  name: string
  type: string
  labels: string[]
  help: string
  plane: 'data' | 'control'
}

/** Every metric of the catalog, read from fresh registries (so docs and code cannot differ). */
export function metricCatalog(): CatalogEntry[] {
  const entries: CatalogEntry[] = []
  for (const [plane, create] of [
    ['data', createMetrics],
    ['control', createControlMetrics],
  ] as const) {
    const registry = new Registry()
    create(registry)
    for (const metric of registry.getMetricsAsArray()) {
      const m = metric as unknown as {
        name: string
        help: string
        labelNames?: string[]
        constructor: { name: string }
      }
      entries.push({
        name: m.name,
        type: m.constructor.name.toLowerCase(),
        labels: [...(m.labelNames ?? [])],
        help: m.help,
        plane,
      })
    }
  }
  return entries
}

export function renderMetrics(): string {
  const lines = [
    '# Metrics',
    '',
    'Generated from `src/observability/metrics.ts` by `npm run docs`; a test fails when this file drifts',
    'and another checks that `/metrics` exposes every metric listed. Names are public API: metrics are',
    'added, never renamed. Scrape the admin server (`admin.host`:`admin.port`, see',
    '[configuration.md](configuration.md)) at `/metrics`. With several workers the counters and',
    'histograms are summed over the workers. The default Node.js process metrics (`process_*`,',
    '`nodejs_*`) are exported too.',
    '',
    '| Name | Type | Labels | Plane | Meaning |',
    '| --- | --- | --- | --- | --- |',
  ]
  for (const m of metricCatalog()) {
    lines.push(
      `| \`${m.name}\` | ${m.type} | ${m.labels.map((l) => `\`${l}\``).join(', ') || '-'} | ${m.plane} | ${cell(m.help)} |`,
    )
  }
  lines.push(
    '',
    '`reason` labels are the codes of [reason-codes.md](reason-codes.md); `class` is one of `decision`,',
    '`reversal`, `advice`, `financial`, `cutoff`, `other`, `unclassified`.',
  )
  return `${lines.join('\n')}\n`
}

function typeOf(schema: TSchema): string {
  const node = schema as { type?: string; enum?: unknown[]; items?: TSchema }
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ')
  if (node.type === 'array') {
    const items = node.items as { type?: string } | undefined
    return items?.type === 'object' ? 'list of objects' : `list of ${items?.type ?? 'values'}`
  }
  return node.type ?? 'value'
}

function defaultOf(node: { default?: unknown }, required: boolean): string {
  if (node.default === undefined) return required ? '**required**' : '(none)'
  if (Array.isArray(node.default) && node.default.length === 0) return '`[]`'
  const text = typeof node.default === 'string' ? node.default : JSON.stringify(node.default)
  return text.length > 40 ? `\`${text.slice(0, 37)}...\` (see schema)` : `\`${text}\``
}

function isRequired(path: readonly string[]): boolean {
  let node = ConfigSchema as unknown as { properties?: Record<string, unknown>; required?: string[] }
  for (const key of path) {
    if (!node.required?.includes(key)) return false
    node = node.properties?.[key] as typeof node
  }
  return true
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}
