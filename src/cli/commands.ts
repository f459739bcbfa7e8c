/**
 * Every ehi-gateway command with its option table (command-line.ts) and what runs it. main.ts
 * dispatches on it; the help test walks it.
 */
import { CERTS_CSR, CERTS_DEV, CERTS_INSPECT, certsCsr, certsDev, certsInspect } from './certs-command.ts'
import { CHECK, checkCommand } from './check-command.ts'
import { err, out, parseCommand, type CommandSpec } from './command-line.ts'
import { DEMO, demo } from './demo-command.ts'
import { LEDGER, ledgerCommand, type LedgerCommand } from './ledger-command.ts'
import { REFERENCE_HOST, referenceHostCommand } from './reference-host-command.ts'
import { SERVE_COMMAND } from './serve-command.ts'
import { SIMULATE, simulate } from './simulate-command.ts'
import { VERIFY_CONFIG, verifyConfigCommand } from './verify-config-command.ts'

export interface Command {
  spec: CommandSpec
  /** The exit code, or -1 while a server runs (the process ends when its signal handler closed it). */
  run(args: string[]): Promise<number> | number
}

const ledger = (sub: LedgerCommand): Command => ({
  spec: LEDGER[sub],
  run: (args) => ledgerCommand(sub, args, out, err),
})

/** Every command, in the order `ehi-gateway --help` lists them. */
export const COMMANDS: readonly Command[] = [
  SERVE_COMMAND,
  {
    spec: DEMO,
    run: async (args) => {
      parseCommand(DEMO, args)
      await demo()
      return -1
    },
  },
  { spec: CERTS_DEV, run: certsDev },
  { spec: CERTS_INSPECT, run: certsInspect },
  { spec: CERTS_CSR, run: certsCsr },
  { spec: CHECK, run: checkCommand },
  { spec: VERIFY_CONFIG, run: verifyConfigCommand },
  {
    spec: SIMULATE,
    run: (args) => simulate(args, out, (line) => err(`${line}\n`)),
  },
  ...(Object.keys(LEDGER) as LedgerCommand[]).map(ledger),
  { spec: REFERENCE_HOST, run: referenceHostCommand },
]

/** Commands with subcommands: `certs dev`, `ledger show`... */
export const GROUPS: Record<string, string> = {
  certs: 'The dev PKI, certificate inspection and CSRs.',
  ledger: 'The message ledger.',
}
