/**
 * docs/ehi-handling.md carries the conformance table that test/integration/ehi-conformance.test.ts
 * runs: the same kinds, pairs, classes per mode and answers, row for row, and the README links it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CONFORMANCE, conformanceRow } from '../support/ehi-conformance.ts'

const root = join(import.meta.dirname, '..', '..')
const doc = readFileSync(join(root, 'docs', 'ehi-handling.md'), 'utf8')
const readme = readFileSync(join(root, 'README.md'), 'utf8')

describe('docs/ehi-handling.md', () => {
  it.each(CONFORMANCE.map((row) => ({ kind: row.kind, line: conformanceRow(row) })))(
    'has the row of "$kind" as the conformance test runs it',
    ({ line }) => {
      expect(doc.split('\n')).toContain(line)
    },
  )

  it('has no row the conformance test does not run', () => {
    const table = doc.slice(doc.indexOf('| Message kind |'))
    const rows = table.split('\n\n')[0]!.split('\n').slice(2)
    expect(rows).toHaveLength(CONFORMANCE.length)
  })

  it("names only Thredd's public pages as sources, never the team's notes", () => {
    expect(doc).not.toMatch(/shared\/docs|ehi-domain\.md/)
    expect(doc).toContain('https://docs.thredd.com/ehi/Content/Requirements/Processing_EHI_Transactions.htm')
  })

  it('is linked from the README', () => {
    expect(readme).toContain('(docs/ehi-handling.md)')
    expect(readme).not.toMatch(/\.\.\/shared\/|ehi-domain\.md/)
  })
})
