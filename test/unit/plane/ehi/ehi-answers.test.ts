/**
 * Gateway-made EHI answers must parse in Thredd's strict schema: every minOccurs=1 numeric element
 * present (0 when not applicable, never the string "null"), the tempuri namespace on the
 * response element only, and elements in EndpointResponse52 order.
 */
import { describe, expect, it } from 'vitest'
import {
  contentTypeFor,
  cutOffAnswer,
  getTransactionAnswer,
  type GetTransactionAnswer,
} from '../../../../src/plane/ehi/ehi-answers.ts'

/** EndpointResponse52 element order, as the EHI schema defines it. */
const ORDER = [
  'MerchantAdvice',
  'Responsestatus',
  'CurBalance',
  'AvlBalance',
  'Acknowledgement',
  'LoadAmount',
  'Bill_Amt_Approved',
  'Update_Balance',
  'New_Balance_Sequence_Exthost',
  'CurBalance_GPS_STIP',
  'AvlBalance_GPS_STIP',
]
const REQUIRED_NUMERIC = [
  'CurBalance',
  'AvlBalance',
  'LoadAmount',
  'Bill_Amt_Approved',
  'Update_Balance',
  'New_Balance_Sequence_Exthost',
  'CurBalance_GPS_STIP',
  'AvlBalance_GPS_STIP',
]

const minimal: GetTransactionAnswer = { Acknowledgement: '1' }
const full: GetTransactionAnswer = {
  MerchantAdvice: '02',
  Responsestatus: '00',
  CurBalance: 100.5,
  AvlBalance: 90,
  Acknowledgement: '1',
  LoadAmount: 1,
  Bill_Amt_Approved: 12.34,
  Update_Balance: 1,
  New_Balance_Sequence_Exthost: 7,
  CurBalance_GPS_STIP: 2,
  AvlBalance_GPS_STIP: 3,
}

/** Child elements of GetTransactionResult, in document order, with their text. */
function resultElements(xml: string): [string, string][] {
  const result = /<GetTransactionResult>(.*)<\/GetTransactionResult>/.exec(xml)?.[1] ?? ''
  return [...result.matchAll(/<([A-Za-z_]+)>([^<]*)<\/\1>/g)].map((m) => [m[1]!, m[2]!])
}

describe('getTransactionAnswer as XML', () => {
  it('wraps the result in a SOAP 1.1 envelope', () => {
    const xml = getTransactionAnswer(minimal, 'xml')
    expect(xml).toMatch(
      /^<\?xml version="1\.0" encoding="utf-8"\?><s:Envelope xmlns:s="http:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/"><s:Body><GetTransactionResponse xmlns="http:\/\/tempuri\.org\/"><GetTransactionResult>.*<\/GetTransactionResult><\/GetTransactionResponse><\/s:Body><\/s:Envelope>$/,
    )
  })

  it('declares the tempuri namespace once, on GetTransactionResponse only', () => {
    const xml = getTransactionAnswer(full, 'xml')
    expect(xml.match(/xmlns=/g)).toHaveLength(1)
    expect(xml).toContain('<GetTransactionResponse xmlns="http://tempuri.org/">')
    // Children carry no attributes at all.
    expect(xml).toContain('<GetTransactionResult><MerchantAdvice>')
    for (const [name] of resultElements(xml)) expect(xml).toContain(`<${name}>`)
  })

  it.each(REQUIRED_NUMERIC)('writes %s as 0 when not given', (name) => {
    expect(resultElements(getTransactionAnswer(minimal, 'xml'))).toContainEqual([name, '0'])
  })

  it('never writes the string null, even for null values from a loosely typed host', () => {
    const loose = {
      Acknowledgement: '0',
      CurBalance: null,
      AvlBalance: undefined,
    } as unknown as GetTransactionAnswer
    const xml = getTransactionAnswer(loose, 'xml')
    expect(xml).not.toContain('null')
    expect(resultElements(xml)).toContainEqual(['CurBalance', '0'])
  })

  it('omits optional string elements that are not given', () => {
    const names = resultElements(getTransactionAnswer(minimal, 'xml')).map(([n]) => n)
    expect(names).toEqual(ORDER.filter((n) => n !== 'MerchantAdvice' && n !== 'Responsestatus'))
  })

  it('writes every element in schema order, whatever the input order', () => {
    const reversed = Object.fromEntries(Object.entries(full).reverse()) as unknown as GetTransactionAnswer
    expect(resultElements(getTransactionAnswer(reversed, 'xml'))).toEqual(
      ORDER.map((name) => [name, String(full[name as keyof GetTransactionAnswer])]),
    )
  })

  it('escapes markup in values', () => {
    const xml = getTransactionAnswer({ ...minimal, MerchantAdvice: 'a<b>&c' }, 'xml')
    expect(xml).toContain('<MerchantAdvice>a&lt;b&gt;&amp;c</MerchantAdvice>')
  })
})

describe('getTransactionAnswer as JSON', () => {
  it('gives every required number as 0 and Acknowledgement as a string', () => {
    const json = JSON.parse(getTransactionAnswer(minimal, 'json')) as Record<string, unknown>
    expect(json.Acknowledgement).toBe('1')
    for (const name of REQUIRED_NUMERIC) expect(json[name]).toBe(0)
  })

  it('keeps schema order and values', () => {
    const text = getTransactionAnswer(full, 'json')
    expect(Object.keys(JSON.parse(text) as object)).toEqual(ORDER)
    expect(JSON.parse(text)).toEqual(full)
  })

  it('never writes null', () => {
    const loose = { Acknowledgement: '0', LoadAmount: null } as unknown as GetTransactionAnswer
    const text = getTransactionAnswer(loose, 'json')
    expect(text).not.toContain('null')
    expect((JSON.parse(text) as Record<string, unknown>).LoadAmount).toBe(0)
  })

  it('omits optional string fields that are not given', () => {
    const json = JSON.parse(getTransactionAnswer(minimal, 'json')) as Record<string, unknown>
    expect(json).not.toHaveProperty('MerchantAdvice')
    expect(json).not.toHaveProperty('Responsestatus')
  })
})

describe('cutOffAnswer', () => {
  it.each(['0', '1'] as const)('answers %s in XML inside the SOAP envelope', (result) => {
    const xml = cutOffAnswer(result, 'xml')
    expect(xml).toContain(
      `<s:Body><Cut_OffResponse xmlns="http://tempuri.org/"><Cut_OffResult>${result}</Cut_OffResult></Cut_OffResponse></s:Body>`,
    )
    expect(xml.startsWith('<?xml version="1.0" encoding="utf-8"?><s:Envelope')).toBe(true)
  })

  it.each(['0', '1'] as const)(
    "answers %s in JSON as an Acknowledgement, as Thredd's JSON guide shows",
    (result) => {
      // EHI JSON guide, Cut-Off Message Example: the answer is {"Acknowledgement":"1"}.
      expect(cutOffAnswer(result, 'json')).toBe(`{"Acknowledgement":"${result}"}`)
    },
  )
})

describe('contentTypeFor', () => {
  // Thredd's HTTP message format names these two (application/xml, not text/xml).
  it.each([
    { format: 'xml', type: 'application/xml' },
    { format: 'json', type: 'application/json' },
  ] as const)('$format -> $type', ({ format, type }) => {
    expect(contentTypeFor(format)).toBe(type)
  })
})
