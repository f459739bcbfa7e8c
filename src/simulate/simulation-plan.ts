/**
 * What the simulator sends: the message scenario for each slot of a run and its unique ids.
 * Deterministic, so a run can be repeated. Pure.
 */
import type { Scenario } from '../ehi/synthetic-messages.ts'

export type SimulationScenario = 'auth' | 'mixed' | 'cutoff'
export const SIMULATION_SCENARIOS: readonly SimulationScenario[] = ['auth', 'mixed', 'cutoff']

/**
 * A plausible day of traffic, in a repeating cycle of 20 messages: mostly authorisations, their
 * clearing records and advices, some reversals and loads.
 */
const MIXED_CYCLE: readonly Scenario[] = [
  'auth',
  'auth',
  'presentment',
  'auth',
  'advice',
  'auth',
  'auth',
  'visa_presentment',
  'auth',
  'reversal',
  'auth',
  'auth_sms',
  'presentment',
  'auth',
  'advice',
  'auth',
  'load',
  'presentment',
  'auth',
  'advice',
]

export function scenarioAt(plan: SimulationScenario, index: number): Scenario {
  if (plan === 'auth') return 'auth'
  if (plan === 'cutoff') return 'cutoff'
  return MIXED_CYCLE[index % MIXED_CYCLE.length]!
}

/** Unique ids per message, so the host can tell messages apart and dedupe nothing by mistake. */
export function idsAt(runId: number, index: number, scenario: Scenario): Record<string, string> {
  const n = String(index).padStart(8, '0')
  if (scenario === 'cutoff') return { CutoffID: `${runId}${n}` }
  return {
    TXn_ID: `${runId}${n}`,
    Traceid_Message: `00000000-0000-4000-8000-${String(runId % 1_000_000).padStart(6, '0')}${n.slice(-6)}`,
    traceid_lifecycle: `00000000-0000-4000-9000-${String(runId % 1_000_000).padStart(6, '0')}${n.slice(-6)}`,
  }
}
