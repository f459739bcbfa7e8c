/**
 * The audit line of a request, built from its record: which clock each timing uses (Thredd's
 * runs from TCP accept for the first message on a connection), the path it names (a configured
 * route, never the client's), and its level.
 */
import { describe, expect, it } from 'vitest'
import {
  auditLine,
  budgetStart,
  newRecord,
  reasonAnswer,
  type RequestRecord,
} from '../../../../src/plane/http/exchange.ts'

function record(fields: Partial<RequestRecord> = {}): RequestRecord {
  return {
    ...newRecord({ acceptedAt: 1000, requestOnConnection: 1, handshakeMs: 40 }),
    startedAt: 1050,
    ...fields,
  }
}
const facts = {
  requestId: 'r',
  method: 'POST',
  route: '/ehi',
  status: 200,
  clientClosed: false,
  peerAddress: '192.0.2.1',
  endedAt: 1100,
}

describe('budgetStart', () => {
  it.each([
    ['the first message on a connection: from TCP accept', record(), 1000],
    [
      'a later message on a kept-alive connection: from its arrival',
      record({ requestOnConnection: 2 }),
      1050,
    ],
    ['no accept time known: from arrival', record({ connectionAcceptedAt: undefined }), 1050],
  ])('%s', (_name, r, want) => expect(budgetStart(r)).toBe(want))
})

describe('auditLine', () => {
  it('times the whole exchange from accept and the request from arrival; the handshake only on the first', () => {
    const first = auditLine(record({ outcome: 'host_answer', parseMs: 0.123 }), facts)
    expect(first).toMatchObject({ totalMs: 50, exchangeMs: 100 })
    expect(first.line.timings).toEqual({
      tlsHandshakeMs: 40,
      parseMs: 0.12,
      hostMs: undefined,
      totalMs: 50,
      exchangeMs: 100,
    })
    const later = auditLine(record({ outcome: 'host_answer', requestOnConnection: 2 }), facts)
    expect(later).toMatchObject({ totalMs: 50, exchangeMs: 50 })
    expect((later.line.timings as { tlsHandshakeMs?: number }).tlsHandshakeMs).toBeUndefined()
  })

  it('names a configured route, or says it was none, never the path the client sent', () => {
    expect(auditLine(record(), { ...facts, route: undefined }).line.path).toBe('(not a configured route)')
    expect(auditLine(record(), facts).line.path).toBe('/ehi')
  })

  it.each([
    ['a conforming host answer', { outcome: 'host_answer' }, {}, 'info'],
    [
      'a non-conforming host answer',
      { outcome: 'host_answer', answer: { status: 200, synthesized: false, conforming: false } },
      {},
      'warn',
    ],
    ['a host answer the client left before', { outcome: 'host_answer' }, { clientClosed: true }, 'warn'],
    ['a refusal', { outcome: 'refused', reason: 'revoked' }, {}, 'warn'],
    ['a synthesized answer', { outcome: 'synthesized', reason: 'host_timeout' }, {}, 'warn'],
    [
      'a Cut_Off the host did not take (Thredd does not resend it)',
      { outcome: 'synthesized', messageClass: 'cutoff' },
      {},
      'error',
    ],
    ['a Cut_Off the host took', { outcome: 'host_answer', messageClass: 'cutoff' }, {}, 'info'],
  ] as const)('%s: %s', (_name, fields, extra, level) => {
    expect(auditLine(record(fields as Partial<RequestRecord>), { ...facts, ...extra }).level).toBe(level)
  })
})

describe('reasonAnswer', () => {
  it('carries its reason in the body, the header and for the error count, and closes when asked', () => {
    const answer = reasonAnswer('method_not_allowed', 'r1', true, { allow: 'POST' })
    expect(answer).toMatchObject({ status: 405, close: true, errorReason: 'method_not_allowed' })
    expect(answer.headers).toMatchObject({
      'x-ehi-gateway-reason': 'method_not_allowed',
      allow: 'POST',
      connection: 'close',
    })
    expect(JSON.parse(String(answer.body))).toMatchObject({ reason: 'method_not_allowed', requestId: 'r1' })
  })
})
