/**
 * The configuration loader's libraries, TypeBox (the schema) and yaml, imported here and nowhere
 * else (lint enforces it; type-only imports are free).
 *
 * Why one module: TypeBox ships as 679 ES modules, and Node keeps each module's record, source
 * and compiled code for the life of the process: about 8 MiB of an idle gateway, which reads its
 * configuration at start and on reload only (docs/bench.md, Memory). The build (scripts/build.ts)
 * replaces the compiled copy of this file with a single module that holds both libraries; from
 * source (`node src/cli/main.ts`, the tests) it re-exports them as they are.
 */
/* eslint-disable no-restricted-imports -- the one place these libraries are imported */
export { default as Type } from 'typebox'
export type { Static, TSchema } from 'typebox'
export { Settings } from 'typebox/system'
export { default as Value } from 'typebox/value'
export { parse as parseYaml } from 'yaml'
