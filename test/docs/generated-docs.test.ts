/** The generated documents match their sources of truth (run `npm run docs` to refresh them). */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  renderConfiguration,
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

  it('docs/configuration.md matches the config schema and the reload rules', () => {
    expect(read('docs/configuration.md')).toBe(renderConfiguration())
  })

  it('the configuration reference lists every key with its environment variable', () => {
    const doc = read('docs/configuration.md')
    for (const field of schemaFields()) {
      expect(doc).toContain(`| \`${field.path.join('.')}\` | \`${envNameFor(field.path)}\` |`)
    }
  })

  it.each([
    ['listen.port', '**restart**'],
    ['tls.handshakeTimeoutMs', '**restart**'],
    ['log.pretty', '**restart**'],
    ['workers', '**restart**'],
    ['log.level', '`yes`'],
    ['tls.clientCa', '`yes`'],
    ['upstream.url', '`yes`'],
    ['network.allowlist', '`not widening`'],
    ['clientAuth.pins.spkiSha256', '`not widening`'],
    ['tls.crl.enabled', '`not widening`'],
  ])('the configuration reference says what a reload does with %s: %s', (key, reload) => {
    const row = read('docs/configuration.md')
      .split('\n')
      .find((line) => line.startsWith(`| \`${key}\` |`))
    expect(row?.split(' | ')[4]).toBe(reload)
  })

  it('the README carries no copy of the configuration reference', () => {
    expect(read('README.md')).not.toContain(`| \`${envNameFor(['listen', 'port'])}\` |`)
  })

  it('the reason-code document lists every code', () => {
    const doc = read('docs/reason-codes.md')
    for (const code of Object.keys(REASONS)) expect(doc).toContain(`| \`${code}\` |`)
  })
})
