/**
 * The production build (scripts/build.ts): the configuration's libraries end up in one module,
 * and that module is what the source module is. The bundling step runs here on the source module
 * (its types stripped as tsc strips them) in a folder inside the repository, so the packages
 * resolve as they do for dist/; a child process then records every module that importing it loads.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { stripTypeScriptTypes } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleInPlace } from '../../scripts/build.ts'
import * as source from '../../src/config/config-libraries.ts'
import { ROOT as root, runTool } from '../support/cli.ts'

describe('the bundled config-libraries module', () => {
  let dir: string
  let bundle: string

  beforeAll(async () => {
    mkdirSync(join(root, '.test-tmp'), { recursive: true })
    dir = mkdtempSync(join(root, '.test-tmp', 'build-'))
    bundle = join(dir, 'config-libraries.js')
    const ts = readFileSync(join(root, 'src/config/config-libraries.ts'), 'utf8')
    writeFileSync(bundle, stripTypeScriptTypes(ts))
    await bundleInPlace(bundle)
  }, 60_000)

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('loads no module of TypeBox or yaml when imported', async () => {
    const log = join(dir, 'modules.log')
    const probe = `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log(typeof m.Value.Check)`
    const out = await runTool(
      process.execPath,
      ['--import', join(root, 'test/support/record-modules.ts'), '--input-type=module', '-e', probe],
      '',
      { RECORD_MODULES_TO: log },
    )
    expect(out.stdout.trim()).toBe('function')
    const loaded = readFileSync(log, 'utf8').trim().split('\n')
    expect(loaded.some((url) => url.endsWith('/config-libraries.js'))).toBe(true)
    expect(loaded.filter((url) => /\/node_modules\/(typebox|yaml)\//.test(url))).toEqual([])
  })

  it('is ASCII, so V8 keeps its source in one byte per character', () => {
    expect(readFileSync(bundle).findIndex((byte) => byte > 0x7f)).toBe(-1)
  })

  it('exports what the source module exports, and they work', async () => {
    const built = (await import(pathToFileURL(bundle).href)) as typeof source
    expect(Object.keys(built).sort()).toEqual(Object.keys(source).sort())
    const schema = built.Type.Object({ port: built.Type.Integer({ minimum: 1, default: 8443 }) })
    expect(built.Value.Default(schema, {})).toEqual({ port: 8443 })
    expect(built.Value.Check(schema, { port: 0 })).toBe(false)
    expect(built.parseYaml('port: 8443\n')).toEqual({ port: 8443 })
  })
})

describe('node scripts/build.ts', () => {
  it('prints its help and exits 0', async () => {
    const out = await runTool(process.execPath, [join(root, 'scripts/build.ts'), '--help'])
    expect(out.code).toBe(0)
    expect(out.stdout).toMatch(/^Usage: node scripts\/build\.ts\n/)
    expect(out.stdout).toContain('config-libraries.js')
  })

  it('refuses an unknown option in one line, exit 2, before building anything', async () => {
    const out = await runTool(process.execPath, [join(root, 'scripts/build.ts'), '--watch'])
    expect(out.code).toBe(2)
    expect(out.stderr).toBe(
      'node scripts/build.ts: unknown option --watch (see node scripts/build.ts --help)\n',
    )
  })
})
