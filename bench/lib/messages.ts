/**
 * The request bytes the bench sends: EHI fixtures from the synthetic message builder, each with
 * its own ids, as complete HTTP/1.1 requests written once before a run (the generator only
 * copies buffers on the hot path).
 */
import {
  buildMessage,
  contentTypeOf,
  soapActionOf,
  type Scenario,
} from '../../src/tools/messages/synthetic-messages.ts'
import { idsAt, scenarioAt } from '../../src/tools/simulate/rules/simulation-plan.ts'
import type { MessagePlan } from './types.ts'

/** Header that tells the bench host which canned answer to send (it never has to parse). */
export const ANSWER_HEADER = 'x-bench-answer'

/** Requests in one ring: a multiple of the mixed cycle (20), so every class keeps its share. */
export const RING_SIZE = 200

export function scenarioOf(plan: MessagePlan, index: number): Scenario {
  if (plan === 'mixed') return scenarioAt('mixed', index)
  return plan
}

export function requestText(
  plan: MessagePlan,
  index: number,
  options: { host: string; path: string; close: boolean; runId: number },
): string {
  const scenario = scenarioOf(plan, index)
  const body = buildMessage(scenario, 'xml', idsAt(options.runId, index, scenario))
  const lines = [
    `POST ${options.path} HTTP/1.1`,
    `Host: ${options.host}`,
    `Content-Type: ${contentTypeOf('xml')}`,
    `SOAPAction: ${soapActionOf(scenario)}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    `${ANSWER_HEADER}: ${scenario}`,
  ]
  if (options.close) lines.push('Connection: close')
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

export function requestRing(
  plan: MessagePlan,
  options: { host: string; path: string; close: boolean; runId: number },
): Buffer[] {
  return Array.from({ length: RING_SIZE }, (_, i) => Buffer.from(requestText(plan, i, options)))
}
