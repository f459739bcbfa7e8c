/**
 * What the simulator sends: the message scenario for each slot of a run and its unique ids.
 * Deterministic, so a run can be repeated. Pure.
 */
import { SCENARIOS, type Scenario } from '../../messages/synthetic-messages.ts'

/** `mixed`, or one message scenario repeated (auth, cutoff, advice, any of SCENARIOS). */
export type SimulationScenario = 'mixed' | Scenario
export const SIMULATION_SCENARIOS: readonly SimulationScenario[] = ['mixed', ...SCENARIOS]

/**
 * A plausible day of traffic, in a repeating cycle of 20 messages: mostly authorisations, their
 * clearing records and advices, some reversals and loads.
 */
const MIXED_CYCLE: readonly Scenario[] = [
  'auth',
  'auth_visa',
  'presentment',
  'auth',
  'advice',
  'auth',
  'auth_visa',
  'visa_presentment',
  'auth',
  'reversal',
  'auth',
  'auth_sms',
  'presentment',
  'auth',
  'advice',
  'auth_visa',
  'load',
  'presentment',
  'auth',
  'afd_reversal',
]

export function scenarioAt(plan: SimulationScenario, index: number): Scenario {
  return plan === 'mixed' ? MIXED_CYCLE[index % MIXED_CYCLE.length]! : plan
}

/**
 * Unique ids per message, so the host can tell messages apart and dedupe nothing by mistake; trace
 * ids in the networks' shapes (Visa VIS1-date-15 digits, Mastercard BNET-date-9 characters).
 */
export function idsAt(runId: number, index: number, scenario: Scenario): Record<string, string> {
  const n = String(index).padStart(8, '0')
  if (scenario === 'cutoff') return { CutoffID: `${runId}${n}` }
  const run = String(runId % 100_000).padStart(5, '0')
  const trace =
    scenario === 'auth_visa' || scenario === 'visa_presentment'
      ? `VIS1-20261127-${run}${n.slice(-8).padStart(10, '0')}`
      : `BNET-20261127-${(runId % 36).toString(36).toUpperCase()}${n}`
  return { TXn_ID: `${runId}${n}`, Traceid_Message: trace, traceid_lifecycle: trace }
}
