/**
 * The synthetic messages stand in for Thredd's traffic in every other test, the demo, the bench
 * and the simulator: they must be well-formed, shaped as Thredd's documented examples (XML with
 * every element in Thredd's order, empty ones as <X />, 4-decimal amounts; JSON flat without
 * blanks, numbers where Thredd sends numbers), realistic in size, free of sensitive values, and
 * the committed fixtures must be exactly what the generator writes, each listed with its source
 * in the fixtures' README.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { SaxesParser, type SaxesTagNS } from 'saxes'
import { describe, expect, it } from 'vitest'
import { SAMPLE_GET_TRANSACTION_XML } from '../../../../src/tools/go-live/rules/sample-get-transaction.ts'
import { SENSITIVE_FIELDS, type EhiFormat } from '../../../../src/plane/ehi/ehi-message.ts'
import { parseEhiMessage } from '../../../../src/plane/ehi/parse-ehi-message.ts'
import {
  buildMessage,
  contentTypeOf,
  SCENARIOS,
  scenarioFields,
  soapActionOf,
  type Scenario,
} from '../../../../src/tools/messages/synthetic-messages.ts'

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const TEMPURI = 'http://tempuri.org/'
const LIMITS = { maxDepth: 16, maxElements: 2000, maxAttributes: 8 }
const FIXTURES = new URL('../../../fixtures/ehi/', import.meta.url)
const FORMATS: readonly EhiFormat[] = ['xml', 'json']
const CASES = SCENARIOS.flatMap((scenario) => FORMATS.map((format) => ({ scenario, format })))
const rootOf = (scenario: Scenario) => (scenario === 'cutoff' ? 'Cut_Off' : 'GetTransaction')
const JSON_CUT_OFF = [
  'CutOffId',
  'ProductId',
  'CutOffDate',
  'FirstTransactionId',
  'LastTransactionId',
  'AuthsAcknowledged',
  'AuthsNotAcknowledged',
  'FinancialsAcknowledged',
  'FinancialsNotAcknowledged',
  'LoadsUnloadsAcknowledged',
  'LoadsUnloadsNotAcknowledged',
  'BalanceAdjustExpiryAcknowledged',
  'BalanceAdjustExpiryNotAcknowledged',
]

/** Strict parse with saxes: the path of the Body's child and its children's texts. */
function saxesRead(xml: string): { path: string[]; children: Map<string, string> } {
  const parser = new SaxesParser({ xmlns: true })
  const stack: SaxesTagNS[] = []
  const path: string[] = []
  const children = new Map<string, string>()
  let text = ''
  parser.on('error', (error) => {
    throw error
  })
  parser.on('opentag', (tag: SaxesTagNS) => {
    stack.push(tag)
    if (stack.length <= 3) path.push(`{${tag.uri}}${tag.local}`)
    text = ''
  })
  parser.on('text', (chunk) => {
    text += chunk
  })
  parser.on('closetag', (tag: SaxesTagNS) => {
    if (stack.length === 4) children.set(tag.local, text)
    stack.pop()
  })
  parser.write(xml).close()
  return { path, children }
}

function fixture(scenario: Scenario, format: EhiFormat): string {
  return readFileSync(new URL(`${scenario}.${format}`, FIXTURES), 'utf8')
}

describe('buildMessage: XML', () => {
  it.each(SCENARIOS)(
    '%s is well-formed SOAP 1.1 with the root in the tempuri namespace (saxes)',
    (scenario) => {
      expect(saxesRead(buildMessage(scenario, 'xml')).path).toEqual([
        `{${SOAP11}}Envelope`,
        `{${SOAP11}}Body`,
        `{${TEMPURI}}${rootOf(scenario)}`,
      ])
    },
  )

  it.each(SCENARIOS)('%s is accepted by parseEhiMessage', (scenario) => {
    const result = parseEhiMessage(Buffer.from(buildMessage(scenario, 'xml')), contentTypeOf('xml'), LIMITS)
    expect(result).toMatchObject({ ok: true, message: { format: 'xml', root: rootOf(scenario) } })
  })

  it.each(SCENARIOS)('%s carries every field as an element, blank ones too', (scenario) => {
    const { children } = saxesRead(buildMessage(scenario, 'xml'))
    expect([...children.keys()]).toEqual(scenarioFields(scenario).map(([name]) => name))
    expect(new Map(scenarioFields(scenario))).toEqual(children)
  })

  it('keeps the Visa MTID with its two trailing spaces (the parser trims, not the generator)', () => {
    expect(buildMessage('visa_presentment', 'xml')).toContain('<MTID>05  </MTID>')
  })

  it('escapes markup in override values', () => {
    const xml = buildMessage('auth', 'xml', { Merch_Name_DE43: 'A&B <Ltd>' })
    expect(xml).toContain('<Merch_Name_DE43>A&amp;B &lt;Ltd&gt;</Merch_Name_DE43>')
    expect(saxesRead(xml).children.get('Merch_Name_DE43')).toBe('A&B <Ltd>')
  })

  it('is realistic in size: a first presentment is at least 5 KB', () => {
    // Thredd's documented first presentment is about 5-6 KB.
    expect(Buffer.byteLength(buildMessage('presentment', 'xml'))).toBeGreaterThanOrEqual(5 * 1024)
  })

  it.each(SCENARIOS.filter((s) => s !== 'cutoff'))(
    "%s uses the element names of Thredd's examples, in their order",
    (scenario) => {
      const names = scenarioFields(scenario).map(([name]) => name)
      // The original block ends with Txn_Type, the version blocks follow (not sorted).
      const at = (name: string) => names.indexOf(name)
      expect(at('Acquirer_id_DE32')).toBe(0)
      expect(at('TXN_Time_DE07')).toBe(at('Txn_Type') - 1)
      expect(at('Additional_Data_DE48')).toBe(at('Txn_Type') + 1)
      expect(at('MTID')).toBeGreaterThan(at('Txn_Type'))
      expect(at('SendingAttemptCount')).toBeGreaterThan(at('PIN_Key_Index'))
      expect(at('Merch_Contact')).toBeGreaterThan(at('Merch_Name'))
      for (const name of [
        'Interchange_Amount_Fee',
        'Currency_Code_Fee',
        'CU_Group',
        'VL_Group',
        'TLogIDOrg',
        'MCC_Pad',
        'Note',
      ])
        expect(names, name).toContain(name)
      // Names of the former fixtures that Thredd never sends.
      for (const name of ['POS_Time_DE7', 'Interchange_Fee', 'Auth_Ack_Count'])
        expect(names).not.toContain(name)
    },
  )

  it.each(SCENARIOS)('%s writes every amount with 4 decimals', (scenario) => {
    const amounts = ['ActBal', 'Avl_Bal', 'Bill_Amt', 'BlkAmt', 'Settle_Amt', 'Txn_Amt', 'FX_Pad', 'MCC_Pad']
    for (const [name, value] of scenarioFields(scenario))
      if (amounts.includes(name) && value !== '') expect(value, name).toMatch(/^-?\d+\.\d{4}$/)
  })

  it.each(['auth_visa', 'visa_presentment'] as const)(
    '%s carries trace ids in the VIS1-date-digits shape',
    (s) => {
      const fields = new Map(scenarioFields(s))
      expect(fields.get('traceid_lifecycle')).toMatch(/^VIS1-\d{8}-\d{15}$/)
      expect(fields.get('Traceid_Message')).toMatch(/^VIS1-\d{8}-\d{15}$/)
    },
  )

  it('writes empty elements as <X />, as Thredd does', () => {
    expect(buildMessage('auth', 'xml')).toContain('<Cust_Ref />')
    expect(buildMessage('auth', 'xml')).not.toMatch(/<(\w+)><\/\1>/)
  })

  it('writes the Cut_Off counters under their WSDL names, in order', () => {
    expect(scenarioFields('cutoff').map(([name]) => name)).toEqual([
      'CutoffID',
      'ProductID',
      'CutoffDate',
      'FirstTxn_ID',
      'LastTxn_ID',
      'Auths_Acknowledged',
      'Auths_NotAcknowledged',
      'Financials_Acknowledged',
      'Financials_NotAcknowledged',
      'LoadsUnloads_Acknowledged',
      'LoadsUnloads_NotAcknowledged',
      'BalanceAdjustExpiry_Acknowledged',
      'BalanceAdjustExpiry_NotAcknowledged',
    ])
  })
})

describe('buildMessage: JSON', () => {
  it.each(SCENARIOS)('%s is a valid flat JSON object', (scenario) => {
    const value = JSON.parse(buildMessage(scenario, 'json')) as Record<string, unknown>
    expect(typeof value).toBe('object')
    for (const field of Object.values(value)) expect(['string', 'number']).toContain(typeof field)
  })

  it.each(SCENARIOS.filter((s) => s !== 'cutoff'))('%s leaves blank fields out', (scenario) => {
    const value = JSON.parse(buildMessage(scenario, 'json')) as Record<string, unknown>
    const blanks = scenarioFields(scenario).filter(([, v]) => v === '')
    for (const [name] of blanks) expect(value).not.toHaveProperty(name)
    expect(Object.values(value)).not.toContain('')
  })

  it.each(SCENARIOS)('%s is accepted by parseEhiMessage', (scenario) => {
    const result = parseEhiMessage(Buffer.from(buildMessage(scenario, 'json')), contentTypeOf('json'), LIMITS)
    expect(result).toMatchObject({ ok: true, message: { format: 'json', root: rootOf(scenario) } })
  })

  it('writes ids and amounts as numbers with their exact digits, as Thredd does', () => {
    const json = buildMessage('auth', 'json')
    for (const literal of [
      '"TXn_ID":4000000001',
      '"Token":900000001',
      '"Bill_Amt":-12.5000',
      '"ProductID":9001',
      '"SubBIN":99999901',
      '"FX_Pad":0.0000',
      '"SendingAttemptCount":0',
    ])
      expect(json).toContain(literal)
  })

  it('writes codes as strings, keeping leading zeros', () => {
    const json = buildMessage('auth', 'json')
    expect(json).toContain('"MTID":"0100"')
    expect(json).toContain('"Acquirer_id_DE32":"0800012345"')
    expect(json).toContain('"Bill_Ccy":"826"')
    expect(json).toContain('"MCC_Code":"5411"')
  })

  it("puts the later fields first and SendingAttemptCount last, as Thredd's JSON examples do", () => {
    const keys = Object.keys(JSON.parse(buildMessage('auth', 'json')) as object)
    expect(keys.indexOf('Traceid_Message')).toBeLessThan(keys.indexOf('Acquirer_id_DE32'))
    expect(keys.at(-1)).toBe('SendingAttemptCount')
  })

  it("writes a Cut_Off with Thredd's JSON names, every value a number but the date", () => {
    const value = JSON.parse(buildMessage('cutoff', 'json')) as Record<string, unknown>
    expect(Object.keys(value)).toEqual(JSON_CUT_OFF)
    for (const [key, field] of Object.entries(value))
      expect(typeof field, key).toBe(key === 'CutOffDate' ? 'string' : 'number')
  })

  it('writes a non-numeric value of a number field as a string', () => {
    expect(buildMessage('auth', 'json', { TXn_ID: 'abc' })).toContain('"TXn_ID":"abc"')
  })
})

describe('scenarioFields', () => {
  it("appends a field Thredd's examples do not carry at the end, in the order given", () => {
    const names = scenarioFields('auth', { Zeta_Field: '1', aaa_field: '2' }).map(([name]) => name)
    expect(names.slice(-2)).toEqual(['Zeta_Field', 'aaa_field'])
  })

  it('replaces an existing field without duplicating it', () => {
    const fields = scenarioFields('auth', { MTID: '0101' })
    expect(fields.filter(([name]) => name === 'MTID')).toEqual([['MTID', '0101']])
  })
})

describe('contentTypeOf and soapActionOf', () => {
  // Thredd's HTTP message format: application/xml (not text/xml) or application/json.
  it.each([
    { format: 'xml', type: 'application/xml' },
    { format: 'json', type: 'application/json' },
  ] as const)('$format is sent as $type', ({ format, type }) => {
    expect(contentTypeOf(format)).toBe(type)
  })

  it.each(SCENARIOS)('%s has the quoted soapaction of its root', (scenario) => {
    // The double quotes are part of the value (ehi-domain.md §1).
    expect(soapActionOf(scenario)).toBe(
      scenario === 'cutoff'
        ? '"http://tempuri.org/Cut_Off"'
        : '"http://tempuri.org/IEndpointVersion52/GetTransaction"',
    )
  })
})

describe('committed fixtures (test/fixtures/ehi)', () => {
  it.each(CASES)(
    'the $scenario fixture in $format equals buildMessage("$scenario", "$format")',
    ({ scenario, format }) => {
      expect(
        fixture(scenario, format),
        `test/fixtures/ehi/${scenario}.${format} has drifted from src/tools/messages/synthetic-messages.ts: run npm run fixtures`,
      ).toBe(buildMessage(scenario, format))
    },
  )

  it.each(CASES)(
    'the $scenario fixture in $format holds no value in a sensitive field',
    ({ scenario, format }) => {
      const text = fixture(scenario, format)
      if (format === 'json') {
        const value = JSON.parse(text) as Record<string, unknown>
        for (const name of SENSITIVE_FIELDS) expect([undefined, ''], name).toContain(value[name])
      } else {
        for (const name of SENSITIVE_FIELDS) {
          const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)
          expect(match?.[1] ?? '', name).toBe('')
        }
      }
      // No run of 12 digits or more that could pass for a card number, outside the ids.
      const runs = [...text.matchAll(/\d{12,}/g)].map((m) => m[0])
      for (const run of runs)
        expect(run.startsWith('5') || run.startsWith('4') ? run.length : 0, run).not.toBe(16)
    },
  )

  it.each(SCENARIOS.filter((s) => s !== 'cutoff'))(
    'the %s XML fixture carries the sensitive elements empty, as Thredd does when not configured',
    (scenario) => {
      // Guards the case above: an XML fixture with the element renamed would pass it vacuously.
      const text = fixture(scenario, 'xml')
      const present = SENSITIVE_FIELDS.filter((name) => text.includes(`<${name} />`))
      expect(present.length).toBeGreaterThan(5)
    },
  )

  it('has no file that the generator does not write, and a README naming the source of each', () => {
    const files = readdirSync(FIXTURES).filter((f) => f !== 'README.md')
    expect(files.sort()).toEqual(CASES.map(({ scenario, format }) => `${scenario}.${format}`).sort())
    const readme = readFileSync(new URL('README.md', FIXTURES), 'utf8')
    for (const scenario of SCENARIOS) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${scenario}\``))
      expect(row, `README row for ${scenario}`).toBeDefined()
      expect(row).toMatch(/https:\/\/(staging-)?docs\.thredd\.com\//)
    }
  })

  it("the checker's built-in sample is the auth fixture", () => {
    // src/check ships without test/: it keeps a copy, which must not drift.
    expect(SAMPLE_GET_TRANSACTION_XML).toBe(fixture('auth', 'xml'))
  })
})
