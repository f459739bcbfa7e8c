// Lint enforces the architecture as well as style: the pure decision modules may not
// import I/O, and only the CLI entry may call process.exit.
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
  {
    // Pure decision modules: table-tested, no sockets, files or loggers.
    files: [
      'src/accept/ip-allowlist.ts',
      'src/accept/proxy-protocol.ts',
      'src/identity/**/*.ts',
      'src/config/config-schema.ts',
      'src/reasons.ts',
      'src/reply/**/*.ts',
      'src/ehi/**/*.ts',
      'src/admin/readiness.ts',
      'src/operate/reload-guard.ts',
      'src/tls/crl.ts',
      'src/tls/crl-schedule.ts',
      'src/check/checks.ts',
      'src/check/candidate-trust-check.ts',
      'src/observability/candidate-summary.ts',
      'src/check/cipher-suites.ts',
      'src/check/chain-analysis.ts',
      'src/check/ehi-answer-shape.ts',
      'src/check/openssl-output.ts',
      'src/check/report.ts',
      'src/check/sample-get-transaction.ts',
      'src/pki/x509-name.ts',
      'src/pki/certificate-info.ts',
      'src/pki/inspect-pem.ts',
      'src/simulate/latency-summary.ts',
      'src/simulate/render-report.ts',
      'src/simulate/simulation-plan.ts',
      'src/ledger/ledger-record.ts',
      'src/ledger/cutoff-reconcile.ts',
      'src/ledger/stored-answer.ts',
      'src/ledger/ledger-url.ts',
      'src/ledger/ledger-status.ts',
      'src/ledger/schema.ts',
      'src/ledger/render.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { paths: ioModules }] },
  },
  {
    files: ['src/cli/**/*.ts', 'scripts/**/*', 'bench/**/*', 'test/**/*', '.ci/**/*'],
    rules: { 'no-console': 'off', 'n/no-process-exit': 'off' },
  },
)
