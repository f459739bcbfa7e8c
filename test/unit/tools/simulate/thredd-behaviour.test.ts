/**
 * What the simulator does after each exchange is what Thredd's EHI guide says Thredd does:
 * resend an acknowledgement-type message until Acknowledgement 1 (5 times), never resend a
 * Cut_Off, and after a decision the host missed, apply the mode's default and send the follow-up
 * advice (Processing EHI Transactions, "How Thredd responds to the External Host").
 */
import { describe, expect, it } from 'vitest'
import type { AnswerCheck } from '../../../../src/plane/ehi/check-host-answer.ts'
import type { EhiMode } from '../../../../src/plane/ehi/classify-ehi-message.ts'
import type { MessageClass } from '../../../../src/plane/ehi/ehi-message.ts'
import { failures } from '../../../../src/tools/simulate/rules/render-report.ts'
import type { ClassCounts, SimulationReport } from '../../../../src/tools/simulate/run-simulation.ts'
import {
  acknowledged,
  firstAttemptFields,
  followUpFields,
  nextStep,
  THREDD_RESEND_EVERY_MS,
  THREDD_RESEND_TIMES,
  traceparent,
  type ExchangeOutcome,
} from '../../../../src/tools/simulate/rules/thredd-behaviour.ts'

const check = (values: Partial<AnswerCheck>): AnswerCheck => ({ conforming: true, problems: [], ...values })
const answered = (status: number, values: Partial<AnswerCheck>): ExchangeOutcome => ({
  timedOut: false,
  error: false,
  status,
  check: check(values),
})
const OUTCOMES: Record<string, ExchangeOutcome> = {
  'Acknowledgement 1': answered(200, { acknowledgement: '1', responseStatus: '00', cutOffResult: '1' }),
  'Acknowledgement 1 without Responsestatus': answered(200, { acknowledgement: '1', cutOffResult: '1' }),
  'Acknowledgement 0': answered(200, { acknowledgement: '0', responseStatus: '96', cutOffResult: '0' }),
  'a 502': answered(502, { acknowledgement: '1', responseStatus: '00', cutOffResult: '1' }),
  'a non-conforming answer': answered(200, {
    conforming: false,
    problems: ['null_numeric'],
    acknowledgement: '1',
    responseStatus: '00',
    cutOffResult: '1',
  }),
  'a timeout': { timedOut: true, error: false },
  'a connection error': { timedOut: false, error: true },
}
const MODES: readonly EhiMode[] = [1, 2, 4]

describe("Thredd's schedule", () => {
  it('resends every 2 minutes, 5 times, by default', () => {
    expect([THREDD_RESEND_EVERY_MS, THREDD_RESEND_TIMES]).toEqual([120_000, 5])
  })
})

describe('acknowledged', () => {
  it.each(Object.entries(OUTCOMES))('%s', (name, outcome) => {
    const expected = name.startsWith('Acknowledgement 1')
    for (const cls of ['advice', 'cutoff', 'decision'] as MessageClass[])
      expect(acknowledged(cls, outcome), cls).toBe(expected)
  })
})

describe('nextStep: acknowledgement-type messages', () => {
  it.each(
    Object.entries(OUTCOMES).flatMap(([name, outcome]) =>
      (['advice', 'reversal', 'financial', 'other'] as const).map((cls) => ({ name, outcome, cls })),
    ),
  )('$cls after $name', ({ name, outcome, cls }) => {
    const ok = name.startsWith('Acknowledgement 1')
    expect(nextStep(cls, 1, outcome, 2, 3)).toEqual(
      ok ? { kind: 'done', acknowledged: true } : { kind: 'resend', sendingAttemptCount: 3 },
    )
    // No resend left: given up, unacknowledged.
    if (!ok) expect(nextStep(cls, 1, outcome, 5, 0)).toEqual({ kind: 'done', acknowledged: false })
  })
})

describe('nextStep: Cut_Off is never resent', () => {
  it.each(Object.entries(OUTCOMES))('after %s', (name, outcome) => {
    expect(nextStep('cutoff', 1, outcome, 0, 5)).toEqual({
      kind: 'done',
      acknowledged: name.startsWith('Acknowledgement 1'),
    })
  })
})

describe('nextStep: a decision', () => {
  it.each(MODES)('answered with a decision in mode %i is done', (mode) => {
    expect(nextStep('decision', mode, OUTCOMES['Acknowledgement 1']!, 0, 5)).toEqual({
      kind: 'done',
      acknowledged: true,
    })
  })

  it.each(
    Object.entries(OUTCOMES)
      .filter(([name]) => name !== 'Acknowledgement 1')
      .flatMap(([name, outcome]) => MODES.map((mode) => ({ name, outcome, mode }))),
  )("missed ($name) in mode $mode is followed by the mode's follow-up advice", ({ outcome, mode }) => {
    expect(nextStep('decision', mode, outcome, 0, 5)).toEqual({
      kind: 'follow_up',
      fields: followUpFields(mode),
    })
  })
})

describe('the fields Thredd sends', () => {
  it.each([
    {
      mode: 1,
      fields: { Authorised_by_GPS: 'Y', SendingAttemptCount: '1', Txn_Stat_Code: 'I', Resp_Code_DE39: '05' },
    },
    {
      mode: 2,
      fields: { Authorised_by_GPS: 'Y', SendingAttemptCount: '1', Txn_Stat_Code: 'A', Resp_Code_DE39: '00' },
    },
    {
      mode: 4,
      fields: { Authorised_by_GPS: 'Y', SendingAttemptCount: '0', Txn_Stat_Code: 'A', Resp_Code_DE39: '00' },
    },
  ] as const)('follow-up in mode $mode', ({ mode, fields }) => {
    expect(followUpFields(mode)).toEqual(fields)
  })

  it.each([
    { mode: 1, by: 'N' },
    { mode: 2, by: 'Y' },
    { mode: 3, by: 'Y' },
    { mode: 4, by: 'N' },
  ] as const)('first attempt in mode $mode: Authorised_by_GPS $by', ({ mode, by }) => {
    expect(firstAttemptFields(mode)).toEqual({ Authorised_by_GPS: by })
  })

  it('a traceparent in the W3C shape', () => {
    expect(traceparent((n) => 'ab'.repeat(n))).toBe(`00-${'ab'.repeat(16)}-${'ab'.repeat(8)}-00`)
  })
})

describe('failures: the exit status', () => {
  const counts = (values: Partial<ClassCounts>): ClassCounts => ({
    sent: 1,
    resent: 0,
    timeouts: 0,
    ok2xx: 1,
    non2xx: 0,
    ack1: 1,
    ack0: 0,
    nonConforming: 0,
    errors: 0,
    unacknowledged: 0,
    ...values,
  })
  const report = (values: Partial<ClassCounts>, overBudget = 0) =>
    ({
      budgetMs: 200,
      timeoutMs: 200,
      latency: { overBudget },
      byClass: { advice: counts(values) },
    }) as unknown as SimulationReport

  it.each([
    { name: 'a clean run', values: {}, over: 0, strict: 0, allowed: 0 },
    { name: 'a message never acknowledged', values: { unacknowledged: 1 }, over: 0, strict: 1, allowed: 1 },
    { name: 'an exchange without an answer', values: { errors: 1 }, over: 0, strict: 1, allowed: 1 },
    { name: 'a non-conforming answer', values: { nonConforming: 1 }, over: 0, strict: 1, allowed: 1 },
    { name: 'a timeout', values: { timeouts: 1 }, over: 1, strict: 2, allowed: 0 },
    { name: 'an answer over budget', values: {}, over: 1, strict: 1, allowed: 0 },
  ])('$name', ({ values, over, strict, allowed }) => {
    expect(failures(report(values, over), false)).toHaveLength(strict)
    expect(failures(report(values, over), true)).toHaveLength(allowed)
  })
})
