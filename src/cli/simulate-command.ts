/**
 * `ehi-gateway simulate`: Thredd-like traffic against an EHI endpoint (the gateway, or a host
 * directly), reported against Thredd's budget. Bounded by --duration plus Thredd's resends, with
 * a progress line.
 */
import { failures, renderReport } from '../tools/simulate/rules/render-report.ts'
import { runSimulation } from '../tools/simulate/run-simulation.ts'
import { SIMULATION_SCENARIOS, type SimulationScenario } from '../tools/simulate/rules/simulation-plan.ts'
import { THREDD_RESEND_EVERY_MS, THREDD_RESEND_TIMES } from '../tools/simulate/rules/thredd-behaviour.ts'
import { defineCommand, parseCommand, usageError } from './command-line.ts'

export const SIMULATE = defineCommand({
  name: 'simulate',
  synopsis: '--target URL --cert FILE --key FILE [options]',
  summary: "Send Thredd-like EHI traffic and report latency against Thredd's budget.",
  description: `Send Thredd-like EHI traffic and report latency percentiles against the budget and the
answers by class. As Thredd: a new TLS connection per message (unless --reuse-connections),
application/xml with a soapaction and a traceparent, give up at the budget; resend
unacknowledged messages every ${THREDD_RESEND_EVERY_MS / 60_000} minutes (--resends times, same TXn_ID,
SendingAttemptCount + 1); after a missed decision, send the follow-up advice of --mode. Bounded by
--duration plus Thredd's resends, with a progress line.`,
  options: {
    target: {
      type: 'string',
      value: 'URL',
      help: 'The EHI endpoint (https://), the gateway or a host (required).',
    },
    cert: {
      type: 'string',
      value: 'FILE',
      help: 'The client certificate to present (required: Thredd always presents one).',
    },
    key: { type: 'string', value: 'FILE', help: 'Its private key (required).' },
    ca: {
      type: 'string',
      value: 'FILE',
      help: "Trust anchors for the endpoint's chain. Default: the system roots.",
    },
    scenario: {
      type: 'string',
      value: 'NAME',
      default: 'auth',
      help: `mixed, or one message repeated: ${SIMULATION_SCENARIOS.filter((s) => s !== 'mixed').join(', ')}.`,
    },
    rate: { type: 'string', value: 'R', default: '10', help: 'Messages per second (up to 5000).' },
    duration: {
      type: 'string',
      value: 'SECONDS',
      default: '10',
      help: 'How long to send new messages (up to 3600).',
    },
    format: { type: 'string', value: 'xml|json', default: 'xml', help: 'The message format.' },
    'reuse-connections': {
      type: 'boolean',
      help: 'Keep connections open between messages (Thredd does not).',
    },
    mode: {
      type: 'string',
      value: '1-4',
      default: '1',
      help: "The programme's EHI mode: which follow-up advice a missed decision gets.",
    },
    'budget-ms': { type: 'string', value: 'MS', default: '200', help: "Thredd's answer budget." },
    'time-scale': {
      type: 'string',
      value: 'F',
      default: '1',
      help: "Run Thredd's resend schedule F times faster.",
    },
    resends: {
      type: 'string',
      value: 'N',
      default: String(THREDD_RESEND_TIMES),
      help: 'How many times an unacknowledged message is sent again (0 to 100).',
    },
    'allow-over-budget': { type: 'boolean', help: 'An answer after the budget does not fail the run.' },
    json: { type: 'boolean', help: 'The report as JSON.' },
  },
  notes: `Exit codes: 0 passed; 1 a message was never acknowledged, got no HTTP answer or a
non-conforming one, or (without --allow-over-budget) an answer came after the budget; 2 usage.`,
})

/**
 * Runs the simulation; returns the exit code: 0 passed, 1 failed (see failures()). Throws a
 * UsageError (one line) on bad usage.
 */
export async function simulate(
  args: string[],
  write: (text: string) => void,
  progress: (line: string) => void,
): Promise<number> {
  const { values } = parseCommand(SIMULATE, args)
  const problems: string[] = []
  if (!values.target) problems.push('--target is required')
  if (!values.cert || !values.key)
    problems.push('--cert and --key are required (Thredd always presents a client certificate)')
  if (!SIMULATION_SCENARIOS.includes(values.scenario as SimulationScenario))
    problems.push('--scenario must be mixed or one of the message scenarios')
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
  if (problems.length || !target) throw usageError(SIMULATE, problems.join('; '))

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
