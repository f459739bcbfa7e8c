/**
 * Each command's options as one table, from which both node:util's parseArgs configuration and
 * the command's --help text are made, so an option cannot be accepted without being documented
 * (test/e2e/cli-help.test.ts walks every command). Usage problems are one line, ending with where
 * the help is, and exit 2 (main.ts).
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'
import { closestName } from '../config/did-you-mean.ts'

export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  /** May be given several times; the value is a list. */
  multiple?: boolean
  /** Shown in the help as "(default: ...)" for string options. */
  default?: string | boolean | readonly string[]
  /** Also accepted as --no-NAME (booleans). */
  negatable?: boolean
  /** What the value is, in the help: FILE, URL, MS... (string options). */
  value?: string
  /** What the option does, in sentences. */
  help: string
}

export type OptionTable = Record<string, OptionSpec>

export interface CommandSpec<O extends OptionTable = OptionTable> {
  /** As typed: `serve`, `certs csr`, `ledger show`. */
  name: string
  /** How it is run, when it is not `ehi-gateway <name>` (the bench's scripts: `node bench/run-bench.ts`). */
  program?: string
  /** What follows the name in the usage line, options included: `URL [options]`. */
  synopsis: string
  /** One line for the list of commands in `ehi-gateway --help`. */
  summary: string
  /** The help's body: paragraphs separated by a blank line; lines starting with a space are kept as they are. */
  description: string
  options: O
  /** Most positional arguments taken (default 0); each one past it is a usage error. */
  maxPositionals?: number
  /** Printed after the options: exit codes, examples. */
  notes?: string
}

/**
 * The parsed options, typed by the table: booleans default to false and lists to empty, so only
 * a string option without a default may be `undefined`.
 */
export type OptionValues<O extends OptionTable> = {
  -readonly [K in keyof O]: O[K]['type'] extends 'boolean'
    ? boolean
    : O[K] extends { multiple: true }
      ? string[]
      : O[K] extends { default: string }
        ? string
        : string | undefined
}

export interface ParsedCommand<O extends OptionTable> {
  values: OptionValues<O>
  positionals: string[]
}

/** Declares a command, keeping the literal types of its option table. */
/** Standard output and error for the commands (main.ts, commands.ts). */
export const out = (text: string) => process.stdout.write(text)
export const err = (text: string) => process.stderr.write(text)

export function defineCommand<const O extends OptionTable>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec
}

/** A problem the command states itself: its message is printed as it is, no stack, with its exit code. */
export class CommandError extends Error {
  override name = 'CommandError'
  readonly exitCode: number
  constructor(message: string, exitCode: number) {
    super(message)
    this.exitCode = exitCode
  }
}

/** A usage problem: its message is the whole line printed (exit 2). */
export class UsageError extends CommandError {
  override name = 'UsageError'
  constructor(message: string) {
    super(message, 2)
  }
}

/** What a user types to run the command: `ehi-gateway check`, or its `program`. */
function invocation(spec: Pick<CommandSpec, 'name' | 'program'>): string {
  return spec.program ?? `ehi-gateway ${spec.name}`
}

/** `ehi-gateway check: give exactly one URL (see ehi-gateway check --help)` */
export function usageError(spec: Pick<CommandSpec, 'name' | 'program'>, problem: string): UsageError {
  const command = invocation(spec)
  return new UsageError(`${command}: ${problem} (see ${command} --help)`)
}

/** The help option every command takes. */
const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'This help.' }

/** True when the arguments ask for help (before a `--`), whatever else they hold. */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--')
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h')
}

/** Parses `args` by the command's table; throws a UsageError (one line) on any problem. */
export function parseCommand<O extends OptionTable>(
  spec: CommandSpec<O>,
  args: readonly string[],
): ParsedCommand<O> {
  const options: ParseArgsOptionsConfig = {}
  for (const [name, option] of Object.entries(spec.options)) {
    const fallback = option.type === 'boolean' ? false : option.multiple ? [] : undefined
    const value = option.default ?? fallback
    options[name] = {
      type: option.type,
      ...(option.short ? { short: option.short } : {}),
      ...(option.multiple ? { multiple: true } : {}),
      ...(value !== undefined ? { default: value as string } : {}),
    }
  }
  options.help = { type: 'boolean', short: 'h', default: false }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: true,
      allowNegative: Object.values(spec.options).some((o) => o.negatable),
    })
  } catch (error) {
    throw usageError(spec, describeParseError(error as Error & { code?: string }, spec))
  }
  for (const name of Object.keys(parsed.values)) {
    // allowNegative applies to every boolean; only the ones the table marks may be negated.
    if (args.includes(`--no-${name}`) && !spec.options[name]?.negatable)
      throw usageError(spec, `unknown option --no-${name}`)
  }
  const max = spec.maxPositionals ?? 0
  if (parsed.positionals.length > max)
    throw usageError(spec, `unexpected argument ${JSON.stringify(parsed.positionals[max])}`)
  return { values: parsed.values as OptionValues<O>, positionals: parsed.positionals }
}

/** parseArgs's messages are several sentences with advice about `--`; one plain line instead. */
function describeParseError(error: Error & { code?: string }, spec: CommandSpec): string {
  const named = /'(?:-\w, )?(--[\w-]+)/.exec(error.message)?.[1]
  const option = named ? spec.options[named.slice(2)] : undefined
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const given = /'(-[^']*)'/.exec(error.message)?.[1] ?? ''
      const known = [...Object.keys(spec.options), 'help']
      const near = given.startsWith('--') ? closestName(given.slice(2).split('=')[0]!, known) : undefined
      return `unknown option ${given}${near ? `; did you mean --${near}?` : ''}`
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (named && /does not take an argument/.test(error.message)) return `${named} takes no value`
      if (named) return `${named} needs a value: ${named} ${option?.value ?? 'VALUE'}`
  }
  return error.message.split(/\.\s|\n/)[0]!
}

/**
 * The arguments of a script outside the command table (bench/, scripts/), as main.ts treats a
 * command's: --help prints the help and exits 0; a usage problem, from the table or from `check`,
 * prints its one line and exits 2. Anything else `check` throws is the script's own failure.
 */
export function scriptArguments<O extends OptionTable, R>(
  spec: CommandSpec<O>,
  args: readonly string[],
  check: (parsed: ParsedCommand<O>) => R,
): R {
  if (wantsHelp(args)) {
    out(renderHelp(spec))
    process.exit(0)
  }
  try {
    return check(parseCommand(spec, args))
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    err(`${error.message}\n`)
    process.exit(2)
  }
}

/** The full help of one command. */
export function renderHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${invocation(spec)} ${spec.synopsis}`.trimEnd(), '']
  lines.push(...paragraphs(spec.description), '')
  lines.push('Options:')
  const rows = [...Object.entries(spec.options), ['help', HELP_OPTION] as const].map(([name, option]) => [
    flags(name, option),
    describeOption(option),
  ])
  lines.push(...table(rows, COLUMN))
  if (spec.notes) lines.push('', ...paragraphs(spec.notes))
  return `${lines.join('\n')}\n`
}

/** Lines of the commands' list in `ehi-gateway --help`. */
export function renderCommandList(specs: readonly Pick<CommandSpec, 'name' | 'summary'>[]): string[] {
  return table(
    specs.map((s) => [s.name, s.summary]),
    20,
  )
}

const WIDTH = 100
const COLUMN = 30

function flags(name: string, option: OptionSpec): string {
  const value = option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''
  const long = `--${name}${value}`
  const parts = [long]
  if (option.negatable) parts.push(`--no-${name}`)
  if (option.short) parts.push(`-${option.short}${value}`)
  return parts.join(', ')
}

function describeOption(option: OptionSpec): string {
  const text = option.help
  if (option.type !== 'string' || option.default === undefined) return text
  const shown = Array.isArray(option.default) ? option.default.join(', ') : String(option.default)
  return shown === '' ? text : `${text} Default: ${shown}.`
}

/** Two columns: the left padded to `column` (or alone on its line when longer), the right wrapped. */
function table(rows: readonly (readonly [string, string] | string[])[], column: number): string[] {
  const lines: string[] = []
  for (const [left, right] of rows) {
    const head = `  ${left}`
    const body = wrap(right!, WIDTH - column)
    if (head.length + 2 <= column) {
      lines.push(`${head.padEnd(column)}${body[0] ?? ''}`.trimEnd())
      for (const line of body.slice(1)) lines.push(`${' '.repeat(column)}${line}`)
    } else {
      lines.push(head)
      for (const line of body) lines.push(`${' '.repeat(column)}${line}`)
    }
  }
  return lines
}

function paragraphs(text: string): string[] {
  return text
    .trim()
    .split(/\n\s*\n/)
    .flatMap((paragraph, i) => {
      const block = paragraph.split('\n')
      const kept = block.every((line) => line.startsWith(' ')) ? block : wrap(block.join(' '), WIDTH)
      return i === 0 ? kept : ['', ...kept]
    })
}

/** Words of `text` in lines of at most `width` characters. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(line)
  return lines
}
