/** The generated documents match their sources of truth (run `npm run docs` to refresh them). */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  CONFIG_REFERENCE_END,
  CONFIG_REFERENCE_START,
  renderConfigReference,
  renderJsonSchema,
  renderMetrics,
  renderReasonCodes,
} from '../../src/tools/docs/render-docs.ts'
import { REASONS } from '../../src/reasons.ts'
import { schemaFields } from '../../src/config/config-schema.ts'
import { envNameFor } from '../../src/config/env-overrides.ts'

const root = join(import.meta.dirname, '..', '..')
const read = (file: string) => readFileSync(join(root, file), 'utf8')

describe('generated documents', () => {
  it('config/ehi-gateway.schema.json matches the config schema', () => {
    expect(read('config/ehi-gateway.schema.json')).toBe(renderJsonSchema())
  })

  it('docs/metrics.md matches the metric catalog', () => {
    expect(read('docs/metrics.md')).toBe(renderMetrics())
  })

  it('docs/reason-codes.md matches the reason catalog', () => {
    expect(read('docs/reason-codes.md')).toBe(renderReasonCodes())
  })

  it('the README configuration reference matches the config schema', () => {
    const readme = read('README.md')
    const section = readme.slice(
      readme.indexOf(CONFIG_REFERENCE_START) + CONFIG_REFERENCE_START.length,
      readme.indexOf(CONFIG_REFERENCE_END),
    )
    expect(section.trim()).toBe(renderConfigReference())
  })

  it('the README reference lists every key with its environment variable', () => {
    const readme = read('README.md')
    for (const field of schemaFields()) {
      expect(readme).toContain(`| \`${field.path.join('.')}\` | \`${envNameFor(field.path)}\` |`)
    }
  })

  it('the reason-code document lists every code', () => {
    const doc = read('docs/reason-codes.md')
    for (const code of Object.keys(REASONS)) expect(doc).toContain(`| \`${code}\` |`)
  })
})
