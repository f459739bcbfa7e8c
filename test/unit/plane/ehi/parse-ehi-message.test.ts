/**
 * parseEhiMessage is the gateway's only look inside a message Thredd sends: it must accept every
 * shape Thredd documents (any SOAP prefix, XML or JSON), tolerate the odd bytes acquirers put in
 * text fields, refuse DTDs and oversized or ambiguous documents as ehi_malformed without
 * throwing, and never put a field's value into the refusal detail (it is logged).
 */
import { describe, expect, it } from 'vitest'
import { EXTRACTED_FIELDS, type EhiMessage } from '../../../../src/plane/ehi/ehi-message.ts'
import {
  formatOf,
  parseEhiMessage,
  scanTopLevelKeys,
  type ParseLimits,
  type ParseResult,
} from '../../../../src/plane/ehi/parse-ehi-message.ts'
import { buildMessage, type Scenario } from '../../../../src/tools/messages/synthetic-messages.ts'

const LIMITS: ParseLimits = { maxDepth: 16, maxElements: 2000, maxAttributes: 8 }
/** Small limits for boundary cases: Envelope, Body, GetTransaction and MTID use depth 4 and 4 elements. */
const SMALL: ParseLimits = { maxDepth: 6, maxElements: 12, maxAttributes: 2 }
const XML = 'text/xml; charset=utf-8'
const JSON_TYPE = 'application/json'
const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const TEMPURI = 'http://tempuri.org/'
const MARKER = 'MARKER-9f3a'

function parse(body: string | Buffer, contentType: string | undefined = XML, limits = LIMITS): ParseResult {
  return parseEhiMessage(typeof body === 'string' ? Buffer.from(body, 'utf8') : body, contentType, limits)
}

function accepted(body: string | Buffer, contentType: string | undefined = XML, limits = LIMITS): EhiMessage {
  const result = parse(body, contentType, limits)
  if (!result.ok) throw new Error(`refused: ${result.reason} ${result.detail}`)
  return result.message
}

/** A SOAP 1.1 envelope with the `s:` prefix around `body`. */
function soap(body: string, header = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${SOAP11}">${header}<s:Body>${body}</s:Body></s:Envelope>`
}

/** A minimal GetTransaction in the tempuri default namespace. */
function getTransaction(
  children = '<MTID>0100</MTID><Txn_Type>A</Txn_Type><TXn_ID>4000000001</TXn_ID>',
): string {
  return `<GetTransaction xmlns="${TEMPURI}">${children}</GetTransaction>`
}

/** The synthetic auth message with the envelope prefix `s` rewritten (empty: default namespace). */
function withEnvelopePrefix(xml: string, prefix: string): string {
  const p = prefix === '' ? '' : `${prefix}:`
  return xml
    .replace('xmlns:s=', prefix === '' ? 'xmlns=' : `xmlns:${prefix}=`)
    .replaceAll('<s:', `<${p}`)
    .replaceAll('</s:', `</${p}`)
}

const AUTH_XML = buildMessage('auth', 'xml')
const AUTH_JSON = buildMessage('auth', 'json')

describe('parseEhiMessage: the synthetic scenarios', () => {
  const expected: Record<Scenario, { root: string; MTID?: string; Txn_Type?: string; id: string }> = {
    auth: { root: 'GetTransaction', MTID: '0100', Txn_Type: 'A', id: '4000000001' },
    auth_visa: { root: 'GetTransaction', MTID: '0100', Txn_Type: 'A', id: '4000000007' },
    auth_sms: { root: 'GetTransaction', MTID: '0200', Txn_Type: 'M', id: '4000000008' },
    auth_followup: { root: 'GetTransaction', MTID: '0100', Txn_Type: 'A', id: '4000000001' },
    stip_advice: { root: 'GetTransaction', MTID: '0100', Txn_Type: 'A', id: '4000000001' },
    token_activation: { root: 'GetTransaction', MTID: '0100', Txn_Type: 'A', id: '4000000009' },
    reversal: { root: 'GetTransaction', MTID: '0400', Txn_Type: 'D', id: '4000000002' },
    afd_reversal: { root: 'GetTransaction', MTID: '0120', Txn_Type: 'D', id: '4000000010' },
    advice: { root: 'GetTransaction', MTID: '0120', Txn_Type: 'J', id: '4000000003' },
    presentment: { root: 'GetTransaction', MTID: '1240', Txn_Type: 'P', id: '4000000004' },
    // Visa Base II code with two trailing spaces: trimmed so classification can match it.
    visa_presentment: { root: 'GetTransaction', MTID: '05', Txn_Type: 'P', id: '4000000005' },
    load: { root: 'GetTransaction', MTID: '', Txn_Type: 'L', id: '4000000006' },
    balance_adjustment: { root: 'GetTransaction', MTID: '', Txn_Type: 'B', id: '4000000011' },
    cutoff: { root: 'Cut_Off', id: '7000000001' },
  }
  const cases = Object.entries(expected).flatMap(([scenario, want]) =>
    (['xml', 'json'] as const).map((format) => ({ scenario: scenario as Scenario, format, ...want })),
  )

  it.each(cases)('$scenario as $format parses with root $root', ({ scenario, format, root }) => {
    const message = accepted(buildMessage(scenario, format), format === 'xml' ? XML : JSON_TYPE)
    expect(message.format).toBe(format)
    expect(message.root).toBe(root)
  })

  it.each(cases.filter((c) => c.root === 'GetTransaction'))(
    '$scenario as $format gives MTID "$MTID", Txn_Type $Txn_Type, TXn_ID $id',
    ({ scenario, format, MTID, Txn_Type, id }) => {
      const { fields } = accepted(buildMessage(scenario, format), format === 'xml' ? XML : JSON_TYPE)
      // JSON leaves blank fields out (the load's empty MTID), XML sends them empty.
      expect(fields.MTID ?? '').toBe(MTID)
      expect(fields.Txn_Type).toBe(Txn_Type)
      expect(fields.TXn_ID).toBe(id)
      expect(fields.Token).toBe('900000001')
      expect(fields.ProductID).toBe('9001')
    },
  )

  it.each(cases.filter((c) => c.root === 'Cut_Off'))(
    'cutoff as $format gives CutoffID $id',
    ({ format, id }) => {
      const { fields } = accepted(buildMessage('cutoff', format), format === 'xml' ? XML : JSON_TYPE)
      // JSON names (CutOffId, ProductId...) are read into the XML names.
      expect(fields).toMatchObject({
        CutoffID: id,
        ProductID: '9001',
        CutoffDate: '2026-11-27 13:00:01.837',
        FirstTxn_ID: '4000000001',
        LastTxn_ID: '4000009999',
        Auths_Acknowledged: '9876',
        Financials_NotAcknowledged: '2',
        BalanceAdjustExpiry_NotAcknowledged: '0',
      })
      expect(fields.MTID).toBeUndefined()
    },
  )

  it.each(cases)('$scenario as $format extracts only allowlisted fields', ({ scenario, format }) => {
    const { fields } = accepted(buildMessage(scenario, format), format === 'xml' ? XML : JSON_TYPE)
    for (const name of Object.keys(fields)) expect(EXTRACTED_FIELDS.has(name)).toBe(true)
    expect(fields).not.toHaveProperty('Merch_Name_DE43')
  })
})

describe('parseEhiMessage: XML shapes Thredd may send', () => {
  it.each([
    { name: 's: prefix (as generated)', xml: AUTH_XML },
    { name: 'soap: prefix', xml: withEnvelopePrefix(AUTH_XML, 'soap') },
    { name: 'SOAP-ENV: prefix', xml: withEnvelopePrefix(AUTH_XML, 'SOAP-ENV') },
    { name: 'default-namespace Envelope', xml: withEnvelopePrefix(AUTH_XML, '') },
    {
      name: 'GetTransaction with a prefix bound to tempuri',
      xml: soap(
        `<t:GetTransaction xmlns:t="${TEMPURI}"><t:MTID>0100</t:MTID><t:Txn_Type>A</t:Txn_Type><t:TXn_ID>4000000001</t:TXn_ID></t:GetTransaction>`,
      ),
    },
    {
      name: 'tempuri as a default namespace inherited from the Envelope',
      xml: `<s:Envelope xmlns:s="${SOAP11}" xmlns="${TEMPURI}"><s:Body><GetTransaction><MTID>0100</MTID><Txn_Type>A</Txn_Type><TXn_ID>4000000001</TXn_ID></GetTransaction></s:Body></s:Envelope>`,
    },
    {
      name: 'a tempuri prefix declared on the Envelope',
      xml: `<s:Envelope xmlns:s="${SOAP11}" xmlns:t="${TEMPURI}"><s:Body><t:GetTransaction><t:MTID>0100</t:MTID><t:Txn_Type>A</t:Txn_Type><t:TXn_ID>4000000001</t:TXn_ID></t:GetTransaction></s:Body></s:Envelope>`,
    },
    {
      name: 'a SOAP Header before the Body',
      xml: soap(getTransaction(), `<s:Header><h:Trace xmlns:h="urn:example">abc</h:Trace></s:Header>`),
    },
    { name: 'no XML declaration', xml: AUTH_XML.replace(/^<\?xml[^>]*\?>\n/, '') },
    {
      name: 'declared encoding UTF-8 in capitals',
      xml: AUTH_XML.replace('encoding="utf-8"', 'encoding="UTF-8"'),
    },
  ])('accepts $name', ({ xml }) => {
    const message = accepted(xml)
    expect(message.root).toBe('GetTransaction')
    expect(message.fields).toMatchObject({ MTID: '0100', Txn_Type: 'A', TXn_ID: '4000000001' })
  })

  it('accepts a Cut_Off with the soap: prefix', () => {
    const message = accepted(withEnvelopePrefix(buildMessage('cutoff', 'xml'), 'soap'))
    expect(message.root).toBe('Cut_Off')
    expect(message.fields.CutoffID).toBe('7000000001')
  })

  it('does not extract a field that is not a routing field from another namespace', () => {
    // Only tempuri children are EHI fields; a foreign MCC_Code is just an unknown element.
    const xml = soap(getTransaction('<MTID>0100</MTID><MCC_Code xmlns="urn:other">9999</MCC_Code>'))
    expect(accepted(xml).fields.MCC_Code).toBeUndefined()
  })
})

describe('parseEhiMessage: XML tolerated as Thredd sends it', () => {
  it('tolerates raw NUL and control characters in a text field', () => {
    // Acquirers send odd bytes in Merch_Name_DE43; Thredd passes them on (ehi-domain.md §1).
    const xml = buildMessage('auth', 'xml', { Merch_Name_DE43: 'SYNTH\u0000\u0001GROCER\u001f' })
    expect(xml).toContain('\u0000')
    expect(accepted(xml).fields).toMatchObject({ MTID: '0100', TXn_ID: '4000000001' })
  })

  it('tolerates invalid UTF-8 bytes in a text field', () => {
    const at = AUTH_XML.indexOf('SYNTHETIC GROCER')
    const body = Buffer.concat([
      Buffer.from(AUTH_XML.slice(0, at)),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from(AUTH_XML.slice(at + 'SYNTHETIC GROCER'.length)),
    ])
    expect(accepted(body).fields.TXn_ID).toBe('4000000001')
  })

  it.each([
    ['XML TXn_ID', AUTH_XML, '<TXn_ID>4', 'text/xml'],
    ['XML MTID', AUTH_XML, '<MTID>0', 'text/xml'],
    ['JSON MTID', buildMessage('auth', 'json'), '"MTID":"0', 'application/json'],
  ])('refuses invalid UTF-8 in a routing field (%s) as ehi_malformed', (_name, text, marker, type) => {
    const at = text.indexOf(marker) + marker.length - 1
    const body = Buffer.concat([
      Buffer.from(text.slice(0, at)),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from(text.slice(at)),
    ])
    expect(parse(body, type)).toMatchObject({
      ok: false,
      reason: 'ehi_malformed',
      detail: expect.stringMatching(/is not valid UTF-8 text$/),
    })
  })

  it('reads a routing field written as CDATA', () => {
    const xml = AUTH_XML.replace('<TXn_ID>4000000001</TXn_ID>', '<TXn_ID><![CDATA[4000000001]]></TXn_ID>')
    expect(accepted(xml).fields.TXn_ID).toBe('4000000001')
  })

  it('tolerates markup characters inside CDATA in a text field', () => {
    const xml = AUTH_XML.replace(
      /<Merch_Name_DE43>[^<]*<\/Merch_Name_DE43>/,
      '<Merch_Name_DE43><![CDATA[A & B <Ltd>]]></Merch_Name_DE43>',
    )
    expect(accepted(xml).fields.MTID).toBe('0100')
  })

  it('accepts a UTF-8 byte-order mark before the document', () => {
    expect(accepted(`\uFEFF${AUTH_XML}`).fields.MTID).toBe('0100')
  })

  it('ignores unknown extra fields (Thredd adds fields in minor versions)', () => {
    const xml = buildMessage('auth', 'xml', { Future_Field_EHI_9: 'x' })
    expect(xml).toContain('<Future_Field_EHI_9>')
    expect(accepted(xml).fields).not.toHaveProperty('Future_Field_EHI_9')
  })

  it('ignores nested unknown elements within the limits', () => {
    const xml = AUTH_XML.replace('<MTID>', '<Future a="1"><Inner><Leaf>x</Leaf></Inner></Future><MTID>')
    expect(accepted(xml).fields.MTID).toBe('0100')
  })

  it('keeps a field text as sent apart from MTID, which is trimmed', () => {
    const xml = soap(getTransaction('<MTID> 0100 </MTID><Txn_Type>A</Txn_Type><SubBIN> 9999 </SubBIN>'))
    expect(accepted(xml).fields).toMatchObject({ MTID: '0100', SubBIN: ' 9999 ' })
  })
})

describe('parseEhiMessage: XML limits (boundaries)', () => {
  const nested = (levels: number) =>
    soap(getTransaction(`<MTID>0100</MTID>${'<X>'.repeat(levels)}${'</X>'.repeat(levels)}`))
  const wide = (extra: number) => soap(getTransaction(`<MTID>0100</MTID>${'<X/>'.repeat(extra)}`))
  const attributes = (count: number) =>
    soap(
      getTransaction(
        `<MTID>0100</MTID><X ${Array.from({ length: count }, (_, i) => `a${i}="1"`).join(' ')}/>`,
      ),
    )

  it.each([
    { name: 'nesting at exactly maxDepth', xml: nested(3) },
    { name: 'exactly maxElements elements', xml: wide(8) },
    { name: 'exactly maxAttributes attributes on one element', xml: attributes(2) },
  ])('accepts $name', ({ xml }) => {
    expect(parse(xml, XML, SMALL)).toMatchObject({ ok: true })
  })

  it.each([
    { name: 'nesting deeper than maxDepth', xml: nested(4), detail: 'nested deeper than 6 elements' },
    { name: 'more elements than maxElements', xml: wide(9), detail: 'more than 12 elements' },
    {
      name: 'more attributes than maxAttributes',
      xml: attributes(3),
      detail: 'more than 2 attributes on one element',
    },
  ])('refuses $name', ({ xml, detail }) => {
    expect(parse(xml, XML, SMALL)).toEqual({ ok: false, reason: 'ehi_malformed', detail })
  })

  it('counts namespace declarations as attributes', () => {
    const xml = `<s:Envelope xmlns:s="${SOAP11}" xmlns:a="urn:a" xmlns:b="urn:b"><s:Body>${getTransaction()}</s:Body></s:Envelope>`
    expect(parse(xml, XML, SMALL)).toMatchObject({ ok: false, reason: 'ehi_malformed' })
  })
})

describe('parseEhiMessage: XML refused as ehi_malformed', () => {
  const gt = getTransaction()
  const lol = `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>`
  const cases = [
    // DTDs are where XXE and entity expansion live: refused before any parsing.
    {
      name: 'a DOCTYPE',
      xml: `<?xml version="1.0"?><!DOCTYPE s:Envelope>${soap(gt).replace(/^<\?xml[^>]*\?>/, '')}`,
    },
    { name: 'a lower-case doctype', xml: `<!doctype x>${soap(gt).replace(/^<\?xml[^>]*\?>/, '')}` },
    {
      name: 'an internal entity declaration',
      xml: `<!DOCTYPE x [<!ENTITY mtid "0100">]>${soap(getTransaction('<MTID>&mtid;</MTID>')).replace(/^<\?xml[^>]*\?>/, '')}`,
    },
    {
      name: 'an external entity (XXE)',
      xml: `<!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>${soap(getTransaction('<MTID>0100</MTID><Merch_Name_DE43>&x;</Merch_Name_DE43>')).replace(/^<\?xml[^>]*\?>/, '')}`,
    },
    {
      name: 'billion laughs',
      xml: `${lol}${soap(getTransaction('<MTID>0100</MTID><Txn_Desc>&lol3;</Txn_Desc>')).replace(/^<\?xml[^>]*\?>/, '')}`,
    },
    {
      name: 'an undefined entity reference (&nbsp;)',
      xml: soap(getTransaction('<MTID>0100</MTID><Merch_Name_DE43>A&nbsp;B</Merch_Name_DE43>')),
    },
    {
      name: 'a bare ampersand in text',
      xml: soap(getTransaction('<MTID>0100</MTID><Txn_Desc>A & B</Txn_Desc>')),
    },
    { name: 'a root that is not an Envelope', xml: gt },
    { name: 'an Envelope in no namespace', xml: `<Envelope><Body>${gt}</Body></Envelope>` },
    {
      name: 'a SOAP 1.2 envelope',
      xml: `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>${gt}</s:Body></s:Envelope>`,
    },
    { name: 'an Envelope without a Body', xml: `<s:Envelope xmlns:s="${SOAP11}"></s:Envelope>` },
    { name: 'an empty Body', xml: soap('') },
    { name: 'text alone in the Body', xml: soap('GetTransaction') },
    {
      name: 'an Envelope child other than Header and Body',
      xml: `<s:Envelope xmlns:s="${SOAP11}"><s:Trailer/><s:Body>${gt}</s:Body></s:Envelope>`,
    },
    { name: 'another element in the Body', xml: soap(`<Ping xmlns="${TEMPURI}"/>`) },
    {
      name: 'a GetTransaction in another namespace',
      xml: soap('<GetTransaction xmlns="http://example.com/"><MTID>0100</MTID></GetTransaction>'),
    },
    {
      name: 'a GetTransaction in no namespace',
      xml: soap('<GetTransaction><MTID>0100</MTID></GetTransaction>'),
    },
    { name: 'two GetTransaction elements in the Body', xml: soap(gt + gt) },
    { name: 'a GetTransaction followed by another element', xml: soap(`${gt}<Extra/>`) },
    {
      name: 'two Bodies each holding a GetTransaction',
      xml: `<s:Envelope xmlns:s="${SOAP11}"><s:Body>${gt}</s:Body><s:Body>${gt}</s:Body></s:Envelope>`,
    },
    { name: 'text after the root element', xml: `${soap(gt)}junk` },
    { name: 'text before the root element', xml: `junk${soap(gt).replace(/^<\?xml[^>]*\?>/, '')}` },
    { name: 'a second root element', xml: `${soap(gt)}<s:Envelope xmlns:s="${SOAP11}"/>` },
    // The gateway and the host must never read different MTIDs or TXn_IDs from one message.
    { name: 'MTID twice', xml: soap(getTransaction('<MTID>0100</MTID><MTID>0400</MTID>')) },
    { name: 'TXn_ID twice', xml: soap(getTransaction('<TXn_ID>1</TXn_ID><TXn_ID>2</TXn_ID>')) },
    { name: 'an unbound prefix', xml: soap('<t:GetTransaction><t:MTID>0100</t:MTID></t:GetTransaction>') },
    { name: 'mismatched tags', xml: soap(getTransaction('<MTID>0100</Txn_Type>')) },
    {
      name: 'the string ]]> in text',
      xml: soap(getTransaction('<MTID>0100</MTID><Txn_Desc>a ]]> b</Txn_Desc>')),
    },
    { name: 'an empty body', xml: '' },
    { name: 'a whitespace-only body', xml: ' \n\t ' },
    { name: 'only an XML declaration', xml: '<?xml version="1.0" encoding="utf-8"?>' },
  ]

  it.each(cases)('refuses $name without throwing', ({ xml }) => {
    expect(parse(xml)).toMatchObject({ ok: false, reason: 'ehi_malformed' })
  })

  it('refuses a declared encoding other than UTF-8 as ehi_malformed (the media type was acceptable)', () => {
    const xml = AUTH_XML.replace('encoding="utf-8"', 'encoding="ISO-8859-1"')
    expect(parse(xml)).toEqual({
      ok: false,
      reason: 'ehi_malformed',
      detail: 'a declared encoding other than UTF-8',
    })
  })

  it('refuses an external entity before resolving it: the detail names the DTD, not the file', () => {
    const xml = `<!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>${soap(getTransaction('<MTID>&x;</MTID>')).replace(/^<\?xml[^>]*\?>/, '')}`
    const result = parse(xml)
    expect(result).toMatchObject({ ok: false, detail: 'DTDs and entity declarations are not accepted' })
  })

  const cutPoints = [
    { name: 'after the XML declaration', at: AUTH_XML.indexOf('<s:Envelope') },
    { name: 'inside the Envelope start tag', at: AUTH_XML.indexOf('xmlns:s=') + 5 },
    { name: 'inside a field value', at: AUTH_XML.indexOf('SYNTHETIC GROCER') + 5 },
    { name: 'inside an element name', at: AUTH_XML.indexOf('<Txn_Type>') + 4 },
    { name: 'after the GetTransaction end tag', at: AUTH_XML.indexOf('</GetTransaction>') + 17 },
    { name: 'inside the final end tag', at: AUTH_XML.lastIndexOf('</s:Envelope>') + 5 },
    { name: 'before the final end tag', at: AUTH_XML.lastIndexOf('</s:Envelope>') },
  ]
  it.each(cutPoints)('refuses a message truncated $name', ({ at }) => {
    expect(at).toBeGreaterThan(0)
    expect(parse(AUTH_XML.slice(0, at))).toMatchObject({ ok: false, reason: 'ehi_malformed' })
  })

  it('refuses two Bodies when the first one is empty', () => {
    // SOAP 1.1 has exactly one Body; a host reading the first Body would see no message at all
    // while the gateway routes on the second.
    const xml = `<s:Envelope xmlns:s="${SOAP11}"><s:Body/><s:Body>${gt}</s:Body></s:Envelope>`
    expect(parse(xml)).toMatchObject({ ok: false, reason: 'ehi_malformed' })
  })

  it.each([
    // Only odd characters in text are Thredd's data; element names are fixed by the schema, so
    // a control character or junk in a tag is a broken document that a strict host would refuse.
    {
      name: 'a control character in an element name',
      xml: soap(getTransaction('<MTID\u0001>0100</MTID\u0001>')),
    },
    {
      name: 'junk in a closing tag',
      xml: soap(getTransaction('<MTID>0100</MTID\u0001 junk><Txn_Type>A</Txn_Type>')),
    },
  ])('refuses $name (not well-formed XML)', ({ xml }) => {
    expect(parse(xml)).toMatchObject({ ok: false, reason: 'ehi_malformed' })
  })
})

describe('parseEhiMessage: a refusal detail never carries a field value', () => {
  const xml = buildMessage('auth', 'xml', { CVV2: MARKER, Merch_Name_DE43: `${MARKER} GROCER` })
  const json = buildMessage('auth', 'json', { CVV2: MARKER, Merch_Name_DE43: `${MARKER} GROCER` })

  it.each([
    { name: 'truncated inside the marked field', body: xml.slice(0, xml.indexOf(MARKER) + MARKER.length) },
    { name: 'truncated after the marked field', body: xml.slice(0, xml.indexOf('</CVV2>') + 7) },
    { name: 'an undefined entity after the marker', body: xml.replace(MARKER, `${MARKER}&nbsp;`) },
    { name: 'a malformed character reference', body: xml.replace(MARKER, `&#${MARKER};`) },
    { name: 'an entity named like the marker', body: xml.replace(MARKER, `&${MARKER};`) },
    { name: ']]> after the marker', body: xml.replace(MARKER, `${MARKER}]]>`) },
    {
      name: 'a duplicate MTID',
      body: xml.replace('<MTID>0100</MTID>', `<MTID>0100</MTID><MTID>${MARKER}</MTID>`),
    },
    { name: 'a DOCTYPE', body: `<!DOCTYPE x>${xml.replace(/^<\?xml[^>]*\?>\n/, '')}` },
    { name: 'a declared encoding', body: xml.replace('utf-8', 'ISO-8859-1') },
  ])('XML: $name', ({ body }) => {
    const result = parse(body)
    expect(result.ok).toBe(false)
    // V8 quotes a window of the input that may cut the marker short: look for its stem.
    expect(JSON.stringify(result)).not.toContain('MARKER')
  })

  const jsonCases = [
    { name: 'an unquoted value', body: json.replace(`"${MARKER}"`, MARKER) },
    { name: 'junk after the marker', body: json.replace(`"${MARKER}"`, `"${MARKER}" oops`) },
    { name: 'truncated inside the marker', body: json.slice(0, json.indexOf(MARKER) + 6) },
    { name: 'a bad escape after the marker', body: json.replace(`"${MARKER}"`, `"${MARKER}\\x"`) },
    {
      name: 'a raw control character after the marker',
      body: json.replace(`"${MARKER}"`, `"${MARKER}\u0001"`),
    },
    { name: 'trailing text after the object', body: `${json} ${MARKER}` },
    { name: 'a duplicate key holding the marker', body: json.replace('{', `{"CVV2":"${MARKER}-2",`) },
    { name: 'a routing field holding an object', body: json.replace('{', `{"MTID":{"v":"${MARKER}"},`) },
  ]

  it.each(jsonCases)('JSON: $name', ({ body }) => {
    const result = parse(body, JSON_TYPE)
    expect(result.ok).toBe(false)
    // V8 quotes a window of the input that may cut the marker short: look for its stem.
    expect(JSON.stringify(result)).not.toContain('MARKER')
  })

  it('JSON: the cases are meaningful, V8 quotes the input around the error', () => {
    // Guards the cases above: if V8 stopped quoting input, the stripping would go untested.
    const quoting = jsonCases.slice(0, 2).map(({ body }) => {
      try {
        JSON.parse(body)
        return ''
      } catch (error) {
        return (error as Error).message
      }
    })
    expect(quoting.some((message) => message.includes('MARKER'))).toBe(true)
  })

  it('JSON: keeps the error position in the detail', () => {
    const result = parse('{"MTID":"0100",}', JSON_TYPE)
    expect(result).toEqual({ ok: false, reason: 'ehi_malformed', detail: 'not valid JSON (at byte 15)' })
  })
})

describe('parseEhiMessage: JSON', () => {
  it('keeps integers past 2^53 exactly, as text', () => {
    // Thredd: ids can exceed IEEE-754 precision; a rounded TXn_ID breaks duplicate detection.
    const body = buildMessage('auth', 'json', { TXn_ID: '12345678901234567890', Token: '9007199254740993' })
    expect(body).toContain('"TXn_ID":12345678901234567890')
    expect(accepted(body, JSON_TYPE).fields).toMatchObject({
      TXn_ID: '12345678901234567890',
      Token: '9007199254740993',
    })
  })

  it.each([
    { literal: '12.50', text: '12.50' },
    { literal: '1.0', text: '1.0' },
    { literal: '-0', text: '-0' },
    { literal: '1E3', text: '1E3' },
  ])('keeps the number $literal as written', ({ literal, text }) => {
    const result = parse(`{"MTID":"0100","SendingAttemptCount":${literal}}`, JSON_TYPE)
    expect(result).toMatchObject({ ok: true, message: { fields: { SendingAttemptCount: text } } })
  })

  it('tolerates \\u0000 escapes in strings (Thredd substitutes bad bytes this way)', () => {
    const body = buildMessage('auth', 'json', { Merch_Name_DE43: 'SYNTH\u0000\u0001GROCER' })
    expect(body).toContain('\\u0000')
    expect(accepted(body, JSON_TYPE).fields.TXn_ID).toBe('4000000001')
  })

  it('tolerates invalid UTF-8 bytes inside a string', () => {
    const at = AUTH_JSON.indexOf('SYNTHETIC GROCER')
    const body = Buffer.concat([
      Buffer.from(AUTH_JSON.slice(0, at)),
      Buffer.from([0xff, 0xc3, 0x28]),
      Buffer.from(AUTH_JSON.slice(at + 'SYNTHETIC GROCER'.length)),
    ])
    expect(accepted(body, JSON_TYPE).fields.MTID).toBe('0100')
  })

  it('accepts a UTF-8 byte-order mark', () => {
    expect(accepted(`\uFEFF${AUTH_JSON}`, JSON_TYPE).fields.MTID).toBe('0100')
  })

  it('ignores unknown fields, nested objects and arrays', () => {
    const body = AUTH_JSON.replace('{', '{"Future":{"a":[1,{"b":2}]},"List":[1,2],')
    expect(accepted(body, JSON_TYPE).fields.MTID).toBe('0100')
  })

  it('accepts duplicate keys inside a nested object (only top-level keys route)', () => {
    const body = AUTH_JSON.replace('{', '{"Future":{"a":1,"a":2},')
    expect(accepted(body, JSON_TYPE).fields.TXn_ID).toBe('4000000001')
  })

  it('skips a routing field whose value is null', () => {
    const body = '{"MTID":null,"Txn_Type":"L","TXn_ID":1}'
    expect(accepted(body, JSON_TYPE).fields).toEqual({ Txn_Type: 'L', TXn_ID: '1' })
  })

  it('trims MTID', () => {
    expect(accepted('{"MTID":" 0100 ","Txn_Type":"A"}', JSON_TYPE).fields.MTID).toBe('0100')
  })

  it.each([
    { name: "with Thredd's CutOffId", body: '{"CutOffId":38077,"ProductId":9001}', root: 'Cut_Off' },
    {
      name: 'with the XML name CutoffID',
      body: '{"CutoffID":7000000001,"ProductID":"9001"}',
      root: 'Cut_Off',
    },
    { name: 'with a null CutoffID', body: '{"CutoffID":null}', root: 'GetTransaction' },
    { name: 'with a null CutOffId', body: '{"CutOffId":null,"Txn_Type":"L"}', root: 'GetTransaction' },
    {
      name: 'a GetTransaction with "CutoffID": null',
      body: '{"MTID":"0100","Txn_Type":"A","TXn_ID":1,"CutoffID":null}',
      root: 'GetTransaction',
    },
    { name: 'without CutoffID', body: '{"MTID":"0100","Txn_Type":"A"}', root: 'GetTransaction' },
    { name: 'empty', body: '{}', root: 'GetTransaction' },
  ])('recognises the root of an object $name as $root', ({ body, root }) => {
    expect(accepted(body, JSON_TYPE).root).toBe(root)
  })

  it("reads Thredd's JSON Cut_Off names into the XML names", () => {
    const body =
      '{"CutOffId":38077,"ProductId":99883,"CutOffDate":"2022-11-29 13:00:01.837","FirstTransactionId":6154805771,"LastTransactionId":6154805772,"AuthsAcknowledged":1,"AuthsNotAcknowledged":0,"FinancialsAcknowledged":2,"FinancialsNotAcknowledged":3,"LoadsUnloadsAcknowledged":4,"LoadsUnloadsNotAcknowledged":5,"BalanceAdjustExpiryAcknowledged":6,"BalanceAdjustExpiryNotAcknowledged":7}'
    expect(accepted(body, JSON_TYPE)).toEqual({
      format: 'json',
      root: 'Cut_Off',
      fields: {
        CutoffID: '38077',
        ProductID: '99883',
        CutoffDate: '2022-11-29 13:00:01.837',
        FirstTxn_ID: '6154805771',
        LastTxn_ID: '6154805772',
        Auths_Acknowledged: '1',
        Auths_NotAcknowledged: '0',
        Financials_Acknowledged: '2',
        Financials_NotAcknowledged: '3',
        LoadsUnloads_Acknowledged: '4',
        LoadsUnloads_NotAcknowledged: '5',
        BalanceAdjustExpiry_Acknowledged: '6',
        BalanceAdjustExpiry_NotAcknowledged: '7',
      },
    })
  })

  it.each([
    // The gateway and the host must agree on one TXn_ID: JSON.parse would keep only the last.
    {
      name: 'a duplicate top-level key',
      body: '{"TXn_ID":1,"MTID":"0100","TXn_ID":2}',
      detail: 'key TXn_ID appears twice',
    },
    {
      name: 'a duplicate written with a \\u escape',
      body: String.raw`{"TXn_ID":1,"TXn\u005fID":2}`,
      detail: 'key TXn_ID appears twice',
    },
    {
      name: 'a duplicate after a nested object',
      body: '{"MTID":"0100","x":{"a":1},"MTID":"0400"}',
      detail: 'key MTID appears twice',
    },
    {
      // The sender's key name is not quoted: the detail is logged.
      name: 'a duplicate of a key the gateway does not read',
      body: '{"MTID":"0100","5372999988887777":1,"5372999988887777":2}',
      detail: 'a key appears twice',
    },
    {
      name: 'a routing key inside a nested object',
      body: '{"MTID":"0100","Txn_Type":"L","x":{"MTID":"0100"}}',
      detail: 'key MTID appears inside a nested value',
    },
    {
      name: 'a routing key inside an array',
      body: '{"Txn_Type":"L","x":[1,{"y":{"TXn_ID":2}}]}',
      detail: 'key TXn_ID appears inside a nested value',
    },
    {
      name: 'a JSON Cut_Off name inside a nested object',
      body: '{"Txn_Type":"L","x":{"CutOffId":1}}',
      detail: 'key CutOffId appears inside a nested value',
    },
    {
      name: 'the Cut_Off id under both names',
      body: '{"CutOffId":1,"CutoffID":2}',
      detail: 'CutoffID appears twice (under two names)',
    },
    {
      name: 'ProductID and ProductId in one Cut_Off',
      body: '{"CutOffId":1,"ProductId":9001,"ProductID":9002}',
      detail: 'ProductID appears twice (under two names)',
    },
    {
      // Which is it? The gateway would route a Cut_Off, a host reading MTID a transaction.
      name: 'a Cut_Off id beside a GetTransaction routing field',
      body: '{"CutOffId":1,"MTID":"0100","Txn_Type":"A"}',
      detail: 'a Cut_Off id and MTID in one message',
    },
    { name: 'an object as MTID', body: '{"MTID":{},"Txn_Type":"A"}', detail: 'MTID is not a scalar value' },
    { name: 'an array as TXn_ID', body: '{"TXn_ID":[1]}', detail: 'TXn_ID is not a scalar value' },
    { name: 'a top-level array', body: '[{"MTID":"0100"}]', detail: 'the JSON body is not an object' },
    { name: 'a top-level string', body: '"0100"', detail: 'the JSON body is not an object' },
    { name: 'a top-level number', body: '100', detail: 'the JSON body is not an object' },
    { name: 'a top-level null', body: 'null', detail: 'the JSON body is not an object' },
    { name: 'an empty body', body: '', detail: 'not valid JSON' },
  ])('refuses $name', ({ body, detail }) => {
    expect(parse(body, JSON_TYPE)).toEqual({ ok: false, reason: 'ehi_malformed', detail })
  })

  it.each([
    { name: 'at the start', at: 1 },
    { name: 'inside a key', at: AUTH_JSON.indexOf('"MTID"') + 3 },
    { name: 'after a colon', at: AUTH_JSON.indexOf('"MTID"') + 7 },
    { name: 'inside a number', at: AUTH_JSON.indexOf('"TXn_ID":') + 12 },
    { name: 'before the closing brace', at: AUTH_JSON.length - 1 },
  ])('refuses JSON truncated $name', ({ at }) => {
    expect(parse(AUTH_JSON.slice(0, at), JSON_TYPE)).toMatchObject({ ok: false, reason: 'ehi_malformed' })
  })

  it.each([
    { name: 'accepts nesting at exactly maxDepth', depth: 6, ok: true },
    { name: 'refuses nesting past maxDepth', depth: 7, ok: false },
  ])('$name', ({ depth, ok }) => {
    // The top-level object is level 1.
    const body = `{"MTID":"0100","x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`
    expect(parse(body, JSON_TYPE, SMALL).ok).toBe(ok)
  })

  it.each([
    { name: 'accepts exactly maxElements keys', keys: 12, ok: true },
    { name: 'refuses more than maxElements keys', keys: 13, ok: false },
  ])('$name', ({ keys, ok }) => {
    const body = JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i])))
    expect(parse(body, JSON_TYPE, SMALL).ok).toBe(ok)
  })
})

describe('media types', () => {
  it.each([
    { contentType: 'application/xml', format: 'xml' },
    { contentType: 'text/xml', format: 'xml' },
    { contentType: 'text/xml; charset=utf-8', format: 'xml' },
    { contentType: 'text/xml; charset=UTF-8', format: 'xml' },
    { contentType: 'application/xml;charset="utf-8"', format: 'xml' },
    { contentType: 'Application/XML; Charset=UTF-8', format: 'xml' },
    { contentType: 'text/xml; charset=utf8', format: 'xml' },
    { contentType: 'application/json', format: 'json' },
    { contentType: 'application/json; charset=utf-8', format: 'json' },
    { contentType: 'application/json; charset="UTF-8"', format: 'json' },
  ] as const)('$contentType is $format', ({ contentType, format }) => {
    expect(formatOf(contentType)).toEqual({ format })
    const body = buildMessage('auth', format)
    expect(accepted(body, contentType).format).toBe(format)
  })

  it.each([
    { contentType: undefined },
    { contentType: '' },
    { contentType: 'text/plain' },
    { contentType: 'application/soap+xml' },
    { contentType: 'application/soap+xml; charset=utf-8' },
    { contentType: 'text/xml; charset=iso-8859-1' },
    { contentType: 'application/json; charset=iso-8859-1' },
    { contentType: 'application/json; charset="latin1"' },
    { contentType: 'application/x-www-form-urlencoded' },
    { contentType: 'text/json' },
  ])('refuses $contentType as ehi_unsupported_media_type', ({ contentType }) => {
    expect(formatOf(contentType)).toHaveProperty('detail')
    expect(parseEhiMessage(Buffer.from(AUTH_XML), contentType, LIMITS)).toMatchObject({
      ok: false,
      reason: 'ehi_unsupported_media_type',
    })
  })

  it('checks the media type before the body', () => {
    expect(parse('', 'text/plain')).toMatchObject({ ok: false, reason: 'ehi_unsupported_media_type' })
  })

  it.each([
    { name: 'a JSON body labelled XML', body: AUTH_JSON, contentType: XML },
    { name: 'an XML body labelled JSON', body: AUTH_XML, contentType: JSON_TYPE },
  ])('parses by the Content-Type, not by sniffing: refuses $name', ({ body, contentType }) => {
    expect(parse(body, contentType)).toMatchObject({ ok: false, reason: 'ehi_malformed' })
  })
})

describe('scanTopLevelKeys', () => {
  it.each([
    { name: 'an empty object', text: '{}', max: 4, keys: 0, duplicate: undefined, tooDeep: false },
    { name: 'two keys', text: '{"a":1,"b":2}', max: 4, keys: 2, duplicate: undefined, tooDeep: false },
    { name: 'a duplicate', text: '{"a":1,"a":2}', max: 4, keys: 1, duplicate: 'a', tooDeep: false },
    {
      name: 'the first of two duplicates',
      text: '{"a":1,"b":2,"b":3,"a":4}',
      max: 4,
      keys: 2,
      duplicate: 'b',
      tooDeep: false,
    },
    {
      name: 'a duplicate written with an escape',
      text: String.raw`{"a_":1,"a\u005f":2}`,
      max: 4,
      keys: 1,
      duplicate: 'a_',
      tooDeep: false,
    },
    {
      name: 'commas, colons and escaped quotes inside strings',
      text: String.raw`{"a":"x,\"b\":1,","b":"\"","c":"\\"}`,
      max: 4,
      keys: 3,
      duplicate: undefined,
      tooDeep: false,
    },
    {
      name: 'brackets inside strings',
      text: '{"a":"{[{[","b":"]}]}"}',
      max: 1,
      keys: 2,
      duplicate: undefined,
      tooDeep: false,
    },
    {
      name: 'a key ending in a backslash',
      text: String.raw`{"a\\":1,"a":2}`,
      max: 4,
      keys: 2,
      duplicate: undefined,
      tooDeep: false,
    },
    {
      name: 'same keys in nested objects',
      text: '{"a":{"b":1,"b":2},"c":[{"a":1},{"a":2}]}',
      max: 4,
      keys: 2,
      duplicate: undefined,
      tooDeep: false,
    },
    {
      name: 'a top-level key repeated after a nested object',
      text: '{"a":{"x":1},"a":2}',
      max: 4,
      keys: 1,
      duplicate: 'a',
      tooDeep: false,
    },
    {
      name: 'nesting at the limit',
      text: '{"a":{"b":[1]}}',
      max: 3,
      keys: 1,
      duplicate: undefined,
      tooDeep: false,
    },
    {
      name: 'nesting past the limit',
      text: '{"a":{"b":[1]}}',
      max: 2,
      keys: 1,
      duplicate: undefined,
      tooDeep: true,
    },
    {
      name: 'arrays count as levels',
      text: '{"a":[[[]]]}',
      max: 3,
      keys: 1,
      duplicate: undefined,
      tooDeep: true,
    },
    {
      name: 'whitespace between tokens',
      text: '{ "a" : 1 ,\n "b" : [ ] }',
      max: 2,
      keys: 2,
      duplicate: undefined,
      tooDeep: false,
    },
  ])('$name', ({ text, max, keys, duplicate, tooDeep }) => {
    const { numbers: _numbers, ...scan } = scanTopLevelKeys(text, max)
    expect(scan).toEqual({ keys, duplicate, tooDeep })
  })

  it.each([
    {
      name: 'integers past 2^53',
      text: '{"a":12345678901234567890}',
      numbers: [['a', '12345678901234567890']],
    },
    {
      name: 'decimals with trailing zeros',
      text: '{"a":5.20,"b":-0.0}',
      numbers: [
        ['a', '5.20'],
        ['b', '-0.0'],
      ],
    },
    { name: 'exponents', text: '{"a":1E+3}', numbers: [['a', '1E+3']] },
    {
      name: 'whitespace around values',
      text: '{ "a" : 7 ,\n"b":\t8\n}',
      numbers: [
        ['a', '7'],
        ['b', '8'],
      ],
    },
    { name: 'no strings, booleans or nulls', text: '{"a":"1","b":true,"c":null}', numbers: [] },
    { name: 'no nested numbers', text: '{"a":{"b":1},"c":[2,3],"d":4}', numbers: [['d', '4']] },
    { name: 'digits in an escaped key', text: String.raw`{"a\u0031":2}`, numbers: [['a1', '2']] },
  ])('keeps the source text of top-level numbers: $name', ({ text, numbers }) => {
    expect([...scanTopLevelKeys(text, 4).numbers]).toEqual(numbers)
  })
})

describe('parseEhiMessage: SOAP envelope order', () => {
  const SOAP = 'http://schemas.xmlsoap.org/soap/envelope/'
  const gt =
    '<GetTransaction xmlns="http://tempuri.org/"><MTID>0100</MTID><Txn_Type>A</Txn_Type></GetTransaction>'
  const limits = { maxDepth: 16, maxElements: 2000, maxAttributes: 32 }
  const parse = (xml: string) => parseEhiMessage(Buffer.from(xml), 'text/xml', limits)

  it.each([
    {
      name: 'a Header after the Body',
      xml: `<s:Envelope xmlns:s="${SOAP}"><s:Body>${gt}</s:Body><s:Header/></s:Envelope>`,
    },
    {
      name: 'text directly inside the Envelope',
      xml: `<s:Envelope xmlns:s="${SOAP}">junk<s:Body>${gt}</s:Body></s:Envelope>`,
    },
    {
      name: 'text directly inside the Body',
      xml: `<s:Envelope xmlns:s="${SOAP}"><s:Body>junk${gt}</s:Body></s:Envelope>`,
    },
  ])('refuses $name', ({ xml }) => {
    expect(parse(xml)).toMatchObject({ ok: false, reason: 'ehi_malformed' })
  })

  it('accepts a Header before the Body and whitespace between elements', () => {
    expect(
      parse(
        `<s:Envelope xmlns:s="${SOAP}">\n  <s:Header><x/></s:Header>\n  <s:Body>\n${gt}\n</s:Body>\n</s:Envelope>`,
      ),
    ).toMatchObject({ ok: true })
  })
})

describe('parseEhiMessage: a routing field the host could read differently', () => {
  /**
   * A host that searches descendants (XPath //MTID, ElementTree iter, a namespace-blind DOM
   * lookup) finds every one of these; the gateway reads only the GetTransaction child. Each one
   * is refused, whichever routing field it is.
   */
  const ROUTING = [
    'MTID',
    'Txn_Type',
    'TXn_ID',
    'SendingAttemptCount',
    'Authorised_by_GPS',
    'Proc_Code',
    'ProductID',
  ]
  const inside = (xml: string) => soap(getTransaction(`<MTID>0100</MTID><Txn_Type>A</Txn_Type>${xml}`))
  const places = (name: string) => [
    {
      place: 'nested in another element',
      xml: soap(getTransaction(`<Note><${name}>1</${name}></Note>`)),
      detail: `element ${name} appears outside the GetTransaction element`,
    },
    {
      place: 'in the SOAP Header',
      xml: soap(getTransaction(), `<s:Header><${name}>1</${name}></s:Header>`),
      detail: `element ${name} appears outside the GetTransaction or Cut_Off element`,
    },
    {
      place: 'in another namespace (x:, urn:x)',
      xml: soap(getTransaction(`<x:${name} xmlns:x="urn:x">1</x:${name}>`)),
      detail: `element ${name} appears outside the GetTransaction element`,
    },
    {
      place: 'in no namespace (xmlns="")',
      xml: soap(getTransaction(`<${name} xmlns="">1</${name}>`)),
      detail: `element ${name} appears outside the GetTransaction element`,
    },
    {
      place: 'in the SOAP envelope namespace',
      xml: soap(getTransaction(`<s:${name}>1</s:${name}>`)),
      detail: `element ${name} appears outside the GetTransaction element`,
    },
  ]
  it.each(ROUTING.flatMap((name) => places(name).map((p) => ({ name, ...p }))))(
    'refuses $name $place',
    ({ xml, detail }) => {
      expect(parse(xml)).toEqual({ ok: false, reason: 'ehi_malformed', detail })
    },
  )

  it.each(ROUTING)('refuses %s twice, the second in another namespace', (name) => {
    const xml = inside(`<${name}>1</${name}><x:${name} xmlns:x="urn:x">2</x:${name}>`)
    expect(parse(xml)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(new RegExp(`^element ${name} `)),
    })
  })

  it('refuses a routing field of a Cut_Off outside the Cut_Off element', () => {
    const xml = soap(
      `<Cut_Off xmlns="${TEMPURI}"><CutoffID>1</CutoffID><Note><CutoffID>2</CutoffID></Note></Cut_Off>`,
    )
    expect(parse(xml)).toEqual({
      ok: false,
      reason: 'ehi_malformed',
      detail: 'element CutoffID appears twice',
    })
  })

  it('refuses an element inside a field (mixed content parses differently)', () => {
    expect(parse(inside('<TXn_ID>1<b/>2</TXn_ID>'))).toEqual({
      ok: false,
      reason: 'ehi_malformed',
      detail: 'element TXn_ID holds an element',
    })
  })

  it.each([
    { name: 'a leading no-break space (U+00A0)', value: '\u00a00100' },
    { name: 'a trailing no-break space', value: '0100\u00a0' },
    { name: 'an ideographic space (U+3000)', value: '0100\u3000' },
    { name: 'full-width digits', value: '０１００' },
    { name: 'a NUL', value: '01\u000000' },
    { name: 'a byte-order mark (U+FEFF)', value: '\ufeff0100' },
  ])('refuses $name in MTID: only printable ASCII is read the same by every host', ({ value }) => {
    expect(parse(inside('').replace('<MTID>0100</MTID>', `<MTID>${value}</MTID>`))).toEqual({
      ok: false,
      reason: 'ehi_malformed',
      detail: 'MTID holds characters other than printable ASCII',
    })
  })

  it.each(['Txn_Type', 'SendingAttemptCount', 'Authorised_by_GPS', 'TXn_ID'])(
    'refuses a no-break space in %s, in XML and JSON',
    (name) => {
      const detail = `${name} holds characters other than printable ASCII`
      expect(parse(soap(getTransaction(`<${name}>\u00a01</${name}>`)))).toMatchObject({ ok: false, detail })
      expect(parse(`{"${name}":"\u00a01"}`, JSON_TYPE)).toMatchObject({ ok: false, detail })
    },
  )

  it('trims ASCII whitespace only: a tab and spaces around MTID are padding', () => {
    expect(accepted(inside('').replace('<MTID>0100</MTID>', '<MTID>\t 0100 \r\n</MTID>')).fields.MTID).toBe(
      '0100',
    )
  })

  it('still accepts free text outside ASCII (the acquirer\u2019s merchant name)', () => {
    expect(accepted(inside('<Merch_Name_DE43>CAF\u00c9\u00a0PARIS</Merch_Name_DE43>')).fields.MTID).toBe(
      '0100',
    )
  })
})

describe('parseEhiMessage: each XML refusal, by the one check that makes it', () => {
  /**
   * Each document below is a valid EHI message except for one thing, and the exact detail names
   * the check that refused it: a check that is removed lets its document through (or another
   * check refuses it with another detail), and the test fails.
   */
  const gt = getTransaction()
  const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope'
  const cases = [
    {
      check: 'the SOAP 1.1 Envelope namespace (the Body inside is SOAP 1.1)',
      xml: `<e:Envelope xmlns:e="${SOAP12}" xmlns:s="${SOAP11}"><s:Body>${gt}</s:Body></e:Envelope>`,
      detail: 'the root element is not a SOAP 1.1 Envelope',
    },
    {
      check: 'the Envelope name (a SOAP 1.1 Body under another root)',
      xml: `<s:Letter xmlns:s="${SOAP11}"><s:Body>${gt}</s:Body></s:Letter>`,
      detail: 'the root element is not a SOAP 1.1 Envelope',
    },
    {
      check: 'the Body namespace (a SOAP 1.2 Body in a SOAP 1.1 Envelope)',
      xml: `<s:Envelope xmlns:s="${SOAP11}"><b:Body xmlns:b="${SOAP12}">${gt}</b:Body></s:Envelope>`,
      detail: 'the Envelope may hold only a SOAP Header and Body',
    },
    {
      check: 'one Body',
      xml: `<s:Envelope xmlns:s="${SOAP11}"><s:Body>${gt}</s:Body><s:Body/></s:Envelope>`,
      detail: 'more than one SOAP Body',
    },
    {
      check: 'the Header before the Body',
      xml: `<s:Envelope xmlns:s="${SOAP11}"><s:Body>${gt}</s:Body><s:Header/></s:Envelope>`,
      detail: 'a SOAP Header after the Body',
    },
    {
      check: 'one element in the Body',
      xml: soap(gt + gt),
      detail: 'the SOAP Body holds more than one element',
    },
    {
      check: 'the EHI namespace of the root',
      xml: soap('<GetTransaction xmlns="http://tempuri.org"><MTID>0100</MTID></GetTransaction>'),
      detail: 'the SOAP Body holds no GetTransaction or Cut_Off element in the http://tempuri.org/ namespace',
    },
    {
      check: 'text between the envelope elements',
      xml: `<s:Envelope xmlns:s="${SOAP11}"><s:Body>x${gt}</s:Body></s:Envelope>`,
      detail: 'text outside the EHI element',
    },
    {
      check: 'a Body at all',
      xml: `<s:Envelope xmlns:s="${SOAP11}"><s:Header/></s:Envelope>`,
      detail: 'no SOAP Body with a GetTransaction or Cut_Off element',
    },
    {
      check: 'a field twice (not a routing field)',
      xml: soap(getTransaction('<MTID>0100</MTID><MCC_Code>1</MCC_Code><MCC_Code>2</MCC_Code>')),
      detail: 'element MCC_Code appears twice',
    },
    {
      check: 'DTDs',
      xml: `<!DOCTYPE x>${soap(gt).replace(/^<\?xml[^>]*\?>/, '')}`,
      detail: 'DTDs and entity declarations are not accepted',
    },
    {
      check: 'the declared encoding',
      xml: soap(gt).replace('encoding="utf-8"', 'encoding="latin1"'),
      detail: 'a declared encoding other than UTF-8',
    },
  ]

  it.each(cases)('$check', ({ xml, detail }) => {
    expect(parse(xml)).toEqual({ ok: false, reason: 'ehi_malformed', detail })
  })

  it('the same documents are accepted once the one fault is repaired', () => {
    // Guards the table: the surrounding document is a valid EHI message.
    expect(accepted(soap(gt)).fields.MTID).toBe('0100')
    expect(
      accepted(`<e:Envelope xmlns:e="${SOAP11}" xmlns:s="${SOAP11}"><s:Body>${gt}</s:Body></e:Envelope>`)
        .root,
    ).toBe('GetTransaction')
  })
})

describe('parseEhiMessage: details never quote what the sender wrote', () => {
  it.each([
    { type: 'text/xml; charset=5372999988887777', detail: 'a charset other than UTF-8' },
    {
      type: 'text/5372999988887777',
      detail: 'a Content-Type other than application/xml, text/xml or application/json',
    },
    { type: '', detail: 'no Content-Type' },
    {
      type: '; charset=utf-8',
      detail: 'an empty Content-Type, expected application/xml, text/xml or application/json',
    },
  ])('Content-Type $type', ({ type, detail }) => {
    expect(parse(AUTH_XML, type)).toEqual({ ok: false, reason: 'ehi_unsupported_media_type', detail })
  })

  it('a declared encoding', () => {
    const result = parse(AUTH_XML.replace('encoding="utf-8"', 'encoding="x5372999988887777"'))
    expect(JSON.stringify(result)).not.toContain('5372999988887777')
  })
})
