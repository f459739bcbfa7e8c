#!/usr/bin/env node
/**
 * The ehi-gateway command. Thin: finds the command, parses its arguments by its option table
 * (command-line.ts), calls the library, maps the result to an exit code (0 ok, 1 failure at run
 * time, 2 bad configuration or usage). The only module that may end the process.
 *
 * `serve` loads serve-command.ts alone: the process that runs for months holds none of the other
 * commands' modules (the tools, the PKI builder, the simulator), which cost it memory for nothing.
 */
import { ConfigError } from '../config/config-issues.ts'
import { closestName } from '../config/did-you-mean.ts'
import { packageVersion } from '../package-info.ts'
import {
  CommandError,
  err,
  out,
  renderCommandList,
  renderHelp,
  UsageError,
  wantsHelp,
} from './command-line.ts'
import type { Command } from './commands.ts'

const usage = (COMMANDS: readonly Command[]) => `Usage: ehi-gateway <command> [options]

Commands:
${renderCommandList(COMMANDS.map((c) => c.spec)).join('\n')}

ehi-gateway <command> --help shows a command's options. ehi-gateway --version shows the version.

Exit codes: 0 ok, 1 failure at run time, 2 invalid configuration or usage.
`

function groupHelp(COMMANDS: readonly Command[], GROUPS: Record<string, string>, group: string): string {
  const subs = COMMANDS.filter((c) => c.spec.name.startsWith(`${group} `)).map((c) => c.spec)
  return `Usage: ehi-gateway ${group} <command> [options]

${GROUPS[group]}

Commands:
${renderCommandList(subs).join('\n')}

See ehi-gateway ${group} <command> --help.
`
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === 'serve') return runCommand((await import('./serve-command.ts')).SERVE_COMMAND, rest)
  const { COMMANDS, GROUPS } = await import('./commands.ts')
  const USAGE = usage(COMMANDS)
  switch (first) {
    case '--version':
    case '-v':
      out(`${packageVersion()}\n`)
      return 0
    case undefined:
      err(USAGE)
      return 2
    case '--help':
    case '-h':
      out(USAGE)
      return 0
    case 'help': {
      // `ehi-gateway help check`, `ehi-gateway help ledger show`
      if (rest.length === 0) {
        out(USAGE)
        return 0
      }
      return main([...rest, '--help'])
    }
  }
  let name = first
  let args = rest
  if (first in GROUPS) {
    const [sub, ...subArgs] = rest
    if (sub === undefined || sub === '--help' || sub === '-h') {
      if (sub === undefined) {
        const subs = COMMANDS.filter((c) => c.spec.name.startsWith(`${first} `)).map((c) => c.spec.name)
        throw new UsageError(
          `ehi-gateway ${first}: give a command: ${subs.map((s) => s.slice(first.length + 1)).join(', ')} (see ehi-gateway ${first} --help)`,
        )
      }
      out(groupHelp(COMMANDS, GROUPS, first))
      return 0
    }
    name = `${first} ${sub}`
    args = subArgs
  }
  const command = COMMANDS.find((c) => c.spec.name === name)
  if (!command) {
    const group = first in GROUPS ? first : undefined
    const known = COMMANDS.map((c) => c.spec.name)
      .filter((n) => !group || n.startsWith(`${group} `))
      .map((n) => (group ? n.slice(group.length + 1) : n))
    const given = group ? name.slice(group.length + 1) : name
    const near = closestName(given, known)
    const prefix = group ? `ehi-gateway ${group}` : 'ehi-gateway'
    throw new UsageError(
      `${prefix}: unknown command ${JSON.stringify(given)}${near ? `; did you mean ${near}?` : ''} (see ${prefix} --help)`,
    )
  }
  return runCommand(command, args)
}

function runCommand(command: Command, args: string[]): Promise<number> | number {
  if (wantsHelp(args)) {
    out(renderHelp(command.spec))
    return 0
  }
  return command.run(args)
}

main(process.argv.slice(2)).then(
  (code) => {
    // -1: a server is running; the process ends when its signal handler has closed it.
    if (code >= 0) process.exit(code)
  },
  (error: unknown) => {
    if (error instanceof CommandError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(error.exitCode)
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(2)
    }
    process.stderr.write(`ehi-gateway: ${(error as Error).stack ?? String(error)}\n`)
    process.exit(1)
  },
)
