/**
 * failureAnswer is what Thredd gets when the host is down: the gateway must never claim a result
 * only the host may give. An Acknowledgement 1 for a message the host did not store stops
 * Thredd's resends and loses the event; an invented approval spends money; a decline outside
 * mode 1 defeats Thredd's own decision or STIP (ehi-domain.md, "Implications" §10-12). Each body
 * is parsed, not pattern-matched, and checked for every class x mode x format x policy.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes'
import { describe, expect, it } from 'vitest'
import type { EhiMode } from '../../../../src/plane/ehi/classify-ehi-message.ts'
import { MESSAGE_CLASSES, type EhiFormat, type MessageClass } from '../../../../src/plane/ehi/ehi-message.ts'
import { cutOffAnswer, getTransactionAnswer } from '../../../../src/plane/ehi/ehi-answers.ts'
import {
  APPROVAL_CODES,
  failureAnswer,
  type FailureAnswer,
  type FailurePolicy,
} from '../../../../src/plane/ehi/failure-answer.ts'

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const MODES: readonly EhiMode[] = [1, 2, 3, 4]
const FORMATS: readonly EhiFormat[] = ['xml', 'json']
const ACK_CLASSES: readonly MessageClass[] = ['reversal', 'advice', 'financial', 'other']
/** Every code that approves: the safety tests run over the whole list, not a sample of it. */
const APPROVALS = [...APPROVAL_CODES]

const policies = (codes: readonly string[]): FailurePolicy[] =>
  (['status', 'decline'] as const).flatMap((decision) =>
    codes.flatMap((declineResponseStatus) =>
      (['ack0', 'status'] as const).flatMap((acknowledgement) =>
        (['result0', 'status'] as const).map((cutoff) => ({
          decision,
          declineResponseStatus,
          acknowledgement,
          cutoff,
        })),
      ),
    ),
  )
const POLICIES = policies(['05', '91'])
/** A misconfigured decline code that approves: only the decision class reads it. */
const APPROVAL_POLICIES = policies(APPROVALS).filter((p) => p.decision === 'decline')
const label = (p: FailurePolicy) =>
  `${p.decision}/${p.declineResponseStatus}/${p.acknowledgement}/${p.cutoff}`

const COMBOS = [
  ...MESSAGE_CLASSES.flatMap((cls) =>
    MODES.flatMap((mode) =>
      FORMATS.flatMap((format) =>
        POLICIES.map((policy) => ({ cls, mode, format, policy, name: label(policy) })),
      ),
    ),
  ),
  ...MODES.flatMap((mode) =>
    FORMATS.flatMap((format) =>
      APPROVAL_POLICIES.map((policy) => ({
        cls: 'decision' as MessageClass,
        mode,
        format,
        policy,
        name: label(policy),
      })),
    ),
  ),
]

/** Leaf element texts of a SOAP 1.1 answer, by local name; throws unless well-formed SOAP 1.1. */
function xmlValues(body: string): Record<string, string> {
  const parser = new SaxesParser({ xmlns: true })
  const values: Record<string, string> = {}
  let root: SaxesTagNS | undefined
  let text = ''
  parser.on('error', (error) => {
    throw error
  })
  parser.on('opentag', (tag: SaxesTagNS) => {
    root ??= tag
    text = ''
  })
  parser.on('text', (chunk) => {
    text += chunk
  })
  parser.on('closetag', (tag: SaxesTagNS) => {
    if (!tag.isSelfClosing && text !== '') values[tag.local] = text
    text = ''
  })
  parser.write(body).close()
  if (root?.local !== 'Envelope' || root.uri !== SOAP11) throw new Error('not a SOAP 1.1 envelope')
  return values
}

/** The answer's fields as Thredd would read them, from the body in the given format. */
function bodyValues(answer: FailureAnswer, format: EhiFormat): Record<string, unknown> | undefined {
  if (answer.kind === 'status') return undefined
  return format === 'json' ? (JSON.parse(answer.body) as Record<string, unknown>) : xmlValues(answer.body)
}

describe('failureAnswer: safety properties for every class, mode, format and policy', () => {
  it.each(COMBOS.filter((c) => ACK_CLASSES.includes(c.cls)))(
    '$cls in mode $mode ($format, $name) is never acknowledged with 1',
    ({ cls, mode, format, policy }) => {
      // Only the host may say it stored a message; a gateway Ack 1 ends Thredd's resends.
      const answer = failureAnswer(cls, mode, format, policy)
      const values = bodyValues(answer, format)
      if (answer.kind === 'synthesized') {
        expect(values?.Acknowledgement).toBe('0')
        expect(answer.acknowledgement).toBe('0')
      } else {
        expect(answer).toEqual({ kind: 'status' })
      }
    },
  )

  it.each(COMBOS.filter((c) => c.cls === 'decision'))(
    'decision in mode $mode ($format, $name) is never approved',
    ({ mode, format, policy }) => {
      const answer = failureAnswer('decision', mode, format, policy)
      const values = bodyValues(answer, format)
      expect(APPROVALS).not.toContain(values?.Responsestatus)
      if (answer.kind === 'synthesized') expect(APPROVALS).not.toContain(answer.responseStatus)
    },
  )

  it.each(COMBOS.filter((c) => c.cls === 'decision'))(
    'decision in mode $mode ($format, $name) is declined only in mode 1 with the decline policy',
    ({ mode, format, policy }) => {
      // Mode 2: Thredd's decision stands; mode 4: a decline would defeat STIP; mode 3 never decides.
      // An approval code as the configured decline never gives a body (see APPROVAL_CODES).
      const declines =
        policy.decision === 'decline' && mode === 1 && !APPROVALS.includes(policy.declineResponseStatus)
      const answer = failureAnswer('decision', mode, format, policy)
      expect(answer.kind).toBe(declines ? 'synthesized' : 'status')
    },
  )

  it.each(COMBOS.filter((c) => c.cls === 'cutoff'))(
    'cutoff in mode $mode ($format, $name) gets a Cut_Off result 0 or a status',
    ({ mode, format, policy }) => {
      const answer = failureAnswer('cutoff', mode, format, policy)
      if (answer.kind === 'synthesized') {
        // XML: Cut_OffResult; JSON: Thredd's JSON Cut_Off answer is an Acknowledgement.
        expect(bodyValues(answer, format)).toEqual(
          format === 'xml' ? { Cut_OffResult: '0' } : { Acknowledgement: '0' },
        )
        expect(answer.cutOffResult).toBe('0')
      } else {
        expect(policy.cutoff).toBe('status')
      }
    },
  )

  const synthesized = COMBOS.filter(
    (c) => failureAnswer(c.cls, c.mode, c.format, c.policy).kind === 'synthesized',
  )

  it('synthesizes a body for every class under some policy', () => {
    expect(new Set(synthesized.map((c) => c.cls))).toEqual(new Set(MESSAGE_CLASSES))
  })

  it.each(synthesized)(
    '$cls in mode $mode ($format, $name) gives a well-formed body in the requested format, without null',
    ({ cls, mode, format, policy }) => {
      const answer = failureAnswer(cls, mode, format, policy)
      if (answer.kind === 'status') throw new Error('expected a body')
      // Thredd declines on a literal null in a numeric field (ehi-domain.md §3).
      expect(answer.body).not.toContain('null')
      if (format === 'json') {
        expect(() => JSON.parse(answer.body) as unknown).not.toThrow()
        expect(answer.body.startsWith('{')).toBe(true)
      } else {
        expect(() => xmlValues(answer.body)).not.toThrow()
      }
    },
  )
})

/**
 * The exact answer of every class under every policy, built here from the class's own policy
 * field only: a class that read another class's field (a reversal following the Cut_Off policy)
 * gives a different answer for some policy and fails.
 */
function expectedAnswer(
  cls: MessageClass,
  mode: EhiMode,
  format: EhiFormat,
  p: FailurePolicy,
): FailureAnswer {
  const status: FailureAnswer = { kind: 'status' }
  switch (cls) {
    case 'decision':
      if (p.decision !== 'decline' || mode !== 1 || APPROVALS.includes(p.declineResponseStatus)) return status
      return {
        kind: 'synthesized',
        body: getTransactionAnswer({ Responsestatus: p.declineResponseStatus, Acknowledgement: '1' }, format),
        acknowledgement: '1',
        responseStatus: p.declineResponseStatus,
      }
    case 'reversal':
      return p.acknowledgement === 'status'
        ? status
        : {
            kind: 'synthesized',
            body: getTransactionAnswer({ Responsestatus: '96', Acknowledgement: '0' }, format),
            acknowledgement: '0',
            responseStatus: '96',
          }
    case 'cutoff':
      return p.cutoff === 'status'
        ? status
        : { kind: 'synthesized', body: cutOffAnswer('0', format), cutOffResult: '0' }
    default:
      return p.acknowledgement === 'status'
        ? status
        : {
            kind: 'synthesized',
            body: getTransactionAnswer({ Acknowledgement: '0' }, format),
            acknowledgement: '0',
          }
  }
}

describe('failureAnswer: the exact answer per class, mode, format and policy', () => {
  it.each(COMBOS)('$cls in mode $mode ($format, $name)', ({ cls, mode, format, policy }) => {
    expect(failureAnswer(cls, mode, format, policy)).toEqual(expectedAnswer(cls, mode, format, policy))
  })

  it('exercises policies where the classes disagree', () => {
    // Guards the table: it holds policies where acknowledgement and cutoff differ both ways.
    expect(POLICIES.some((p) => p.acknowledgement === 'ack0' && p.cutoff === 'status')).toBe(true)
    expect(POLICIES.some((p) => p.acknowledgement === 'status' && p.cutoff === 'result0')).toBe(true)
  })
})

describe('APPROVAL_CODES', () => {
  it("holds every ISO 8583 approval code and Thredd's approve-with-load, no fewer", () => {
    // Pinned: a code removed from the list would let a configured decline of that code through
    // as an invented approval. 00 approved, 08 honour with identification, 10 partial, 11 VIP,
    // 16 approved update track 3, 85 no reason to decline, 87 purchase amount only, Y1/Y3
    // offline approvals, 0A Thredd's approve with load.
    expect([...APPROVAL_CODES].sort()).toEqual(['00', '08', '0A', '10', '11', '16', '85', '87', 'Y1', 'Y3'])
  })
})

describe('failureAnswer: what each policy gives', () => {
  const ack0: FailurePolicy = {
    decision: 'decline',
    declineResponseStatus: '91',
    acknowledgement: 'ack0',
    cutoff: 'result0',
  }
  const statusOnly: FailurePolicy = {
    decision: 'status',
    declineResponseStatus: '91',
    acknowledgement: 'status',
    cutoff: 'status',
  }

  it.each(FORMATS.flatMap((format) => ['05', '91', '96'].map((code) => ({ format, code }))))(
    'a mode-1 decline in $format uses declineResponseStatus $code with Acknowledgement 1',
    ({ format, code }) => {
      const answer = failureAnswer('decision', 1, format, { ...ack0, declineResponseStatus: code })
      expect(answer).toMatchObject({ kind: 'synthesized', acknowledgement: '1', responseStatus: code })
      expect(bodyValues(answer, format)).toMatchObject({ Responsestatus: code, Acknowledgement: '1' })
    },
  )

  it.each(FORMATS)('a reversal in %s gets Responsestatus 96 with Acknowledgement 0', (format) => {
    // Thredd's rule for a reversal the host could not process: 96 + Ack 0 asks for a resend.
    const answer = failureAnswer('reversal', 2, format, ack0)
    expect(answer).toMatchObject({ kind: 'synthesized', acknowledgement: '0', responseStatus: '96' })
    expect(bodyValues(answer, format)).toMatchObject({ Responsestatus: '96', Acknowledgement: '0' })
  })

  it.each(
    (['advice', 'financial', 'other'] as const).flatMap((cls) => FORMATS.map((format) => ({ cls, format }))),
  )('$cls in $format gets Acknowledgement 0 without a Responsestatus', ({ cls, format }) => {
    const answer = failureAnswer(cls, 3, format, ack0)
    expect(answer).toMatchObject({ kind: 'synthesized', acknowledgement: '0' })
    expect(answer).not.toHaveProperty('responseStatus')
    expect(bodyValues(answer, format)).not.toHaveProperty('Responsestatus')
  })

  it.each(FORMATS)(
    'a synthesized GetTransaction answer in %s carries the numeric elements as 0',
    (format) => {
      const values = bodyValues(failureAnswer('advice', 1, format, ack0), format)
      for (const name of ['CurBalance', 'AvlBalance', 'LoadAmount', 'Update_Balance'])
        expect(String(values?.[name])).toBe('0')
    },
  )

  it.each(MESSAGE_CLASSES.flatMap((cls) => MODES.map((mode) => ({ cls, mode }))))(
    '$cls in mode $mode gets a status answer when every policy says status',
    ({ cls, mode }) => {
      expect(failureAnswer(cls, mode, 'xml', statusOnly)).toEqual({ kind: 'status' })
    },
  )

  // Config validation refuses approval codes as declineResponseStatus; the answer itself refuses
  // them too, so a misconfiguration can never turn "host down" into an approval.
  it.each(APPROVALS.flatMap((code) => FORMATS.map((format) => ({ code, format }))))(
    'never synthesizes an approval even when declineResponseStatus is $code ($format)',
    ({ code, format }) => {
      const answer = failureAnswer('decision', 1, format, { ...ack0, declineResponseStatus: code })
      expect(APPROVALS).not.toContain(bodyValues(answer, format)?.Responsestatus)
    },
  )
})
