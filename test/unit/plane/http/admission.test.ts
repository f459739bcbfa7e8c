/**
 * The request gate's decisions, in their order: a draining gateway, then the connection's
 * verdict, then this request's certificate verdict, its Expect, its path and its method. Each
 * row says what answers and whether the connection closes.
 */
import { describe, expect, it } from 'vitest'
import { connectionAdmission, requestAdmission } from '../../../../src/plane/http/admission.ts'

describe('connectionAdmission', () => {
  it.each([
    [
      'draining wins over everything',
      { draining: true, connection: { allow: false, reason: 'revoked' } },
      { admit: false, reason: 'shutting_down', close: true, outcome: 'rejected' },
    ],
    [
      'no verdict at all fails closed',
      { draining: false, connection: undefined },
      { admit: false, reason: 'internal_error', close: true, outcome: 'refused' },
    ],
    [
      'a refused connection answers with its handshake reason',
      { draining: false, connection: { allow: false, reason: 'untrusted_issuer' } },
      { admit: false, reason: 'untrusted_issuer', close: true, outcome: 'refused' },
    ],
    ['an admitted connection passes', { draining: false, connection: { allow: true } }, { admit: true }],
  ] as const)('%s', (_name, input, want) => {
    expect(connectionAdmission(input)).toEqual(want)
  })
})

describe('requestAdmission', () => {
  const ok = { allow: true } as const
  it.each([
    [
      'the certificate refused for this request wins',
      {
        certificate: { allow: false, reason: 'expired' },
        expect: 'unsupported',
        routeKnown: false,
        method: 'GET',
      },
      { admit: false, reason: 'expired', close: true, outcome: 'refused' },
    ],
    [
      'an unsupported Expect before the path',
      { certificate: ok, expect: 'unsupported', routeKnown: false, method: 'POST' },
      { admit: false, reason: 'expectation_failed', close: true, outcome: 'rejected' },
    ],
    [
      'an unknown path',
      { certificate: ok, expect: undefined, routeKnown: false, method: 'POST' },
      { admit: false, reason: 'not_found', close: false, outcome: 'rejected' },
    ],
    [
      'an unknown path with a body on hold closes',
      { certificate: ok, expect: 'continue', routeKnown: false, method: 'POST' },
      { admit: false, reason: 'not_found', close: true, outcome: 'rejected' },
    ],
    [
      'GET',
      { certificate: ok, expect: undefined, routeKnown: true, method: 'GET' },
      {
        admit: false,
        reason: 'method_not_allowed',
        close: false,
        outcome: 'rejected',
        headers: { allow: 'POST' },
      },
    ],
    [
      'no method',
      { certificate: ok, expect: undefined, routeKnown: true, method: undefined },
      {
        admit: false,
        reason: 'method_not_allowed',
        close: false,
        outcome: 'rejected',
        headers: { allow: 'POST' },
      },
    ],
    [
      'a POST to a route',
      { certificate: ok, expect: undefined, routeKnown: true, method: 'POST' },
      { admit: true, sendContinue: false },
    ],
    [
      'a POST waiting for 100 Continue gets it',
      { certificate: ok, expect: 'continue', routeKnown: true, method: 'POST' },
      { admit: true, sendContinue: true },
    ],
  ] as const)('%s', (_name, input, want) => {
    expect(requestAdmission(input)).toEqual(want)
  })
})
