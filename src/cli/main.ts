#!/usr/bin/env node
/**
 * The ehi-gateway command. Thin: parses arguments, calls the library, maps the result to an
 * exit code (0 ok, 1 failure at run time, 2 bad configuration or usage). The only module that
 * may end the process.
 */
import { parseArgs } from 'node:util'
import { ConfigError } from '../config/config-issues.ts'
import { CERTS_TOOLS_USAGE, certsDev, certsToolCommand } from './certs-command.ts'
import { CHECK_USAGE, checkCommand } from './check-command.ts'
import { demo } from './demo-command.ts'
import { packageRoot, packageVersion } from '../package-info.ts'
import { REFERENCE_HOST_USAGE, referenceHostCommand } from './reference-host-command.ts'
import { serve } from './serve-command.ts'
import { LEDGER_USAGE, ledgerCommand } from './ledger-command.ts'
import { VERIFY_CONFIG_USAGE, verifyConfigCommand } from './verify-config-command.ts'
import { simulate, SIMULATE_USAGE, UsageError } from './simulate-command.ts'
import { join } from 'node:path'

const USAGE = `Usage: ehi-gateway <command> [options]

Commands:
  serve [--config FILE]        Run the gateway. FILE is YAML or JSON; EHI_GATEWAY_CONFIG also names
                               it, and EHI_GATEWAY_* variables override single settings.
  demo                         Run the demo: dev PKI, the gateway on https://127.0.0.1:8443/ehi and
                               the embedded reference EHI host behind it (what \`npm start\` runs).
  certs dev [--out DIR] [--force]
                               Generate the dev PKI (default DIR: certs/dev).
${CERTS_TOOLS_USAGE}${CHECK_USAGE}${VERIFY_CONFIG_USAGE}${LEDGER_USAGE}${SIMULATE_USAGE}${REFERENCE_HOST_USAGE}
  --version, --help

Exit codes: 0 ok, 1 failure at run time, 2 invalid configuration or usage.
`

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } })
      await serve(values.config)
      return -1
    }
    case 'demo':
      parseArgs({ args: rest, options: {} })
      await demo()
      return -1
    case 'certs': {
      const [sub, ...args] = rest
      if (sub === 'inspect' || sub === 'csr') return certsToolCommand(sub, args)
      if (sub !== 'dev') {
        process.stderr.write(`Unknown certs command ${JSON.stringify(sub ?? '')}\n\n${USAGE}`)
        return 2
      }
      const { values } = parseArgs({
        args,
        options: { out: { type: 'string' }, force: { type: 'boolean', default: false } },
      })
      process.stdout.write(certsDev(values.out ?? join(packageRoot(), 'certs', 'dev'), values.force))
      return 0
    }
    case 'simulate':
      try {
        return await simulate(
          rest,
          (text) => process.stdout.write(text),
          (line) => process.stderr.write(`${line}\n`),
        )
      } catch (error) {
        if (!(error instanceof UsageError)) throw error
        process.stderr.write(`${error.message}\n\nUsage:\n${SIMULATE_USAGE}\n`)
        return 2
      }
    case 'check':
      return checkCommand(rest)
    case 'verify-config':
      return verifyConfigCommand(rest)
    case 'reference-host':
      return referenceHostCommand(rest)
    case 'ledger':
      return ledgerCommand(
        rest,
        (text) => process.stdout.write(text),
        (text) => process.stderr.write(text),
      )
    case '--version':
    case '-v':
      process.stdout.write(`${packageVersion()}\n`)
      return 0
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE)
      return command === undefined ? 2 : 0
    default:
      process.stderr.write(`Unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // -1: a server is running; the process ends when its signal handler has closed it.
    if (code >= 0) process.exit(code)
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(2)
    }
    const code = (error as { code?: string }).code
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      process.stderr.write(`${(error as Error).message}\n\n${USAGE}`)
      process.exit(2)
    }
    process.stderr.write(`ehi-gateway: ${(error as Error).stack ?? String(error)}\n`)
    process.exit(1)
  },
)
