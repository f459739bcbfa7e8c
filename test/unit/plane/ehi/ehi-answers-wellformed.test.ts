/**
 * Gaps left by ehi-answers.test.ts, which reads the XML with regular expressions: the answers
 * must be well-formed for a real XML parser, and "never null" must hold for every number a
 * loosely computed balance can produce, since Thredd declines on a null numeric field.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes'
import { describe, expect, it } from 'vitest'
import {
  cutOffAnswer,
  getTransactionAnswer,
  type GetTransactionAnswer,
} from '../../../../src/plane/ehi/ehi-answers.ts'

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const TEMPURI = 'http://tempuri.org/'

/** Expanded names of the elements on the path to the first leaf, and every leaf's text. */
function read(xml: string): { names: string[]; leaves: Record<string, string> } {
  const parser = new SaxesParser({ xmlns: true })
  const names: string[] = []
  const leaves: Record<string, string> = {}
  let text = ''
  parser.on('error', (error) => {
    throw error
  })
  parser.on('opentag', (tag: SaxesTagNS) => {
    names.push(`{${tag.uri}}${tag.local}`)
    text = ''
  })
  parser.on('text', (chunk) => {
    text += chunk
  })
  parser.on('closetag', (tag: SaxesTagNS) => {
    leaves[tag.local] = text
    text = ''
  })
  parser.write(xml).close()
  return { names, leaves }
}

describe('getTransactionAnswer and cutOffAnswer: XML for a real parser', () => {
  it.each([
    { name: 'a minimal acknowledgement', answer: { Acknowledgement: '1' } },
    {
      name: 'a decline with negative decimal balances',
      answer: { Acknowledgement: '1', Responsestatus: '05', CurBalance: -12.5, AvlBalance: 0.01 },
    },
    { name: 'markup in MerchantAdvice', answer: { Acknowledgement: '0', MerchantAdvice: 'a<b>&c"\'' } },
  ] satisfies { name: string; answer: GetTransactionAnswer }[])(
    '$name is well-formed SOAP 1.1 with the result in tempuri',
    ({ answer }) => {
      expect(read(getTransactionAnswer(answer, 'xml')).names.slice(0, 4)).toEqual([
        `{${SOAP11}}Envelope`,
        `{${SOAP11}}Body`,
        `{${TEMPURI}}GetTransactionResponse`,
        `{${TEMPURI}}GetTransactionResult`,
      ])
    },
  )

  it('round-trips markup in a value through escaping', () => {
    const xml = getTransactionAnswer({ Acknowledgement: '0', MerchantAdvice: 'a<b>&c' }, 'xml')
    expect(read(xml).leaves.MerchantAdvice).toBe('a<b>&c')
  })

  it('puts every result child in tempuri, by inheritance only', () => {
    const { names } = read(getTransactionAnswer({ Acknowledgement: '1', Responsestatus: '00' }, 'xml'))
    for (const name of names.slice(2)) expect(name.startsWith(`{${TEMPURI}}`)).toBe(true)
  })

  it.each(['0', '1'] as const)('a Cut_OffResult %s is well-formed SOAP 1.1', (result) => {
    const { names, leaves } = read(cutOffAnswer(result, 'xml'))
    expect(names).toEqual([
      `{${SOAP11}}Envelope`,
      `{${SOAP11}}Body`,
      `{${TEMPURI}}Cut_OffResponse`,
      `{${TEMPURI}}Cut_OffResult`,
    ])
    expect(leaves.Cut_OffResult).toBe(result)
  })
})

describe('getTransactionAnswer: non-finite numbers', () => {
  // JSON.stringify writes NaN and Infinity as null, and String() writes "NaN" in XML: a balance
  // computed from a bad input would reach Thredd as a null or non-numeric field. Refused loudly.
  it.each([
    { value: Number.NaN, format: 'json' },
    { value: Number.POSITIVE_INFINITY, format: 'json' },
    { value: Number.NaN, format: 'xml' },
  ] as const)('refuses to write $value ($format), never null or a non-number', ({ value, format }) => {
    expect(() => getTransactionAnswer({ Acknowledgement: '1', CurBalance: value }, format)).toThrow(TypeError)
  })
})
