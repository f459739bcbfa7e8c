/**
 * The bench's two scripts as a user meets them: --help, and a usage problem as one line with
 * exit code 2, before anything is started.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT as root, runTool } from '../support/cli.ts'

const run = (script: string, args: string[]) => runTool(process.execPath, [join(root, script), ...args])

describe.each([
  ['bench/run-bench.ts', ['--targets=haproxy'], 'node bench/run-bench.ts: --targets: unknown target haproxy'],
  [
    'bench/ledger-bench.ts',
    ['--engines=mysql'],
    'node bench/ledger-bench.ts: --engines: unknown engine mysql',
  ],
])('%s', (script, bad, problem) => {
  it('prints its help with every option and exits 0', async () => {
    const out = await run(script, ['--help'])
    expect(out.code).toBe(0)
    expect(out.stdout).toMatch(new RegExp(`^Usage: node ${script.replace('.', '\\.')} \\[options\\]`))
    expect(out.stdout).toContain('--help')
  })

  it('refuses an unknown option in one line, exit 2', async () => {
    const out = await run(script, ['--bogus'])
    expect(out.code).toBe(2)
    expect(out.stderr).toBe(`node ${script}: unknown option --bogus (see node ${script} --help)\n`)
  })

  it('refuses a value it does not know in one line, exit 2', async () => {
    const out = await run(script, bad)
    expect(out.code).toBe(2)
    expect(out.stderr.split('\n').filter(Boolean)).toHaveLength(1)
    expect(out.stderr).toContain(problem)
  })
})
