/**
 * `npm run build`: the production build that the container image, the bench and `npm test` run.
 *
 *   1. tsc -p tsconfig.build.json: src/ -> dist/src/, one .js file per .ts file;
 *   2. dist/src/config/config-libraries.js, which re-exports TypeBox and yaml, becomes one module
 *      holding both (rolldown), so a serving process loads one module instead of about 750
 *      (src/config/config-libraries.ts says why; docs/bench.md, Memory, has the measurement).
 *
 * Everything else stays one file per source file, as tsc wrote it: a bundle of the whole gateway
 * was measured too, and held more memory than the files it replaced.
 */
import { spawnSync } from 'node:child_process'
import { renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { build } from 'rolldown'
import { defineCommand, scriptArguments } from '../src/cli/command-line.ts'

const root = join(import.meta.dirname, '..')

/** The compiled module that the build turns into one file with its libraries inside. */
const BUNDLED_MODULE = 'dist/src/config/config-libraries.js'

const BUILD = defineCommand({
  name: 'build',
  program: 'node scripts/build.ts',
  synopsis: '',
  summary: 'The production build',
  description:
    "Compiles src/ to dist/src/ with TypeScript (tsconfig.build.json), then bundles the configuration's libraries (TypeBox, yaml) into dist/src/config/config-libraries.js. The container image runs the result (docker/Dockerfile); so do the bench and npm test.",
  options: {},
})

/**
 * Replaces the ES module `file` with one file holding it and every package it imports. ASCII
 * only: V8 keeps a module's source for its lifetime, in two bytes per character as soon as one
 * character is outside Latin-1 (TypeBox's sources hold a few). Comments go, except licences.
 */
export async function bundleInPlace(file: string): Promise<void> {
  const next = `${file}.bundle.js`
  await build({
    input: file,
    platform: 'node',
    logLevel: 'warn',
    output: {
      file: next,
      format: 'esm',
      charset: 'ascii',
      comments: { legal: true, annotation: false, jsdoc: false },
      sourcemap: false,
    },
  })
  renameSync(next, file)
  // tsc's source map describes the file before bundling.
  rmSync(`${file}.map`, { force: true })
}

async function main(): Promise<void> {
  scriptArguments(BUILD, process.argv.slice(2), () => undefined)
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc')
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  })
  if (compiled.status !== 0) {
    process.exitCode = compiled.status ?? 1
    return
  }
  await bundleInPlace(join(root, BUNDLED_MODULE))
}

if (import.meta.main) await main()
