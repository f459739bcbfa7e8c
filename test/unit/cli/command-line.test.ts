/**
 * The option tables commands are parsed and documented from: a parse problem is one plain line
 * naming the command and where its help is; the help lists every option with its value and
 * default, wrapped to 100 columns.
 */
import { describe, expect, it } from 'vitest'
import {
  defineCommand,
  parseCommand,
  renderHelp,
  UsageError,
  wantsHelp,
  wrap,
} from '../../../src/cli/command-line.ts'

const spec = defineCommand({
  name: 'example run',
  synopsis: 'FILE [options]',
  summary: 'An example.',
  description:
    'Does the example thing, described in enough words to need more than one line of help text when wrapped.',
  options: {
    config: { type: 'string', short: 'c', value: 'FILE', help: 'The configuration.' },
    timeout: { type: 'string', value: 'MS', default: '5000', help: 'How long to wait.' },
    name: { type: 'string', multiple: true, value: 'NAME', help: 'A name; repeat for each.' },
    json: { type: 'boolean', help: 'JSON output.' },
    follow: { type: 'boolean', default: true, negatable: true, help: 'Keep following.' },
  },
  maxPositionals: 1,
  notes: 'Exit codes: 0 ok.',
})

function problem(args: string[]): string {
  try {
    parseCommand(spec, args)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return (error as Error).message
  }
  throw new Error(`no usage error for ${JSON.stringify(args)}`)
}

describe('parseCommand', () => {
  it('types values by the table: defaults, booleans false, lists empty', () => {
    const { values, positionals } = parseCommand(spec, ['a.yaml'])
    expect(values).toEqual({ timeout: '5000', name: [], json: false, follow: true, help: false })
    expect(positionals).toEqual(['a.yaml'])
  })

  it('takes short names, repeats and negation of a negatable boolean', () => {
    const { values } = parseCommand(spec, ['-c', 'x.yaml', '--name', 'a', '--name', 'b', '--no-follow'])
    expect(values).toMatchObject({ config: 'x.yaml', name: ['a', 'b'], follow: false })
  })

  it.each([
    [['--config'], '--config needs a value: --config FILE'],
    [['-c'], '--config needs a value: --config FILE'],
    [['--config', '--json'], '--config needs a value: --config FILE'],
    [['--bogus'], 'unknown option --bogus'],
    [['--timeot', '1'], 'unknown option --timeot; did you mean --timeout?'],
    [['--json=yes'], '--json takes no value'],
    [['--no-json'], 'unknown option --no-json'],
    [['a', 'b'], 'unexpected argument "b"'],
  ])('%j: %s', (args, message) => {
    expect(problem(args)).toBe(`ehi-gateway example run: ${message} (see ehi-gateway example run --help)`)
  })

  it('every message is one line', () => {
    for (const args of [['--config'], ['--bogus'], ['-x'], ['--json=1'], ['a', 'b']])
      expect(problem(args)).not.toContain('\n')
  })
})

describe('wantsHelp', () => {
  it.each([
    [['--help'], true],
    [['-h'], true],
    [['--bogus', '--help'], true],
    [['--', '--help'], false],
    [['x'], false],
  ])('%j -> %s', (args, expected) => {
    expect(wantsHelp(args)).toBe(expected)
  })
})

describe('renderHelp', () => {
  const help = renderHelp(spec)

  it('starts with the usage line', () => {
    expect(help.split('\n')[0]).toBe('Usage: ehi-gateway example run FILE [options]')
  })

  it.each([
    ['--config FILE, -c FILE', 'The configuration.'],
    ['--timeout MS', 'How long to wait. Default: 5000.'],
    ['--name NAME', 'A name; repeat for each.'],
    ['--json', 'JSON output.'],
    ['--follow, --no-follow', 'Keep following.'],
    ['--help, -h', 'This help.'],
  ])('lists %s', (flags, text) => {
    expect(help).toMatch(
      new RegExp(`^  ${flags.replace(/[-,]/g, '\\$&')} +${text.replace('.', '\\.')}$`, 'm'),
    )
  })

  it('ends with the notes and keeps every line within 100 columns', () => {
    expect(help.trimEnd().endsWith('Exit codes: 0 ok.')).toBe(true)
    for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(100)
  })
})

describe('wrap', () => {
  it('breaks between words, never inside one', () => {
    expect(wrap('aaa bbb ccc dddd', 8)).toEqual(['aaa bbb', 'ccc dddd'])
    expect(wrap('averyveryverylongword x', 5)).toEqual(['averyveryverylongword', 'x'])
  })
})
