/**
 * `ehi-gateway simulate`: Thredd-like traffic against an EHI endpoint (the gateway, or a host
 * directly), reported against Thredd's budget. Bounded by --duration plus Thredd's resends, with
 * a progress line.
 */
import { parseArgs } from 'node:util'
import { failures, renderReport } from '../tools/simulate/rules/render-report.ts'
import { runSimulation } from '../tools/simulate/run-simulation.ts'
import { SIMULATION_SCENARIOS, type SimulationScenario } from '../tools/simulate/rules/simulation-plan.ts'
import { THREDD_RESEND_EVERY_MS, THREDD_RESEND_TIMES } from '../tools/simulate/rules/thredd-behaviour.ts'

export const SIMULATE_USAGE = `  simulate --target URL --cert FILE --key FILE [--ca FILE] [--scenario mixed|auth|cutoff|...]
           [--rate R] [--duration SECONDS] [--format xml|json] [--reuse-connections]
           [--mode 1|2|3|4] [--budget-ms 200] [--time-scale 1] [--resends 5]
           [--allow-over-budget] [--json] [--help]
                               Send Thredd-like EHI traffic and report latency percentiles against
                               the budget and the answers by class. As Thredd: a new TLS
                               connection per message (unless --reuse-connections),
                               application/xml with a soapaction and a traceparent, give up at
                               the budget; resend unacknowledged messages every 2 minutes
                               (--resends times, same TXn_ID, SendingAttemptCount + 1); after a
                               missed decision, send the follow-up advice of --mode.
                               --scenario: mixed, or one message repeated:
${wrap(SIMULATION_SCENARIOS.filter((s) => s !== 'mixed').join(', '), 31, 100)}
                               --time-scale F: run Thredd's resend schedule F times faster.
                               Exit 1 when a message was never acknowledged, got no HTTP answer
                               or a non-conforming one, or (without --allow-over-budget) an
                               answer came after the budget.`

/** Words of `text` in lines of at most `width` characters, each indented by `indent` spaces. */
function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(line)
  return lines.map((l) => `${' '.repeat(indent)}${l}`).join('\n')
}

export class UsageError extends Error {}

/**
 * Runs the simulation; returns the exit code: 0 passed, 1 failed (see failures()), 2 usage. A
 * usage problem is reported on one line through `error`.
 */
export async function simulate(
  args: string[],
  write: (text: string) => void,
  progress: (line: string) => void,
  error: (line: string) => void = progress,
): Promise<number> {
  let values: ReturnType<typeof parse>
  try {
    values = parse(args)
  } catch (problem) {
    // parseArgs: an unknown option, a missing value or a stray argument.
    error(`ehi-gateway simulate: ${(problem as Error).message.split('\n')[0]} (see --help)`)
    return 2
  }
  if (values.help) {
    write(`Usage:\n${SIMULATE_USAGE}\n`)
    return 0
  }
  const problems: string[] = []
  if (!values.target) problems.push('--target is required')
  if (!values.cert || !values.key)
    problems.push('--cert and --key are required (Thredd always presents a client certificate)')
  if (!SIMULATION_SCENARIOS.includes(values.scenario as SimulationScenario))
    problems.push(`--scenario must be mixed or a message scenario (see --help)`)
  if (values.format !== 'xml' && values.format !== 'json') problems.push('--format must be xml or json')
  const rate = Number(values.rate)
  const durationS = Number(values.duration)
  const budgetMs = Number(values['budget-ms'])
  const timeScale = Number(values['time-scale'])
  const resends = Number(values.resends)
  const mode = Number(values.mode)
  if (!(rate > 0 && rate <= 5000)) problems.push('--rate must be between 0 and 5000 messages per second')
  if (!(durationS > 0 && durationS <= 3600)) problems.push('--duration must be between 0 and 3600 seconds')
  if (!(budgetMs > 0)) problems.push('--budget-ms must be a positive number')
  if (!(timeScale > 0)) problems.push('--time-scale must be a positive number')
  if (!(Number.isInteger(resends) && resends >= 0 && resends <= 100))
    problems.push('--resends must be a whole number from 0 to 100')
  if (mode !== 1 && mode !== 2 && mode !== 3 && mode !== 4) problems.push('--mode must be 1, 2, 3 or 4')
  let target: URL | undefined
  try {
    if (values.target) target = new URL(values.target)
    if (target && target.protocol !== 'https:') problems.push('--target must be an https:// URL')
  } catch {
    problems.push('--target is not a valid URL')
  }
  if (problems.length || !target) {
    error(`ehi-gateway simulate: ${problems.join('; ')} (see --help)`)
    return 2
  }

  const report = await runSimulation({
    target,
    cert: values.cert!,
    key: values.key!,
    ca: values.ca,
    scenario: values.scenario as SimulationScenario,
    rate,
    durationS,
    format: values.format as 'xml' | 'json',
    reuseConnections: values['reuse-connections'],
    budgetMs,
    mode: mode as 1 | 2 | 3 | 4,
    resendEveryMs: THREDD_RESEND_EVERY_MS / timeScale,
    resendTimes: resends,
    onProgress: progress,
  })
  write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report))
  const failed = failures(report, values['allow-over-budget'])
  for (const reason of failed) progress(`failed: ${reason}`)
  return failed.length ? 1 : 0
}

/** Every option of the command (each is in SIMULATE_USAGE; a test holds them together). */
export const SIMULATE_OPTIONS = {
  target: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  scenario: { type: 'string', default: 'auth' },
  rate: { type: 'string', default: '10' },
  duration: { type: 'string', default: '10' },
  format: { type: 'string', default: 'xml' },
  'reuse-connections': { type: 'boolean', default: false },
  mode: { type: 'string', default: '1' },
  'budget-ms': { type: 'string', default: '200' },
  'time-scale': { type: 'string', default: '1' },
  resends: { type: 'string', default: String(THREDD_RESEND_TIMES) },
  'allow-over-budget': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: SIMULATE_OPTIONS,
  }).values
}
