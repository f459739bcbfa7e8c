/** The example configurations shipped in config/, and the README's minimal one, are valid against the schema. */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { validateConfig } from '../../src/config/load-config.ts'

const dir = join(import.meta.dirname, '..', '..', 'config')
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))

describe('example configurations', () => {
  it('exist', () => {
    expect(files).toEqual(expect.arrayContaining(['demo.yaml', 'production.yaml']))
  })

  it.each(files)('%s validates against the schema', (file) => {
    const { issues } = validateConfig(parse(readFileSync(join(dir, file), 'utf8')))
    expect(issues).toEqual([])
  })
})

describe("the README's minimal configuration", () => {
  it('validates against the schema', () => {
    const readme = readFileSync(join(dir, '..', 'README.md'), 'utf8')
    const block = /^ *```yaml\n([\s\S]*?)^ *```$/m.exec(readme)?.[1]
    expect(block).toBeDefined()
    const { issues } = validateConfig(parse(block!))
    expect(issues).toEqual([])
  })
})
