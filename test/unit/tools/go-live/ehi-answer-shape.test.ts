/** What `check` accepts as an EHI GetTransaction answer. */
import { describe, expect, it } from 'vitest'
import {
  checkGetTransactionAnswer,
  xmlWellFormed,
} from '../../../../src/tools/go-live/rules/ehi-answer-shape.ts'
import { SAMPLE_GET_TRANSACTION_XML } from '../../../../src/tools/go-live/rules/sample-get-transaction.ts'

const soap = (inner: string, prefix = 's') =>
  `<?xml version="1.0" encoding="utf-8"?><${prefix}:Envelope xmlns:${prefix}="http://schemas.xmlsoap.org/soap/envelope/"><${prefix}:Body>${inner}</${prefix}:Body></${prefix}:Envelope>`
const answer = (result: string) =>
  soap(
    `<GetTransactionResponse xmlns="http://tempuri.org/"><GetTransactionResult>${result}</GetTransactionResult></GetTransactionResponse>`,
  )

describe('checkGetTransactionAnswer', () => {
  it.each([
    [
      'the reference answer',
      answer('<Responsestatus>00</Responsestatus><Acknowledgement>1</Acknowledgement>'),
      true,
      'Acknowledgement=1',
    ],
    [
      'a soap: prefix',
      soap(
        '<GetTransactionResponse xmlns="http://tempuri.org/"><GetTransactionResult><Acknowledgement>0</Acknowledgement></GetTransactionResult></GetTransactionResponse>',
        'soap',
      ),
      true,
      'Acknowledgement=0',
    ],
    ['no Acknowledgement', answer('<Responsestatus>00</Responsestatus>'), false, 'no Acknowledgement'],
    [
      'Acknowledgement outside the result',
      soap(
        '<GetTransactionResponse><GetTransactionResult/></GetTransactionResponse><Acknowledgement>1</Acknowledgement>',
      ),
      false,
      'GetTransactionResult',
    ],
    [
      'no envelope',
      '<GetTransactionResponse><GetTransactionResult><Acknowledgement>1</Acknowledgement></GetTransactionResult></GetTransactionResponse>',
      false,
      'no Envelope',
    ],
    ['a SOAP Fault', soap('<s:Fault><faultcode>s:Server</faultcode></s:Fault>'), false, 'SOAP Fault'],
    [
      'unbalanced tags',
      answer('<Acknowledgement>1</Acknowledgement>').replace('</s:Body>', ''),
      false,
      'not well-formed',
    ],
    ['an HTML error page', '<html><body>Bad Gateway</body></html>', false, 'no Envelope'],
  ])('%s', (_name, body, ok, detail) => {
    const shape = checkGetTransactionAnswer(body, 'xml')
    expect(shape.ok).toBe(ok)
    expect(shape.detail).toContain(detail)
  })

  it.each([
    ['{"Responsestatus":"00","Acknowledgement":"1"}', true, 'Acknowledgement=1'],
    ['{"Acknowledgement":1}', true, 'Acknowledgement=1'],
    ['{"Responsestatus":"00"}', false, 'no Acknowledgement'],
    ['[1]', false, 'not a JSON object'],
    ['{nope', false, 'not valid JSON'],
  ])('JSON %s', (body, ok, detail) => {
    const shape = checkGetTransactionAnswer(body, 'json')
    expect(shape).toMatchObject({ ok, format: 'json' })
    expect(shape.detail).toContain(detail)
  })
})

describe('xmlWellFormed', () => {
  it.each([
    ['<a><b/><c x="1">t</c></a>', true],
    ['<?xml version="1.0"?><!-- c --><a><![CDATA[<x>]]></a>', true],
    ['<a><b></a>', false],
    ['<a/><b/>', false],
    ['text<a/>', false],
    ['<!DOCTYPE a><a/>', false],
    ['', false],
  ])('%s -> %s', (text, ok) => {
    expect(xmlWellFormed(text).ok).toBe(ok)
  })
})

describe('the default sample', () => {
  it('is a well-formed SOAP GetTransaction (an 0100 authorisation)', () => {
    expect(xmlWellFormed(SAMPLE_GET_TRANSACTION_XML).ok).toBe(true)
    expect(SAMPLE_GET_TRANSACTION_XML).toMatch(/<GetTransaction xmlns="http:\/\/tempuri.org\/">/)
    expect(SAMPLE_GET_TRANSACTION_XML).toContain('<MTID>0100</MTID>')
  })
})
