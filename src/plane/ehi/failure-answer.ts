/**
 * What the gateway answers when the host gives no usable answer, per message class, keeping
 * Thredd's guarantees (ehi-domain.md, "Implications" §10-12). Pure.
 *
 * - decision: a fast non-2xx by default, so Thredd applies the mode's default (mode 1 decline,
 *   mode 2 Thredd's decision, mode 4 STIP) and sends its follow-up advice. Optionally, for
 *   mode-1 products only, a well-formed decline. Never an approval, never a decline in mode 4.
 * - acknowledgement-type (reversal, advice, financial, other): Acknowledgement 0 (reversals with
 *   Responsestatus 96) or a non-2xx, so Thredd resends. Never Acknowledgement 1: only the host
 *   may say it stored a message.
 * - cutoff: Cut_OffResult 0 or a non-2xx. Thredd does not resend Cut_Off, so it is logged as an
 *   error.
 */
import { cutOffAnswer, getTransactionAnswer } from './ehi-answers.ts'
import type { EhiMode } from './classify-ehi-message.ts'
import type { EhiFormat, MessageClass } from './ehi-message.ts'

export interface FailurePolicy {
  decision: 'status' | 'decline'
  declineResponseStatus: string
  acknowledgement: 'ack0' | 'status'
  cutoff: 'result0' | 'status'
}

export type FailureAnswer =
  | { kind: 'status' }
  | {
      kind: 'synthesized'
      body: string
      acknowledgement?: '0' | '1'
      responseStatus?: string
      cutOffResult?: '0'
    }

const STATUS: FailureAnswer = Object.freeze({ kind: 'status' })

/**
 * Responsestatus values that approve (ISO 8583 approvals and Thredd's approve-with-load). Never
 * synthesized: a misconfigured decline code must not turn "host down" into an approval.
 */
export const APPROVAL_CODES: ReadonlySet<string> = new Set([
  '00',
  '0A',
  '08',
  '10',
  '11',
  '16',
  '85',
  '87',
  'Y1',
  'Y3',
])

export function failureAnswer(
  cls: MessageClass,
  mode: EhiMode,
  format: EhiFormat,
  policy: FailurePolicy,
): FailureAnswer {
  switch (cls) {
    case 'decision': {
      // Mode 1 only: in mode 2 Thredd's own decision stands, in mode 4 a decline defeats STIP.
      if (policy.decision !== 'decline' || mode !== 1) return STATUS
      const responseStatus = policy.declineResponseStatus
      if (APPROVAL_CODES.has(responseStatus)) return STATUS
      return {
        kind: 'synthesized',
        body: getTransactionAnswer({ Responsestatus: responseStatus, Acknowledgement: '1' }, format),
        acknowledgement: '1',
        responseStatus,
      }
    }
    case 'reversal':
      if (policy.acknowledgement === 'status') return STATUS
      return {
        kind: 'synthesized',
        body: getTransactionAnswer({ Responsestatus: '96', Acknowledgement: '0' }, format),
        acknowledgement: '0',
        responseStatus: '96',
      }
    case 'advice':
    case 'financial':
    case 'other':
      if (policy.acknowledgement === 'status') return STATUS
      return {
        kind: 'synthesized',
        body: getTransactionAnswer({ Acknowledgement: '0' }, format),
        acknowledgement: '0',
      }
    case 'cutoff':
      if (policy.cutoff === 'status') return STATUS
      return { kind: 'synthesized', body: cutOffAnswer('0', format), cutOffResult: '0' }
  }
}
