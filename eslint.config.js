// Lint enforces the architecture as well as style: import direction between the folders, pure
// decision folders without I/O, and only the CLI entry may call process.exit.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import n from 'eslint-plugin-n'
import globals from 'globals'

const ioModules = [
  'node:fs',
  'node:fs/promises',
  'node:tls',
  'node:http',
  'node:https',
  'undici',
  'fastify',
  'pino',
  // node:net's BlockList and isIP are pure; its sockets and servers are not.
  { name: 'node:net', importNames: ['createServer', 'connect', 'createConnection', 'Socket', 'Server'] },
]

/**
 * The configuration's libraries come only through src/config/config-libraries.ts, which the build
 * bundles into one module (scripts/build.ts) so that a serving process does not load TypeBox's
 * hundreds of modules one by one. Type-only imports are free.
 */
const bundledLibraries = {
  group: ['typebox', 'typebox/*', 'yaml'],
  allowTypeImports: true,
  message: 'import it from src/config/config-libraries.ts, which the build bundles (scripts/build.ts)',
}

/**
 * One layer's import rule: `import` lists the top-level src/ folders it may not import (matched
 * on the import path, so `../../server/x.ts` counts); `pure` adds the I/O modules. Type-only
 * imports are allowed across layers: a type carries no behaviour.
 */
function layer(files, { pure = false, import: banned, alsoBan = [], ignores = [] }) {
  return [
    {
      files: [files],
      ignores,
      rules: {
        'no-restricted-imports': [
          'error',
          {
            ...(pure ? { paths: ioModules.map(typesAllowed) } : {}),
            patterns: [
              ...banned.map((folder) => ({
                group: [`**/${folder}/**`, `../${folder}/*`, `./${folder}/*`],
                allowTypeImports: true,
                message: `this layer may not import src/${folder}/ (see docs/architecture.md)`,
              })),
              ...alsoBan.map((glob) => ({
                group: [glob],
                allowTypeImports: true,
                message: 'this layer may not import that module (see docs/architecture.md)',
              })),
              bundledLibraries,
            ],
          },
        ],
      },
    },
  ]
}

function typesAllowed(entry) {
  return typeof entry === 'string'
    ? { name: entry, allowTypeImports: true, message: 'pure module: no I/O' }
    : { ...entry, allowTypeImports: true, message: 'pure module: no I/O' }
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', 'certs/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { n },
    rules: {
      'n/prefer-node-protocol': 'error',
      'n/no-process-exit': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'error',
    },
  },
  // The architecture, by folder (docs/architecture.md): who may import whom, and which folders
  // hold pure decisions. The plane is the request path and imports none of the process wiring,
  // the control plane or the tools; tools are never loaded by `serve`; `rules/` folders and the
  // plane outside plane/io/ are pure (no sockets, files, HTTP clients or loggers).
  ...layer('src/plane/io/**/*.ts', { may: 'not', import: ['server', 'control', 'tools', 'cli'] }),
  ...layer('src/plane/**/*.ts', {
    pure: true,
    may: 'not',
    import: ['server', 'control', 'tools', 'cli'],
    // The ledger's store and queue are I/O; its pure rules (ledger/rules/) the plane may use.
    alsoBan: ['**/ledger/*.ts'],
    ignores: ['src/plane/io/**'],
  }),
  ...layer('src/runtime/**/*.ts', { may: 'not', import: ['server', 'control', 'tools', 'cli'] }),
  ...layer('src/control/**/*.ts', { may: 'not', import: ['server', 'tools', 'cli'] }),
  ...layer('src/server/**/*.ts', { may: 'not', import: ['tools', 'cli'] }),
  ...layer('src/{config,observability,ledger}/**/*.ts', {
    may: 'not',
    import: ['server', 'control', 'tools', 'cli'],
  }),
  ...layer('src/reasons.ts', { pure: true, may: 'not', import: ['server', 'control', 'tools', 'cli'] }),
  ...layer('src/config/config-schema.ts', {
    pure: true,
    may: 'not',
    import: ['server', 'control', 'tools', 'cli'],
  }),
  ...layer('src/tools/**/*.ts', { may: 'not', import: ['cli'] }),
  ...layer('src/cli/**/*.ts', { may: 'not', import: [] }),
  // rules/ folders are pure wherever they are; they keep their layer's import direction.
  ...layer('src/control/rules/**/*.ts', { pure: true, may: 'not', import: ['server', 'tools', 'cli'] }),
  ...layer('src/ledger/rules/**/*.ts', {
    pure: true,
    may: 'not',
    import: ['server', 'control', 'tools', 'cli'],
  }),
  ...layer('src/tools/**/rules/**/*.ts', { pure: true, may: 'not', import: ['cli'] }),
  {
    files: ['src/cli/**/*.ts', 'scripts/**/*', 'bench/**/*', 'test/**/*', '.ci/**/*'],
    rules: { 'no-console': 'off', 'n/no-process-exit': 'off' },
  },
)
