/**
 * A CLI people can guess: `ehi-gateway <command> --help` for every command lists every option
 * its parser takes, and a usage problem is one line on stderr, exit 2, never a stack trace.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { COMMANDS, GROUPS } from '../../src/cli/commands.ts'
import { ROOT, runCli } from '../support/cli.ts'

async function cli(args: string[]) {
  const run = runCli(args)
  const code = await run.exited
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}

describe('--help', () => {
  it.each(COMMANDS.map((c) => [c.spec.name, c.spec] as const))(
    '%s --help shows the usage and every option, exit 0',
    async (name, spec) => {
      const r = await cli([...name.split(' '), '--help'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain(`Usage: ehi-gateway ${name}`)
      for (const [option, { value }] of Object.entries(spec.options))
        expect(r.stdout, option).toContain(`--${option}${value ? ` ${value}` : ''}`)
      expect(r.stdout).toContain('--help, -h')
    },
  )

  it('check --help lists --timeout', async () => {
    const r = await cli(['check', '--help'])
    expect(r.stdout).toMatch(/--timeout MS +How long each probe may take/)
  })

  it('every command parses its arguments through its option table (so --help shows them all)', () => {
    // A command calling parseArgs itself could take options its table, and so its help, lacks.
    const dir = join(ROOT, 'src', 'cli')
    const direct = readdirSync(dir).filter(
      (file) => file !== 'command-line.ts' && /\bparseArgs\s*\(/.test(readFileSync(join(dir, file), 'utf8')),
    )
    expect(direct).toEqual([])
  })

  it('ehi-gateway --help lists every command', async () => {
    const r = await cli(['--help'])
    expect(r.code).toBe(0)
    for (const { spec } of COMMANDS) expect(r.stdout).toContain(`  ${spec.name}  `)
  })

  it.each(Object.keys(GROUPS))('%s --help lists its commands', async (group) => {
    const r = await cli([group, '--help'])
    expect(r.code).toBe(0)
    for (const { spec } of COMMANDS.filter((c) => c.spec.name.startsWith(`${group} `)))
      expect(r.stdout).toContain(`  ${spec.name}  `)
  })

  it('ehi-gateway help COMMAND is COMMAND --help', async () => {
    const viaHelp = await cli(['help', 'certs', 'csr'])
    expect(viaHelp.code).toBe(0)
    expect(viaHelp.stdout).toBe((await cli(['certs', 'csr', '--help'])).stdout)
  })

  it('--help wins over other arguments, even wrong ones', async () => {
    const r = await cli(['serve', '--bogus', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: ehi-gateway serve')
  })
})

describe('usage errors: one line on stderr, exit 2, no stack trace', () => {
  it.each([
    [['serve', '--config'], 'ehi-gateway serve: --config needs a value: --config FILE'],
    [['serve', '-c'], 'ehi-gateway serve: --config needs a value'],
    [['serve', '--bogus'], 'ehi-gateway serve: unknown option --bogus (see ehi-gateway serve --help)'],
    [['serve', '--conifg', 'x.yaml'], 'unknown option --conifg; did you mean --config?'],
    [['serve', 'gateway.yaml'], 'ehi-gateway serve: unexpected argument "gateway.yaml"'],
    [['demo', '--port', '1'], 'ehi-gateway demo: unknown option --port'],
    [['demo', 'now'], 'ehi-gateway demo: unexpected argument "now"'],
    [['serv'], 'ehi-gateway: unknown command "serv"; did you mean serve?'],
    [['certs'], 'ehi-gateway certs: give a command: dev, inspect, csr'],
    [['certs', 'inspekt', 'x.pem'], 'ehi-gateway certs: unknown command "inspekt"; did you mean inspect?'],
    [['certs', 'dev', '--out'], 'ehi-gateway certs dev: --out needs a value: --out DIR'],
    [['certs', 'dev', 'x'], 'ehi-gateway certs dev: unexpected argument "x"'],
    [['certs', 'csr'], 'ehi-gateway certs csr: --cn NAME is required'],
    [['certs', 'csr', '--cn', 'a.example', '--key-type', 'dsa'], '--key-type is ec or rsa'],
    [['certs', 'inspect', 'a.pem', 'b.pem'], 'ehi-gateway certs inspect: unexpected argument "b.pem"'],
    [['certs', 'inspect', 'https://127.0.0.1:1', '--timeout', 'x'], '--timeout must be a number'],
    [['check'], 'ehi-gateway check: give exactly one URL'],
    [['check', 'https://127.0.0.1:1/', 'https://127.0.0.1:2/'], 'unexpected argument "https://127.0.0.1:2/"'],
    [
      ['check', 'https://127.0.0.1:1/', '--timeout'],
      'ehi-gateway check: --timeout needs a value: --timeout MS',
    ],
    [['check', 'https://127.0.0.1:1/', '--timeout', '5'], '--timeout must be a number of milliseconds'],
    [['check', 'https://127.0.0.1:1/', '--json=yes'], 'ehi-gateway check: --json takes no value'],
    [['check', 'https://127.0.0.1:1/', '--cert', 'x.pem'], '--cert and --key go together'],
    [['verify-config'], 'ehi-gateway verify-config: give one configuration file'],
    [['verify-config', 'a.yaml', 'b.yaml'], 'ehi-gateway verify-config: unexpected argument "b.yaml"'],
    [['simulate', '--rate'], 'ehi-gateway simulate: --rate needs a value: --rate R'],
    [['ledger'], 'ehi-gateway ledger: give a command: migrate, show, tail, export, stats, reconcile'],
    [['ledger', 'tail', '--no-json'], 'ehi-gateway ledger tail: unknown option --no-json'],
    [['reference-host', '--port', 'x'], 'ehi-gateway reference-host: --port must be 0..65535'],
    [['reference-host', 'x'], 'ehi-gateway reference-host: unexpected argument "x"'],
  ])('%j', async (args, message) => {
    const r = await cli(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(message)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/\(see ehi-gateway [\w -]*--help\)\n$/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.stdout).toBe('')
  })
})
