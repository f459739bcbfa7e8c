/**
 * `npm test`: the project's whole check, in the order a failure is cheapest to read:
 * format, lint, types, the production build, the vitest suite, then the bench smoke run. Ends with
 * the plain line `N passed, M failed` (each check counts as one test), which CI reads; also written
 * to .test-summary so .ci/run can repeat it last.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const bin = (name: string) => join(root, 'node_modules', '.bin', name)
const extraArgs = process.argv.slice(2)

let passed = 0
let failed = 0
const failures: string[] = []

function check(name: string, command: string, args: string[]): void {
  process.stdout.write(`\n== ${name}: ${[command.split('/').pop(), ...args].join(' ')}\n`)
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' })
  if (result.status === 0) passed++
  else {
    failed++
    failures.push(name)
  }
}

if (extraArgs.length === 0) {
  check('format', bin('prettier'), ['--check', '.'])
  check('lint', bin('eslint'), ['.'])
  check('typecheck', bin('tsc'), ['-p', 'tsconfig.json'])
  check('build', process.execPath, ['scripts/build.ts'])
}

const report = join(root, '.test-results.json')
rmSync(report, { force: true })
process.stdout.write('\n== vitest\n')
const vitest = spawnSync(
  bin('vitest'),
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...extraArgs],
  {
    cwd: root,
    stdio: 'inherit',
  },
)
if (existsSync(report)) {
  const results = JSON.parse(readFileSync(report, 'utf8')) as {
    numPassedTests: number
    numFailedTests: number
    numFailedTestSuites: number
  }
  passed += results.numPassedTests
  failed += results.numFailedTests
  // A suite that fails to load has no failed tests but must still fail the run.
  if (results.numFailedTestSuites > 0 && results.numFailedTests === 0) failed += results.numFailedTestSuites
  if (results.numFailedTests || results.numFailedTestSuites) failures.push('vitest')
} else {
  failed++
  failures.push(`vitest (exit ${vitest.status}, no report)`)
}

// The bench suite's smoke run (bench/README.md): every target and scenario once, briefly, with no
// thresholds; it fails only when the suite itself does not work.
if (extraArgs.length === 0) check('bench:smoke', process.execPath, ['bench/run-bench.ts', '--smoke'])

const summary = `${passed} passed, ${failed} failed`
writeFileSync(join(root, '.test-summary'), `${summary}\n`)
if (failures.length) process.stdout.write(`\nFailed: ${failures.join(', ')}\n`)
process.stdout.write(`\n${summary}\n`)
process.exitCode = failed > 0 ? 1 : 0
