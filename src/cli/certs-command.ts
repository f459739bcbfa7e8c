/** `ehi-gateway certs dev`: the demo PKI (also used by the tests and the bench). */
import { resolve } from 'node:path'
import { DEV_PKI_FILES, ensureDevPki } from '../pki/dev-pki.ts'

export function certsDev(out: string, force: boolean): string {
  const dir = resolve(out)
  const result = ensureDevPki(dir, { force })
  const files = Object.values(DEV_PKI_FILES)
    .map((f) => `  ${f}`)
    .join('\n')
  return result.generated
    ? `Generated the dev PKI in ${dir} (${result.reason}):\n${files}\nPrivate keys (*.key) are git-ignored; never use them outside a demo.\n`
    : `The dev PKI in ${dir} is ${result.reason}; use --force to regenerate it.\n`
}
