/**
 * Thredd treats an answer that does not match the specification as no answer and resends, or
 * declines (a literal null in a numeric field). checkHostAnswer must flag each such problem with
 * its stable code, pass the answers the gateway itself would write, and never expand a DTD found
 * in an answer.
 */
import { describe, expect, it } from 'vitest'
import {
  checkHostAnswer,
  type AnswerCheck,
  type HostAnswer,
} from '../../../../src/plane/ehi/check-host-answer.ts'
import { cutOffAnswer, getTransactionAnswer } from '../../../../src/plane/ehi/ehi-answers.ts'
import type { EhiFormat, MessageClass } from '../../../../src/plane/ehi/ehi-message.ts'

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const TEMPURI = 'http://tempuri.org/'
const FORMATS: readonly EhiFormat[] = ['xml', 'json']
const TXN_CLASSES: readonly MessageClass[] = ['decision', 'reversal', 'advice', 'financial', 'other']

function answer(body: string, overrides: Partial<HostAnswer> = {}): HostAnswer {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'content-length': String(Buffer.byteLength(body)) },
    body: Buffer.from(body),
    ...overrides,
  }
}

function check(
  body: string,
  format: EhiFormat,
  cls: MessageClass,
  overrides: Partial<HostAnswer> = {},
): AnswerCheck {
  return checkHostAnswer(answer(body, overrides), format, cls)
}

const XML_OK = getTransactionAnswer({ Responsestatus: '00', Acknowledgement: '1' }, 'xml')
const JSON_OK = getTransactionAnswer({ Responsestatus: '00', Acknowledgement: '1' }, 'json')
const okBody = (format: EhiFormat) => (format === 'xml' ? XML_OK : JSON_OK)

/** A SOAP 1.1 answer whose GetTransactionResult holds `children`. */
function xmlResult(children: string): string {
  return `<s:Envelope xmlns:s="${SOAP11}"><s:Body><GetTransactionResponse xmlns="${TEMPURI}"><GetTransactionResult>${children}</GetTransactionResult></GetTransactionResponse></s:Body></s:Envelope>`
}

describe('checkHostAnswer: conforming answers', () => {
  it.each(TXN_CLASSES.flatMap((cls) => FORMATS.map((format) => ({ cls, format }))))(
    'an approval written by getTransactionAnswer passes for $cls in $format',
    ({ cls, format }) => {
      expect(check(okBody(format), format, cls)).toEqual({
        conforming: true,
        problems: [],
        acknowledgement: '1',
        responseStatus: '00',
      })
    },
  )

  it.each(
    (['advice', 'financial', 'other'] as const).flatMap((cls) => FORMATS.map((format) => ({ cls, format }))),
  )('an acknowledgement without Responsestatus passes for $cls in $format', ({ cls, format }) => {
    // Advices and notifications need only Acknowledgement=1 (ehi-domain.md §3).
    const result = check(getTransactionAnswer({ Acknowledgement: '1' }, format), format, cls)
    expect(result).toEqual({ conforming: true, problems: [], acknowledgement: '1' })
  })

  it('passes Thredd\'s minimal JSON acknowledgement {"Acknowledgement":"1"}', () => {
    // JSON leaves optional fields out; the minOccurs rule is XML-only.
    expect(check('{"Acknowledgement":"1"}', 'json', 'advice')).toMatchObject({ conforming: true })
  })

  it.each(FORMATS.flatMap((format) => (['0', '1'] as const).map((result) => ({ format, result }))))(
    'a Cut_OffResult $result written by cutOffAnswer passes in $format',
    ({ format, result }) => {
      expect(check(cutOffAnswer(result, format), format, 'cutoff')).toEqual({
        conforming: true,
        problems: [],
        cutOffResult: result,
      })
    },
  )

  it.each(FORMATS)('a decline with balances passes in %s', (format) => {
    const body = getTransactionAnswer(
      {
        Responsestatus: '05',
        Acknowledgement: '1',
        CurBalance: -12.5,
        AvlBalance: 100,
        MerchantAdvice: '03',
      },
      format,
    )
    expect(check(body, format, 'decision')).toMatchObject({ conforming: true, responseStatus: '05' })
  })

  it.each([
    {
      name: 'a prefixed envelope and whitespace',
      body: XML_OK.replaceAll('<s:', '<soap:')
        .replaceAll('</s:', '</soap:')
        .replace('xmlns:s=', 'xmlns:soap=')
        .replaceAll('><', '>\n  <'),
    },
    { name: 'a UTF-8 byte-order mark', body: `\uFEFF${XML_OK}` },
    { name: 'a negative decimal balance', body: XML_OK.replace('<CurBalance>0<', '<CurBalance>-12.50<') },
    { name: 'a balance with spaces around it', body: XML_OK.replace('<CurBalance>0<', '<CurBalance> 7 <') },
  ])('accepts an XML answer with $name', ({ body }) => {
    expect(check(body, 'xml', 'decision')).toMatchObject({ conforming: true, problems: [] })
  })
})

describe('checkHostAnswer: each problem code', () => {
  it.each(FORMATS.flatMap((format) => [199, 302, 400, 500, 503].map((status) => ({ format, status }))))(
    'non_2xx_status for status $status in $format',
    ({ format, status }) => {
      expect(check(okBody(format), format, 'decision', { status }).problems).toEqual(['non_2xx_status'])
    },
  )

  it.each(FORMATS)('no_content_length when the answer has no Content-Length (%s)', (format) => {
    // Thredd requires Content-Length and a non-chunked answer.
    const headers = { 'content-type': 'text/xml', 'transfer-encoding': 'chunked' }
    expect(check(okBody(format), format, 'decision', { headers }).problems).toEqual(['no_content_length'])
  })

  it.each([
    { name: 'a JSON answer to an XML request', body: JSON_OK, format: 'xml' },
    { name: 'an XML answer to a JSON request', body: XML_OK, format: 'json' },
  ] as const)('wrong_format for $name', ({ body, format }) => {
    expect(check(body, format, 'decision')).toEqual({ conforming: false, problems: ['wrong_format'] })
  })

  it.each([
    { name: 'truncated JSON', body: JSON_OK.slice(0, -1) },
    { name: 'JSON with trailing text', body: `${JSON_OK}}` },
    { name: 'JSON with an unquoted value', body: '{"Acknowledgement":1x}' },
  ])('malformed for $name', ({ body }) => {
    expect(check(body, 'json', 'decision')).toEqual({ conforming: false, problems: ['malformed'] })
  })

  it('malformed for an empty XML answer', () => {
    expect(check('', 'xml', 'advice')).toEqual({ conforming: false, problems: ['malformed'] })
  })

  it.each([
    {
      name: 'a result outside a SOAP envelope',
      body: `<GetTransactionResponse xmlns="${TEMPURI}"><GetTransactionResult><Acknowledgement>1</Acknowledgement></GetTransactionResult></GetTransactionResponse>`,
    },
    { name: 'a SOAP 1.2 envelope', body: XML_OK.replace(SOAP11, 'http://www.w3.org/2003/05/soap-envelope') },
    {
      name: 'a response element outside tempuri',
      body: XML_OK.replace(`xmlns="${TEMPURI}"`, 'xmlns="urn:other"'),
    },
    { name: 'a response element in no namespace', body: XML_OK.replace(` xmlns="${TEMPURI}"`, '') },
    {
      name: 'no GetTransactionResult',
      body: XML_OK.replace('<GetTransactionResult>', '<Result>').replace(
        '</GetTransactionResult>',
        '</Result>',
      ),
    },
    {
      name: 'another Body element',
      body: `<s:Envelope xmlns:s="${SOAP11}"><s:Body><Fault/></s:Body></s:Envelope>`,
    },
    { name: 'a Cut_Off answer', body: cutOffAnswer('1', 'xml') },
    { name: 'truncated XML', body: XML_OK.slice(0, -5) },
    { name: 'an HTML page', body: '<html><body>Bad gateway</body></html>' },
    { name: 'plain text', body: 'OK' },
  ])('no_result_element for $name', ({ body }) => {
    expect(check(body, 'xml', 'advice')).toEqual({ conforming: false, problems: ['no_result_element'] })
  })

  it('no_result_element for a GetTransaction answer to a Cut_Off', () => {
    expect(check(XML_OK, 'xml', 'cutoff')).toEqual({ conforming: false, problems: ['no_result_element'] })
  })

  it.each([
    { format: 'xml', body: XML_OK.replace('<Acknowledgement>1</Acknowledgement>', '') },
    { format: 'json', body: '{"Responsestatus":"00","CurBalance":0}' },
  ] as const)('missing_acknowledgement in $format', ({ format, body }) => {
    expect(check(body, format, 'advice').problems).toEqual(['missing_acknowledgement'])
  })

  it.each([
    { format: 'xml', value: '2', body: XML_OK.replace('<Acknowledgement>1<', '<Acknowledgement>2<') },
    { format: 'xml', value: 'Y', body: XML_OK.replace('<Acknowledgement>1<', '<Acknowledgement>Y<') },
    { format: 'xml', value: '', body: XML_OK.replace('<Acknowledgement>1<', '<Acknowledgement><') },
    { format: 'json', value: '2', body: '{"Acknowledgement":"2"}' },
    { format: 'json', value: 'true', body: '{"Acknowledgement":true}' },
  ] as const)(
    'bad_acknowledgement for "$value" in $format, reporting the value',
    ({ format, body, value }) => {
      expect(check(body, format, 'advice')).toMatchObject({
        conforming: false,
        problems: ['bad_acknowledgement'],
        acknowledgement: value,
      })
    },
  )

  it.each(
    (['decision', 'reversal'] as const).flatMap((cls) =>
      FORMATS.map((format) => ({
        cls,
        format,
        body: getTransactionAnswer({ Acknowledgement: '1' }, format),
      })),
    ),
  )('missing_response_status for $cls in $format', ({ cls, format, body }) => {
    expect(check(body, format, cls).problems).toEqual(['missing_response_status'])
  })

  it.each([
    'CurBalance',
    'AvlBalance',
    'LoadAmount',
    'Bill_Amt_Approved',
    'Update_Balance',
    'AvlBalance_GPS_STIP',
  ])('missing_numeric when XML leaves out %s (minOccurs=1) is a warning, not a problem', (name) => {
    const body = XML_OK.replace(new RegExp(`<${name}>0</${name}>`), '')
    expect(body).not.toContain(`<${name}>`)
    expect(check(body, 'xml', 'advice')).toMatchObject({
      conforming: true,
      problems: [],
      warnings: ['missing_numeric'],
    })
  })

  it.each(TXN_CLASSES)(
    'an XML answer carrying only Acknowledgement 1 is conforming for %s (Thredd processing rules)',
    (cls) => {
      const status = cls === 'decision' || cls === 'reversal' ? '<Responsestatus>00</Responsestatus>' : ''
      expect(check(xmlResult(`${status}<Acknowledgement>1</Acknowledgement>`), 'xml', cls)).toEqual({
        conforming: true,
        problems: [],
        warnings: ['missing_numeric'],
        acknowledgement: '1',
        ...(status ? { responseStatus: '00' } : {}),
      })
    },
  )

  it('keeps a real problem beside the warning', () => {
    const result = check(xmlResult('<Acknowledgement>2</Acknowledgement>'), 'xml', 'advice')
    expect(result).toMatchObject({
      conforming: false,
      problems: ['bad_acknowledgement'],
      warnings: ['missing_numeric'],
    })
  })

  it.each([
    {
      format: 'xml',
      name: 'null in an element',
      body: XML_OK.replace('<CurBalance>0<', '<CurBalance>null<'),
    },
    { format: 'json', name: 'a JSON null', body: '{"Acknowledgement":"1","CurBalance":null}' },
    { format: 'json', name: 'the string "null"', body: '{"Acknowledgement":"1","LoadAmount":"null"}' },
  ] as const)('null_numeric for $name ($format)', ({ format, body }) => {
    // Thredd declines the transaction on a literal null in a numeric field.
    expect(check(body, format, 'advice').problems).toEqual(['null_numeric'])
  })

  it.each([
    { format: 'xml', value: 'abc', body: XML_OK.replace('<AvlBalance>0<', '<AvlBalance>abc<') },
    { format: 'xml', value: 'empty', body: XML_OK.replace('<AvlBalance>0<', '<AvlBalance><') },
    { format: 'xml', value: '1,50', body: XML_OK.replace('<AvlBalance>0<', '<AvlBalance>1,50<') },
    { format: 'xml', value: '1e3', body: XML_OK.replace('<AvlBalance>0<', '<AvlBalance>1e3<') },
    { format: 'json', value: 'abc', body: '{"Acknowledgement":"1","AvlBalance":"abc"}' },
    { format: 'json', value: 'true', body: '{"Acknowledgement":"1","AvlBalance":true}' },
  ] as const)('bad_numeric for $value ($format)', ({ format, body }) => {
    expect(check(body, format, 'advice').problems).toEqual(['bad_numeric'])
  })

  it.each([
    { name: 'an empty object', body: '{}' },
    // Thredd's JSON Cut_Off is answered {"Acknowledgement":"1"}; Cut_OffResult is the XML name.
    { name: 'the XML name Cut_OffResult', body: '{"Cut_OffResult":"1"}' },
  ])('missing_cutoff_result for $name to a Cut_Off (JSON)', ({ body }) => {
    expect(check(body, 'json', 'cutoff')).toEqual({ conforming: false, problems: ['missing_cutoff_result'] })
  })

  it('passes Thredd\'s JSON Cut_Off answer {"Acknowledgement":"1"}', () => {
    expect(check('{"Acknowledgement":"1"}', 'json', 'cutoff')).toEqual({
      conforming: true,
      problems: [],
      cutOffResult: '1',
    })
  })

  it('reports several problems at once', () => {
    const body = XML_OK.replace('<Responsestatus>00</Responsestatus>', '').replace(
      '<CurBalance>0<',
      '<CurBalance>null<',
    )
    expect(check(body, 'xml', 'decision', { status: 500, headers: {} }).problems.sort()).toEqual(
      ['missing_response_status', 'no_content_length', 'non_2xx_status', 'null_numeric'].sort(),
    )
  })
})

describe('checkHostAnswer: extracted values', () => {
  it.each(
    FORMATS.flatMap((format) => [
      { format, ack: '0', status: '96' },
      { format, ack: '1', status: '05' },
      { format, ack: '1', status: '0A' },
    ]),
  )('reads Acknowledgement $ack and Responsestatus $status in $format', ({ format, ack, status }) => {
    const body = getTransactionAnswer({ Acknowledgement: ack as '0' | '1', Responsestatus: status }, format)
    expect(check(body, format, 'reversal')).toMatchObject({ acknowledgement: ack, responseStatus: status })
  })

  it.each(FORMATS)('still reads the values of a non-2xx answer (%s)', (format) => {
    const body = getTransactionAnswer({ Acknowledgement: '0', Responsestatus: '96' }, format)
    expect(check(body, format, 'reversal', { status: 500 })).toEqual({
      conforming: false,
      problems: ['non_2xx_status'],
      acknowledgement: '0',
      responseStatus: '96',
    })
  })

  it('reads a JSON number Acknowledgement of a Cut_Off as text', () => {
    expect(check('{"Acknowledgement":1}', 'json', 'cutoff')).toMatchObject({ cutOffResult: '1' })
  })
})

describe('checkHostAnswer: a DTD in the answer is never parsed', () => {
  const withDoctype = (doctype: string, ack: string) =>
    `<?xml version="1.0"?>${doctype}${xmlResult(`<Responsestatus>00</Responsestatus><Acknowledgement>${ack}</Acknowledgement>`)}`

  it.each([
    { name: 'an internal entity', body: withDoctype('<!DOCTYPE s:Envelope [<!ENTITY ack "1">]>', '&ack;') },
    {
      name: 'an external entity',
      body: withDoctype('<!DOCTYPE s:Envelope [<!ENTITY ack SYSTEM "file:///etc/passwd">]>', '&ack;'),
    },
    { name: 'a bare DOCTYPE', body: withDoctype('<!DOCTYPE s:Envelope>', '1') },
  ])('refuses an answer with $name without reading its values', ({ body }) => {
    expect(check(body, 'xml', 'advice')).toEqual({ conforming: false, problems: ['no_result_element'] })
  })
})
