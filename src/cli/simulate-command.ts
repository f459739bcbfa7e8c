/**
 * `ehi-gateway simulate`: Thredd-like traffic against an EHI endpoint (the gateway, or a host
 * directly), reported against Thredd's budget. Bounded by --duration, with a progress line.
 */
import { parseArgs } from 'node:util'
import { renderReport } from '../simulate/render-report.ts'
import { runSimulation } from '../simulate/run-simulation.ts'
import { SIMULATION_SCENARIOS, type SimulationScenario } from '../simulate/simulation-plan.ts'

export const SIMULATE_USAGE = `  simulate --target URL --cert FILE --key FILE [--ca FILE] [--scenario auth|mixed|cutoff]
           [--rate R] [--duration SECONDS] [--format xml|json] [--reuse-connections]
           [--budget-ms 200] [--json]
                               Send Thredd-like EHI traffic (a new TLS connection per message unless
                               --reuse-connections) and report latency percentiles against the
                               budget, answers by class and non-conforming answers.`

export class UsageError extends Error {}

/** Runs the simulation; returns the exit code (1 when a message failed or got a non-conforming answer). */
export async function simulate(
  args: string[],
  write: (text: string) => void,
  progress: (line: string) => void,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      target: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      ca: { type: 'string' },
      scenario: { type: 'string', default: 'auth' },
      rate: { type: 'string', default: '10' },
      duration: { type: 'string', default: '10' },
      format: { type: 'string', default: 'xml' },
      'reuse-connections': { type: 'boolean', default: false },
      'budget-ms': { type: 'string', default: '200' },
      'timeout-ms': { type: 'string', default: '5000' },
      json: { type: 'boolean', default: false },
    },
  })
  const problems: string[] = []
  if (!values.target) problems.push('--target is required')
  if (!values.cert || !values.key)
    problems.push('--cert and --key are required (Thredd always presents a client certificate)')
  if (!SIMULATION_SCENARIOS.includes(values.scenario as SimulationScenario))
    problems.push(`--scenario must be one of ${SIMULATION_SCENARIOS.join(', ')}`)
  if (values.format !== 'xml' && values.format !== 'json') problems.push('--format must be xml or json')
  const rate = Number(values.rate)
  const durationS = Number(values.duration)
  const budgetMs = Number(values['budget-ms'])
  const timeoutMs = Number(values['timeout-ms'])
  if (!(rate > 0 && rate <= 5000)) problems.push('--rate must be between 0 and 5000 messages per second')
  if (!(durationS > 0 && durationS <= 3600)) problems.push('--duration must be between 0 and 3600 seconds')
  if (!(budgetMs > 0)) problems.push('--budget-ms must be a positive number')
  if (!(timeoutMs > 0)) problems.push('--timeout-ms must be a positive number')
  let target: URL | undefined
  try {
    if (values.target) target = new URL(values.target)
    if (target && target.protocol !== 'https:') problems.push('--target must be an https:// URL')
  } catch {
    problems.push('--target is not a valid URL')
  }
  if (problems.length || !target) throw new UsageError(problems.join('\n'))

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
    timeoutMs,
    onProgress: progress,
  })
  write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report))
  const failed = Object.values(report.byClass).some((c) => c.errors > 0 || c.nonConforming > 0)
  return failed ? 1 : 0
}
