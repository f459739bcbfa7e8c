/**
 * W3C traceparent: a valid one from Thredd is passed on so traces join up; anything invalid is
 * replaced, never forwarded, so the host never sees a malformed header.
 */
import { describe, expect, it } from 'vitest'
import {
  isValidTraceparent,
  newTraceparent,
  traceparentFor,
  tracestateFor,
} from '../../../../src/plane/upstream/trace-context.ts'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'
const VALID = `00-${TRACE}-${PARENT}-01`

describe('isValidTraceparent', () => {
  it.each([
    { name: 'a sampled v00 header', value: VALID },
    { name: 'an unsampled v00 header', value: `00-${TRACE}-${PARENT}-00` },
    // Later versions may append fields; a v00 parser must accept them.
    { name: 'a future version with extra fields', value: `cc-${TRACE}-${PARENT}-01-what-the-future-holds` },
    { name: 'a future version without extra fields', value: `01-${TRACE}-${PARENT}-01` },
  ])('accepts $name', ({ value }) => {
    expect(isValidTraceparent(value)).toBe(true)
  })

  it.each([
    { name: 'an all-zero trace id', value: `00-${'0'.repeat(32)}-${PARENT}-01` },
    { name: 'an all-zero parent id', value: `00-${TRACE}-${'0'.repeat(16)}-01` },
    { name: 'version ff', value: `ff-${TRACE}-${PARENT}-01` },
    { name: 'upper-case hex', value: `00-${TRACE.toUpperCase()}-${PARENT}-01` },
    { name: 'v00 with an extra field', value: `${VALID}-extra` },
    { name: 'a short trace id', value: `00-${TRACE.slice(1)}-${PARENT}-01` },
    { name: 'a long parent id', value: `00-${TRACE}-${PARENT}0-01` },
    { name: 'a non-hex character', value: `00-${TRACE.slice(0, 31)}g-${PARENT}-01` },
    { name: 'missing flags', value: `00-${TRACE}-${PARENT}` },
    { name: 'a future version with junk glued to the flags', value: `cc-${TRACE}-${PARENT}-01x` },
    { name: 'surrounding spaces', value: ` ${VALID} ` },
    { name: 'an empty string', value: '' },
  ])('refuses $name', ({ value }) => {
    expect(isValidTraceparent(value)).toBe(false)
  })
})

describe('traceparentFor', () => {
  const isFresh = (value: string) => value !== VALID && isValidTraceparent(value) && value.startsWith('00-')

  it('keeps a valid inbound traceparent', () => {
    expect(traceparentFor(VALID)).toBe(VALID)
  })

  it('takes the first of several header values', () => {
    expect(traceparentFor([VALID, `00-${'1'.repeat(32)}-${PARENT}-01`])).toBe(VALID)
  })

  it.each([
    { name: 'an absent header', inbound: undefined },
    { name: 'an empty header', inbound: '' },
    { name: 'an invalid header', inbound: `00-${'0'.repeat(32)}-${PARENT}-01` },
    { name: 'an empty list', inbound: [] },
    { name: 'a list whose first value is invalid', inbound: ['garbage', VALID] },
  ])('makes a new valid v00 traceparent for $name', ({ inbound }) => {
    expect(isFresh(traceparentFor(inbound))).toBe(true)
  })

  it('replaces an upper-case traceparent instead of repairing it (the spec calls it invalid)', () => {
    const upper = `00-${TRACE.toUpperCase()}-${PARENT}-01`
    const result = traceparentFor(upper)
    expect(result.toLowerCase()).not.toBe(upper.toLowerCase())
    expect(isFresh(result)).toBe(true)
  })

  it('makes a different trace id every time', () => {
    expect(traceparentFor(undefined).split('-')[1]).not.toBe(traceparentFor(undefined).split('-')[1])
  })
})

describe('newTraceparent', () => {
  it('is a valid, unsampled v00 header', () => {
    const value = newTraceparent()
    expect(value).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/)
    expect(isValidTraceparent(value)).toBe(true)
  })
})

// https://www.w3.org/TR/trace-context/#tracestate-header: the whole list or nothing.
describe('tracestateFor', () => {
  const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v${i}`).join(',')

  it.each([
    { name: 'one member', inbound: 'congo=t61rcWkgMzE', out: 'congo=t61rcWkgMzE' },
    { name: 'two members with spaces and tabs', inbound: 'a=1 ,\tb=2', out: 'a=1,b=2' },
    { name: 'empty members', inbound: ',a=1,, ,b=2,', out: 'a=1,b=2' },
    { name: 'several fields', inbound: ['a=1', 'b=2, c=3'], out: 'a=1,b=2,c=3' },
    { name: 'a multi-tenant key', inbound: 'tenant1@vendor=x', out: 'tenant1@vendor=x' },
    { name: 'a key of the allowed symbols', inbound: 'a_b-c*d/e=x', out: 'a_b-c*d/e=x' },
    { name: 'a value with inner spaces and symbols', inbound: 'a=b c:d;e', out: 'a=b c:d;e' },
    { name: 'a 256-character value', inbound: `a=${'v'.repeat(256)}`, out: `a=${'v'.repeat(256)}` },
    { name: '32 members', inbound: members(32), out: members(32) },
  ])('keeps $name', ({ inbound, out }) => {
    expect(tracestateFor(inbound)).toBe(out)
  })

  it.each([
    { name: 'no header', inbound: undefined },
    { name: 'an empty header', inbound: '' },
    { name: 'only empty members', inbound: ' , ,' },
    { name: 'a member without "="', inbound: 'a=1,b' },
    { name: 'an upper-case key', inbound: 'A=1' },
    { name: 'a key starting with a digit, not multi-tenant', inbound: '1a=1' },
    { name: 'a key with a space', inbound: 'a b=1' },
    { name: 'a system id longer than 14', inbound: `t@${'s'.repeat(15)}=1` },
    { name: 'an empty value', inbound: 'a=' },
    { name: 'a value with "="', inbound: 'a=b=c' },
    { name: 'a value with a non-ASCII character', inbound: 'a=é' },
    { name: 'a value with a control character', inbound: 'a=\u0001' },
    { name: 'a 257-character value', inbound: `a=${'v'.repeat(257)}` },
    { name: 'a key twice', inbound: 'a=1,a=2' },
    { name: '33 members', inbound: members(33) },
    { name: 'one bad member among good ones', inbound: ['a=1', 'b=2,C=3'] },
  ])('drops $name', ({ inbound }) => {
    expect(tracestateFor(inbound)).toBeUndefined()
  })
})
