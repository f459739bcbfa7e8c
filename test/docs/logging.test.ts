/**
 * docs/logging.md is the SIEM user's reference: every event the code logs has its section, every
 * section names an event the code logs, and the values a rule may match on (the audit fields, the
 * masking marker, answer problems, CRL and OCSP failure kinds) are the code's own.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CRL_FETCH_FAILURES } from '../../src/control/rules/crl-schedule.ts'
import { MASKED } from '../../src/plane/ehi/audit-record.ts'
import { ANSWER_PROBLEMS } from '../../src/plane/ehi/check-host-answer.ts'
import { AUDIT_FIELDS, HASHED_FIELDS } from '../../src/plane/ehi/ehi-message.ts'
import { OCSP_ERRORS } from '../../src/plane/identity/ocsp/ocsp-message.ts'

const root = join(import.meta.dirname, '..', '..')
const doc = readFileSync(join(root, 'docs', 'logging.md'), 'utf8')

/** Every `event: 'name'` in src/, wherever a log line is built. */
function loggedEvents(dir = join(root, 'src')): Set<string> {
  const events = new Set<string>()
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8')
    for (const [, name] of text.matchAll(/\bevent:\s*['"`]([a-z0-9_]+)['"`]/g)) events.add(name!)
  }
  return events
}

const logged = loggedEvents()
const documented = new Set([...doc.matchAll(/^### `([a-z0-9_]+)`$/gm)].map((m) => m[1]!))

describe('docs/logging.md', () => {
  it('finds the events in the code', () => {
    expect(logged.size).toBeGreaterThan(30)
    expect(logged).toContain('request')
    expect(logged).toContain('connection_refused')
  })

  it('documents every event the code logs', () => {
    expect([...logged].filter((event) => !documented.has(event)).sort()).toEqual([])
  })

  it('documents no event the code does not log', () => {
    expect([...documented].filter((event) => !logged.has(event)).sort()).toEqual([])
  })

  it('lists every event in the table at a glance, linked to its section', () => {
    for (const event of logged) expect(doc).toContain(`| [\`${event}\`](#${event}) |`)
  })

  it('names every field the audit line can carry, and Token only as its hash', () => {
    for (const field of AUDIT_FIELDS) expect(doc).toContain(`\`${field}\``)
    for (const field of HASHED_FIELDS) expect(doc).toContain(`**\`${field}\`** is logged only as`)
  })

  it('shows the exact marker of a masked field', () => {
    // Lines are wrapped: compare with line breaks and indentation read as one space.
    expect(doc.replace(/\n\s*/g, ' ')).toContain(`\`${MASKED}\``)
  })

  it('lists the values of answer problems, CRL fetch failures and OCSP errors', () => {
    for (const value of [...ANSWER_PROBLEMS, ...CRL_FETCH_FAILURES, ...OCSP_ERRORS])
      expect(doc).toContain(`\`${value}\``)
  })
})
