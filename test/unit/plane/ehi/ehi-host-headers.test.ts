/**
 * The hint headers copy message content into HTTP headers for the host: values must be printable
 * ASCII, bounded and free of CR/LF, or a message field could inject headers (ehi-domain.md,
 * "Implications" §14).
 */
import { describe, expect, it } from 'vitest'
import type { EhiMessage } from '../../../../src/plane/ehi/ehi-message.ts'
import { ehiHostHeaders, headerSafe } from '../../../../src/plane/ehi/ehi-host-headers.ts'
import { parseEhiMessage } from '../../../../src/plane/ehi/parse-ehi-message.ts'
import { buildMessage } from '../../../../src/tools/messages/synthetic-messages.ts'

const LIMITS = { maxDepth: 16, maxElements: 2000, maxAttributes: 8 }

function parsed(body: string, contentType: string): EhiMessage {
  const result = parseEhiMessage(Buffer.from(body), contentType, LIMITS)
  if (!result.ok) throw new Error(result.detail)
  return result.message
}

describe('ehiHostHeaders', () => {
  it('gives the class, format and routing fields of an auth message', () => {
    expect(ehiHostHeaders(parsed(buildMessage('auth', 'xml'), 'text/xml'), 'decision')).toEqual({
      'x-ehi-class': 'decision',
      'x-ehi-format': 'xml',
      'x-ehi-txn-id': '4000000001',
      'x-ehi-attempt': '0',
      'x-ehi-mtid': '0100',
      'x-ehi-txn-type': 'A',
      'x-ehi-product-id': '9001',
    })
  })

  it('gives the CutoffID of a Cut_Off message and no transaction headers', () => {
    expect(ehiHostHeaders(parsed(buildMessage('cutoff', 'json'), 'application/json'), 'cutoff')).toEqual({
      'x-ehi-class': 'cutoff',
      'x-ehi-format': 'json',
      'x-ehi-product-id': '9001',
      'x-ehi-cutoff-id': '7000000001',
    })
  })

  it('omits the MTID header of a load, whose MTID is empty', () => {
    const headers = ehiHostHeaders(parsed(buildMessage('load', 'xml'), 'text/xml'), 'other')
    expect(headers).not.toHaveProperty('x-ehi-mtid')
    expect(headers['x-ehi-txn-type']).toBe('L')
  })

  it('gives only class and format for a message without fields', () => {
    const message: EhiMessage = { format: 'json', root: 'GetTransaction', fields: {} }
    expect(ehiHostHeaders(message, 'other')).toEqual({ 'x-ehi-class': 'other', 'x-ehi-format': 'json' })
  })

  it('never copies a field that is not a routing field (Token, sensitive data)', () => {
    const message: EhiMessage = {
      format: 'xml',
      root: 'GetTransaction',
      fields: { Token: '900000001', MCC_Code: '5411' },
    }
    const headers = ehiHostHeaders(message, 'decision')
    expect(Object.values(headers)).not.toContain('900000001')
    expect(Object.keys(headers).sort()).toEqual(['x-ehi-class', 'x-ehi-format'])
  })

  it.each([
    { name: 'CR LF and a second header', TXn_ID: '1\r\nx-injected: yes' },
    { name: 'a bare LF', TXn_ID: '1\nx-injected: yes' },
    { name: 'an encoded CR LF (U+010D U+010A)', TXn_ID: '1\u010d\u010ax-injected: yes' },
  ])('neutralises a header injection attempt in TXn_ID: $name', ({ TXn_ID }) => {
    const message: EhiMessage = { format: 'json', root: 'GetTransaction', fields: { TXn_ID } }
    const value = ehiHostHeaders(message, 'other')['x-ehi-txn-id']
    expect(value).toBe('1x-injected: yes')
    expect(value).not.toMatch(/[\r\n]/)
  })

  it('neutralises CR LF coming through the parser (JSON escapes)', () => {
    const message = parsed(
      '{"MTID":"0100","Txn_Type":"A","TXn_ID":"7\\r\\nSet-Cookie: a=b"}',
      'application/json',
    )
    expect(ehiHostHeaders(message, 'decision')['x-ehi-txn-id']).toBe('7Set-Cookie: a=b')
  })
})

describe('headerSafe', () => {
  it.each([
    { name: 'keeps printable ASCII', input: 'ABC-123_x.y', output: 'ABC-123_x.y' },
    { name: 'keeps inner spaces', input: 'a b', output: 'a b' },
    { name: 'trims spaces', input: '  0100  ', output: '0100' },
    { name: 'removes NUL and control characters', input: '01\u000000\u0001\u001f', output: '0100' },
    { name: 'removes DEL', input: '01\u007f00', output: '0100' },
    { name: 'removes tabs', input: '\t01\t00\t', output: '0100' },
    { name: 'removes CR and LF', input: '1\r\n2\r3\n4', output: '1234' },
    { name: 'removes non-ASCII letters', input: 'Café 9001', output: 'Caf 9001' },
    { name: 'removes the replacement character of invalid UTF-8', input: '9\ufffd001', output: '9001' },
    { name: 'removes emoji (surrogate pairs)', input: '90\u{1F4B3}01', output: '9001' },
    { name: 'trims after removing control characters', input: '\u0000 0100 \r\n', output: '0100' },
    { name: 'keeps exactly 64 characters', input: 'x'.repeat(64), output: 'x'.repeat(64) },
    { name: 'caps at 64 characters', input: 'y'.repeat(65), output: 'y'.repeat(64) },
    { name: 'caps a long value', input: '1'.repeat(10_000), output: '1'.repeat(64) },
  ])('$name', ({ input, output }) => {
    expect(headerSafe(input)).toBe(output)
  })

  it.each([
    { name: 'undefined', input: undefined },
    { name: 'an empty string', input: '' },
    { name: 'only spaces', input: '   ' },
    { name: 'only control characters', input: '\r\n\u0000\t' },
    { name: 'only non-ASCII characters', input: '€£' },
  ])('gives undefined for $name', ({ input }) => {
    expect(headerSafe(input)).toBeUndefined()
  })

  it('counts the cap after removing unsafe characters', () => {
    expect(headerSafe(`${'\u0000'.repeat(10)}${'z'.repeat(64)}`)).toBe('z'.repeat(64))
  })
})
