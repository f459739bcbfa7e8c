/**
 * The request gate, as decisions: whether a request gets past the gateway to the EHI route, or
 * which reason code answers it. Pure; the order of the checks is the order below, so the same
 * request always gets the same answer (a refused connection's reason wins over anything about
 * the request itself).
 */
import type { Reason } from '../../reasons.ts'

/** An Expect header: none, `100-continue`, or anything else (which no server need support). */
export type Expectation = 'continue' | 'unsupported' | undefined

export type Refusal = {
  admit: false
  reason: Reason
  /** Close the connection after the answer. */
  close: boolean
  /** refused: who the client is; rejected: what it sent. */
  outcome: 'refused' | 'rejected'
  headers?: Readonly<Record<string, string>>
}

/** Before the certificate is re-checked for this request: draining, and the connection's verdict. */
export function connectionAdmission(input: {
  draining: boolean
  /** The connection's verdict at its handshake; undefined cannot happen on a TLS socket. */
  connection: { allow: true } | { allow: false; reason: Reason } | undefined
}): { admit: true } | Refusal {
  if (input.draining) return { admit: false, reason: 'shutting_down', close: true, outcome: 'rejected' }
  const { connection } = input
  // No verdict at all: fail closed.
  if (!connection) return { admit: false, reason: 'internal_error', close: true, outcome: 'refused' }
  if (!connection.allow) return { admit: false, reason: connection.reason, close: true, outcome: 'refused' }
  return { admit: true }
}

/** After the certificate passed again for this request: the request line and its Expect. */
export function requestAdmission(input: {
  /** This request's certificate verdict (requestVerdict). */
  certificate: { allow: true } | { allow: false; reason: Reason }
  expect: Expectation
  /** The path is one of routes.paths. */
  routeKnown: boolean
  method: string | undefined
}): { admit: true; sendContinue: boolean } | Refusal {
  const { certificate, expect } = input
  if (!certificate.allow) return { admit: false, reason: certificate.reason, close: true, outcome: 'refused' }
  // A client waiting for 100 Continue may still send its body: an early answer closes.
  const waiting = expect !== undefined
  if (expect === 'unsupported')
    return { admit: false, reason: 'expectation_failed', close: true, outcome: 'rejected' }
  if (!input.routeKnown) return { admit: false, reason: 'not_found', close: waiting, outcome: 'rejected' }
  if (input.method !== 'POST')
    return {
      admit: false,
      reason: 'method_not_allowed',
      close: waiting,
      outcome: 'rejected',
      headers: { allow: 'POST' },
    }
  return { admit: true, sendContinue: expect === 'continue' }
}
