/**
 * Reason codes are public API: each appears in the answer, the log and the metrics, so each must
 * carry a stage, a message and an answer status that fits its stage.
 */
import { STATUS_CODES } from 'node:http'
import { describe, expect, it } from 'vitest'
import { isReason, REASONS, type Stage } from '../../src/reasons.ts'

const STAGES: readonly Stage[] = ['accept', 'tls', 'identity', 'http', 'ehi', 'upstream']
const entries = Object.entries(REASONS).map(([code, info]) => ({ code, ...info }))

describe('REASONS', () => {
  it.each(entries)('$code has a stage, a message and a valid status', ({ code, stage, status, message }) => {
    expect(code).toMatch(/^[a-z][a-z0-9_]*$/)
    expect(STAGES).toContain(stage)
    expect(message.trim().length).toBeGreaterThan(10)
    expect(status === 0 || (STATUS_CODES[status] !== undefined && status >= 400)).toBe(true)
  })

  // Before the handshake completes there is no HTTP connection to answer on.
  it.each(entries.filter((e) => e.stage === 'accept' || e.stage === 'tls'))(
    '$code ($stage stage) closes without an HTTP answer',
    ({ status }) => {
      expect(status).toBe(0)
    },
  )

  it.each(entries.filter((e) => e.stage !== 'accept' && e.stage !== 'tls'))(
    '$code ($stage stage) has an HTTP error status',
    ({ status }) => {
      expect(status).toBeGreaterThanOrEqual(400)
    },
  )

  it('answers no_client_cert with the message Thredd checks for, as 400', () => {
    expect(REASONS.no_client_cert.message).toBe('No required SSL certificate was sent')
    expect(REASONS.no_client_cert.status).toBe(400)
  })

  it.each([
    { code: 'host_unreachable', status: 502 },
    { code: 'host_timeout', status: 504 },
    { code: 'host_bad_response', status: 502 },
    { code: 'revoked', status: 403 },
    { code: 'not_found', status: 404 },
    { code: 'ehi_too_large', status: 400 },
    { code: 'ehi_malformed', status: 400 },
    { code: 'ehi_unsupported_media_type', status: 400 },
    { code: 'deadline_passed', status: 504 },
  ] as const)('answers $code with $status', ({ code, status }) => {
    expect(REASONS[code].status).toBe(status)
  })
})

describe('isReason', () => {
  it.each(['revoked', 'no_client_cert', 'ip_not_allowed', 'internal_error'])('accepts %s', (value) => {
    expect(isReason(value)).toBe(true)
  })

  // Inherited object properties must not count as codes.
  it.each(['', 'REVOKED', 'unknown', 'toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'refuses %j',
    (value) => {
      expect(isReason(value)).toBe(false)
    },
  )
})
