/**
 * The synthetic messages stand in for Thredd's traffic in every other test, the demo and the
 * simulator: they must be well-formed, shaped as Thredd sends them (XML with every element, JSON
 * flat without blanks), realistic in size, free of sensitive values, and the committed fixtures
 * must be exactly what the generator writes.
 */
import { readFileSync } from 'node:fs'
import { SaxesParser, type SaxesTagNS } from 'saxes'
import { describe, expect, it } from 'vitest'
import { SENSITIVE_FIELDS, type EhiFormat } from '../../../src/ehi/ehi-message.ts'
import { parseEhiMessage } from '../../../src/ehi/parse-ehi-message.ts'
import {
  buildMessage,
  contentTypeOf,
  SCENARIOS,
  scenarioFields,
  soapActionOf,
  type Scenario,
} from '../../../src/ehi/synthetic-messages.ts'

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const TEMPURI = 'http://tempuri.org/'
const LIMITS = { maxDepth: 16, maxElements: 2000, maxAttributes: 8 }
const FIXTURES = new URL('../../fixtures/ehi/', import.meta.url)
const FORMATS: readonly EhiFormat[] = ['xml', 'json']
const CASES = SCENARIOS.flatMap((scenario) => FORMATS.map((format) => ({ scenario, format })))
const rootOf = (scenario: Scenario) => (scenario === 'cutoff' ? 'Cut_Off' : 'GetTransaction')

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
    // ehi-domain.md §1: Thredd's documented first presentment is about 5-6 KB.
    expect(Buffer.byteLength(buildMessage('presentment', 'xml'))).toBeGreaterThanOrEqual(5 * 1024)
  })
})

describe('buildMessage: JSON', () => {
  it.each(SCENARIOS)('%s is a valid flat JSON object', (scenario) => {
    const value = JSON.parse(buildMessage(scenario, 'json')) as Record<string, unknown>
    expect(typeof value).toBe('object')
    for (const field of Object.values(value)) expect(['string', 'number']).toContain(typeof field)
  })

  it.each(SCENARIOS)('%s leaves blank fields out', (scenario) => {
    const value = JSON.parse(buildMessage(scenario, 'json')) as Record<string, unknown>
    const blanks = scenarioFields(scenario).filter(([, v]) => v === '')
    for (const [name] of blanks) expect(value).not.toHaveProperty(name)
    expect(Object.values(value)).not.toContain('')
  })

  it.each(SCENARIOS)('%s is accepted by parseEhiMessage', (scenario) => {
    const result = parseEhiMessage(Buffer.from(buildMessage(scenario, 'json')), contentTypeOf('json'), LIMITS)
    expect(result).toMatchObject({ ok: true, message: { format: 'json', root: rootOf(scenario) } })
  })

  it('writes ids and amounts as numbers with their exact digits', () => {
    const json = buildMessage('auth', 'json')
    expect(json).toContain('"TXn_ID":4000000001')
    expect(json).toContain('"Token":900000001')
    expect(json).toContain('"Bill_Amt":-12.50')
  })

  it('writes codes as strings, keeping leading zeros', () => {
    const json = buildMessage('auth', 'json')
    expect(json).toContain('"MTID":"0100"')
    expect(json).toContain('"Acquirer_id_DE32":"012345"')
  })

  it('writes a non-numeric value of a number field as a string', () => {
    expect(buildMessage('auth', 'json', { TXn_ID: 'abc' })).toContain('"TXn_ID":"abc"')
  })
})

describe('scenarioFields', () => {
  it('adds a new field in case-insensitive alphabetical order, as Thredd sends them', () => {
    const names = scenarioFields('auth', { Zeta_Field: '1', aaa_field: '2' }).map(([name]) => name)
    expect(names[0]).toBe('aaa_field')
    expect(names.at(-1)).toBe('Zeta_Field')
  })

  it('replaces an existing field without duplicating it', () => {
    const fields = scenarioFields('auth', { MTID: '0101' })
    expect(fields.filter(([name]) => name === 'MTID')).toEqual([['MTID', '0101']])
  })
})

describe('contentTypeOf and soapActionOf', () => {
  it.each([
    { format: 'xml', type: 'text/xml; charset=utf-8' },
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
        `test/fixtures/ehi/${scenario}.${format} has drifted from src/ehi/synthetic-messages.ts: run npm run fixtures`,
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
    },
  )

  it.each(SCENARIOS.filter((s) => s !== 'cutoff'))(
    'the %s XML fixture carries the sensitive elements empty, as Thredd does when not configured',
    (scenario) => {
      // Guards the case above: an XML fixture with the element renamed would pass it vacuously.
      const text = fixture(scenario, 'xml')
      const present = SENSITIVE_FIELDS.filter((name) => text.includes(`<${name}></${name}>`))
      expect(present.length).toBeGreaterThan(0)
    },
  )
})
