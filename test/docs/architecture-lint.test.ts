/**
 * The folder architecture is enforced by lint (eslint.config.js, docs/architecture.md): each row
 * lints a one-line module placed in a folder and says whether the import is refused.
 */
import { ESLint } from 'eslint'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const eslint = new ESLint({ cwd: root })

async function refused(file: string, code: string): Promise<boolean> {
  const [result] = await eslint.lintText(`${code}\nexport const x = y\n`, { filePath: join(root, file) })
  return result!.messages.some((m) => m.ruleId === 'no-restricted-imports')
}

/** One table row: the one-line module `code`, linted as `file`, is refused or not. */
async function expectRefused(file: string, code: string, want: boolean): Promise<void> {
  expect(await refused(file, code)).toBe(want)
}

describe('import direction between folders', () => {
  it.each([
    // The plane (the request path) imports none of the wiring, the control plane or the tools.
    ['src/plane/http/x.ts', "import { y } from '../../control/control-plane.ts'", true],
    ['src/plane/http/x.ts', "import { y } from '../../server/start-gateway.ts'", true],
    ['src/plane/ehi/x.ts', "import { y } from '../../tools/simulate/run-simulation.ts'", true],
    ['src/plane/io/x.ts', "import { y } from '../../server/listener.ts'", true],
    ['src/plane/identity/x.ts', "import { y } from '../../cli/main.ts'", true],
    ['src/plane/http/x.ts', "import { y } from '../../runtime/compile-runtime.ts'", false],
    // The ledger's store is I/O; its pure rules are not.
    ['src/plane/http/x.ts', "import { y } from '../../ledger/ledger.ts'", true],
    ['src/plane/http/x.ts', "import { y } from '../../ledger/rules/ledger-record.ts'", false],
    ['src/plane/http/x.ts', "import { y } from '../ehi/parse-ehi-message.ts'", false],
    // A type carries no behaviour: allowed across layers.
    ['src/plane/http/x.ts', "import type { y } from '../../control/control-plane.ts'", false],
    ['src/runtime/x.ts', "import { y } from '../control/control-plane.ts'", true],
    ['src/control/x.ts', "import { y } from '../server/start-gateway.ts'", true],
    ['src/control/x.ts', "import { y } from '../runtime/compile-runtime.ts'", false],
    // Tools are never loaded by serve: nothing but the CLI imports them.
    ['src/server/x.ts', "import { y } from '../tools/reference-host/reference-host.ts'", true],
    ['src/control/x.ts', "import { y } from '../tools/pki/dev-pki.ts'", true],
    ['src/ledger/x.ts', "import { y } from '../tools/messages/synthetic-messages.ts'", true],
    ['src/cli/x.ts', "import { y } from '../tools/reference-host/reference-host.ts'", false],
    ['src/tools/go-live/x.ts', "import { y } from '../../plane/ehi/parse-ehi-message.ts'", false],
    ['src/tools/go-live/x.ts', "import { y } from '../../cli/main.ts'", true],
  ])('%s: %s -> refused %s', expectRefused)
})

describe('the bundled libraries come through config/config-libraries.ts', () => {
  it.each([
    ['src/config/x.ts', "import Value from 'typebox/value'", true],
    ['src/cli/x.ts', "import { parse } from 'yaml'", true],
    ['src/plane/ehi/x.ts', "import Type from 'typebox'", true],
    ['src/config/x.ts', "import { Value } from './config-libraries.ts'", false],
    ['src/runtime/x.ts', "import type { TSchema } from 'typebox'", false],
  ])('%s: %s -> refused %s', expectRefused)
})

describe('pure folders', () => {
  it.each([
    ['src/plane/ehi/x.ts', "import { readFileSync } from 'node:fs'", true],
    ['src/plane/identity/x.ts', "import { request } from 'undici'", true],
    ['src/plane/http/x.ts', "import { createServer } from 'node:http'", true],
    ['src/control/rules/x.ts', "import { readFileSync } from 'node:fs'", true],
    ['src/tools/go-live/rules/x.ts', "import { connect } from 'node:net'", true],
    ['src/ledger/rules/x.ts', "import pino from 'pino'", true],
    // The plane's I/O edges, and the layers around it, may do I/O.
    ['src/plane/io/x.ts', "import { connect } from 'node:net'", false],
    ['src/control/x.ts', "import { readFileSync } from 'node:fs'", false],
    ['src/plane/http/x.ts', "import type { IncomingMessage } from 'node:http'", false],
    ['src/plane/accept/x.ts', "import { BlockList } from 'node:net'", false],
  ])('%s: %s -> refused %s', expectRefused)
})
