/** Writes the generated documentation (npm run docs). */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  CONFIG_REFERENCE_END,
  CONFIG_REFERENCE_START,
  renderConfigReference,
  renderJsonSchema,
  renderMetrics,
  renderReasonCodes,
  replaceSection,
} from '../src/tools/docs/render-docs.ts'

const root = join(import.meta.dirname, '..')
writeFileSync(join(root, 'config', 'ehi-gateway.schema.json'), renderJsonSchema())
writeFileSync(join(root, 'docs', 'reason-codes.md'), renderReasonCodes())
writeFileSync(join(root, 'docs', 'metrics.md'), renderMetrics())
const readme = join(root, 'README.md')
writeFileSync(
  readme,
  replaceSection(
    readFileSync(readme, 'utf8'),
    CONFIG_REFERENCE_START,
    CONFIG_REFERENCE_END,
    renderConfigReference(),
  ),
)
console.log(
  'wrote config/ehi-gateway.schema.json, docs/reason-codes.md and the README configuration reference',
)
