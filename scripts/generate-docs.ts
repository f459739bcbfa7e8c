/** Writes the generated documentation (npm run docs). */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  renderConfiguration,
  renderJsonSchema,
  renderMetrics,
  renderReasonCodes,
} from '../src/tools/docs/render-docs.ts'

const root = join(import.meta.dirname, '..')
const written = {
  'config/ehi-gateway.schema.json': renderJsonSchema(),
  'docs/configuration.md': renderConfiguration(),
  'docs/reason-codes.md': renderReasonCodes(),
  'docs/metrics.md': renderMetrics(),
}
for (const [file, text] of Object.entries(written)) writeFileSync(join(root, file), text)
console.log(`wrote ${Object.keys(written).join(', ')}`)
