/**
 * Answers the gateway makes itself (refusals and failures). Each carries its reason code in the
 * body and in the `x-ehi-gateway-reason` header, the same code the log line and the metric use.
 * No EHI body: Thredd treats any non-2xx as no answer. Pure.
 */
import { REASONS, type Reason } from '../../reasons.ts'

export const REASON_HEADER = 'x-ehi-gateway-reason'

export interface ErrorAnswer {
  status: number
  headers: Record<string, string>
  body: string
}

export function errorAnswer(reason: Reason, requestId: string, closeConnection: boolean): ErrorAnswer {
  const info = REASONS[reason]
  const status = info.status || 500
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    [REASON_HEADER]: reason,
  }
  if (closeConnection) headers.connection = 'close'
  return { status, headers, body: JSON.stringify({ reason, message: info.message, requestId }) }
}
