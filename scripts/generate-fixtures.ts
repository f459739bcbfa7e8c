/** Writes test/fixtures/ehi/<scenario>.<xml|json> from src/tools/messages/synthetic-messages.ts (npm run fixtures). */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildMessage, SCENARIOS } from '../src/tools/messages/synthetic-messages.ts'

const dir = join(import.meta.dirname, '..', 'test', 'fixtures', 'ehi')
mkdirSync(dir, { recursive: true })
for (const scenario of SCENARIOS) {
  for (const format of ['xml', 'json'] as const) {
    writeFileSync(join(dir, `${scenario}.${format}`), buildMessage(scenario, format))
  }
}
console.log(`wrote ${SCENARIOS.length * 2} fixtures to ${dir}`)
