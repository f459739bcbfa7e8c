/**
 * Hardening, part 2b: hostile EHI bodies. XML bombs and entity tricks, nesting and attribute
 * floods, JSON nesting, duplicate keys, big numbers and invalid UTF-8 go through the whole
 * gateway (refused with ehi_malformed and never forwarded, or forwarded byte for byte); then a
 * property-based fuzz run (fast-check) over parseEhiMessage itself: it never throws, returns
 * within a time bound, and accepts only what a reference parser accepts as an EHI message.
 */
import fc from 'fast-check'
import { SaxesParser, type SaxesTagNS } from 'saxes'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { parseEhiMessage, type ParseLimits } from '../../src/plane/ehi/parse-ehi-message.ts'
import { buildMessage, SCENARIOS } from '../../src/tools/messages/synthetic-messages.ts'
import { post } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { byProfile, hardeningCase, type CaseContext } from './recorder.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki)
})
afterAll(() => h?.close())

const XML = buildMessage('auth', 'xml')
const JSON_BODY = buildMessage('auth', 'json')
const ENVELOPE_START = XML.indexOf('<s:Envelope')
const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const TEMPURI = 'http://tempuri.org/'
/** Inside GetTransaction, where fields go. */
const inGetTransaction = (inner: string) => XML.replace('<MCC_Code>', `${inner}<MCC_Code>`)

async function expectMalformed(c: CaseContext, body: string | Buffer, contentType: string, maxMs = 2000) {
  const before = h.host.received.length
  const metricBefore = await h.counter('ehi_gateway_request_errors_total', { reason: 'ehi_malformed' })
  const logsBefore = h.logs.length
  const started = performance.now()
  const res = await post(pki, h.port, {
    client: pki.clients.good,
    body,
    headers: { 'content-type': contentType },
  })
  const elapsed = performance.now() - started
  const reason = (JSON.parse(res.body.toString() || '{}') as { reason?: string }).reason
  const line = h.logs.slice(logsBefore).find((l) => l.event === 'request')
  const delta =
    (await h.counter('ehi_gateway_request_errors_total', { reason: 'ehi_malformed' })) - metricBefore
  c.observe(
    `${res.status} ${reason ?? ''} header=${String(res.headers['x-ehi-gateway-reason'])} log=${line?.reason}${line?.detail ? ` (${String(line.detail).slice(0, 70)})` : ''} metric+${delta}; ${Math.round(elapsed)} ms for ${Buffer.byteLength(body)} bytes; host saw ${h.host.received.length - before}`,
  )
  expect(res.status).toBe(400)
  expect(reason).toBe('ehi_malformed')
  expect(res.headers['x-ehi-gateway-reason']).toBe('ehi_malformed')
  expect(line?.reason).toBe('ehi_malformed')
  expect(delta).toBe(1)
  expect(h.host.received.length).toBe(before)
  expect(elapsed).toBeLessThan(maxMs)
}

const MALFORMED = '400 ehi_malformed (body, header, log, metric), not forwarded'

describe('XML', () => {
  const cases: [string, string][] = [
    [
      'XML with a DTD',
      `<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ELEMENT x ANY>]>${XML.slice(ENVELOPE_START)}`,
    ],
    [
      'external entity (XXE, file:///etc/passwd)',
      `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${inGetTransaction('<Txn_Note>&xxe;</Txn_Note>').slice(ENVELOPE_START)}`,
    ],
    [
      'external DTD (SYSTEM http URL)',
      `<?xml version="1.0"?><!DOCTYPE s:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">${XML.slice(ENVELOPE_START)}`,
    ],
    [
      'entity expansion (billion laughs)',
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from(
        { length: 9 },
        (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`,
      ).join('')}]>${inGetTransaction('<Txn_Note>&lol9;</Txn_Note>').slice(ENVELOPE_START)}`,
    ],
    ['undeclared entity reference', inGetTransaction('<Txn_Note>&xxe;</Txn_Note>')],
    [
      'very deep nesting (20,000 levels inside GetTransaction)',
      inGetTransaction(`${'<a>'.repeat(20_000)}${'</a>'.repeat(20_000)}`),
    ],
    [
      'two SOAP Bodies (which one is routed?)',
      XML.replace('</s:Body>', '</s:Body><s:Body><Cut_Off xmlns="http://tempuri.org/"/></s:Body>'),
    ],
    ['duplicate routing field (two TXn_ID)', inGetTransaction('<TXn_ID>1</TXn_ID>')],
    // A host searching descendants (XPath //MTID, ElementTree) would read these; the gateway
    // would not: refused whatever the namespace or place.
    [
      'a second MTID in the SOAP Header',
      XML.replace('<s:Body>', '<s:Header><MTID xmlns="http://tempuri.org/">0400</MTID></s:Header><s:Body>'),
    ],
    ['a second TXn_ID nested in another element', inGetTransaction('<Extra><TXn_ID>1</TXn_ID></Extra>')],
    [
      'a second MTID in another namespace (x:MTID)',
      inGetTransaction('<x:MTID xmlns:x="urn:x">0400</x:MTID>'),
    ],
    ['a second Txn_Type in no namespace (xmlns="")', inGetTransaction('<Txn_Type xmlns="">D</Txn_Type>')],
    ['a no-break space before MTID', XML.replace('<MTID>0100</MTID>', '<MTID>\u00a00100</MTID>')],
  ]
  it.each(cases)('%s', async (name, body) =>
    hardeningCase('message', `XML: ${name}`, MALFORMED, (c) => expectMalformed(c, body, 'text/xml'))(),
  )
})

describe('XML attribute floods', () => {
  const attributes = byProfile(12_000, 22_000)
  const declarations = byProfile(6_000, 10_000)
  const FLOODS: [string, string][] = [
    [
      `huge attribute count (${attributes} on one element)`,
      inGetTransaction(`<X ${Array.from({ length: attributes }, (_, i) => `a${i}="1"`).join(' ')}/>`),
    ],
    [
      `huge namespace declaration count (${declarations} on the envelope)`,
      XML.replace(
        '<s:Envelope ',
        `<s:Envelope ${Array.from({ length: declarations }, (_, i) => `xmlns:p${i}="urn:x${i}"`).join(' ')} `,
      ),
    ],
  ]
  // A regression guard: while this suite was written, the new XML tokenizer collected every
  // attribute of a tag before checking the limit and found duplicates with a linear scan each
  // (quadratic): 20,000 attributes blocked the event loop for about 11 s. It now stops at the limit.
  it.each(FLOODS)('%s', async (name, body) =>
    hardeningCase(
      'message',
      `XML: ${name}`,
      `${MALFORMED}, parsed in well under a second (the event loop is shared by every connection)`,
      (c) => expectMalformed(c, body, 'text/xml', 1000),
    )(),
  )
})

describe('JSON', () => {
  const cases: [string, string][] = [
    [
      'deep nesting (50,000 arrays)',
      JSON_BODY.replace('{', `{"X":${'['.repeat(50_000)}${']'.repeat(50_000)},`),
    ],
    [
      'deep nesting (20,000 objects)',
      JSON_BODY.replace('{', `{"X":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)},`),
    ],
    ['duplicate key (TXn_ID twice)', JSON_BODY.replace('{', '{"TXn_ID":1,')],
    ['duplicate key (MTID twice, different values)', JSON_BODY.replace('{', '{"MTID":"0420",')],
    ['duplicate key spelled with an escape (M\\u0054ID)', JSON_BODY.replace('{', '{"M\\u0054ID":"0420",')],
    ['a top-level array', `[${JSON_BODY}]`],
    ['a routing key inside a nested object', JSON_BODY.replace('{', '{"Extra":{"MTID":"0400"},')],
    ['a Cut_Off id beside a GetTransaction (which is it?)', JSON_BODY.replace('{', '{"CutOffId":1,')],
    [
      'a routing field that is an object',
      JSON_BODY.replace('{', '{"Txn_Type":{"$ne":null},').replace('"Txn_Type":"A",', ''),
    ],
  ]
  it.each(cases)('%s', async (name, body) =>
    hardeningCase('message', `JSON: ${name}`, MALFORMED, (c) =>
      expectMalformed(c, body, 'application/json'),
    )(),
  )

  it(
    'numbers past 2^53',
    hardeningCase(
      'message',
      'JSON: numbers past 2^53 (TXn_ID 21 digits, Token 2^53+1, Matching_Txn_ID 16 digits)',
      '200, forwarded byte for byte; x-ehi-txn-id carries the exact digits; the audit line never a run of 12+ digits in clear',
      async (c) => {
        const body = buildMessage('auth', 'json', {
          TXn_ID: '123456789012345678901',
          Token: '9007199254740993',
          Matching_Txn_ID: '9999999999999999',
        })
        const before = h.host.received.length
        const res = await post(pki, h.port, {
          client: pki.clients.good,
          body,
          headers: { 'content-type': 'application/json' },
        })
        const got = h.host.received[before]
        const line = h.logs.findLast((l) => l.event === 'request') as {
          ehi?: { fields?: Record<string, string> }
        }
        c.observe(
          `${res.status}; forwarded identical=${got?.body.toString() === body}; x-ehi-txn-id=${String(got?.headers['x-ehi-txn-id'])}; audit TXn_ID=${String(line.ehi?.fields?.TXn_ID)}`,
        )
        expect(res.status).toBe(200)
        expect(got?.body.toString()).toBe(body)
        expect(got?.headers['x-ehi-txn-id']).toBe('123456789012345678901')
        // 21 digits is past TXn_ID's documented 19 (2^63-1): masked; and no log line holds a
        // run of 12+ digits in clear.
        expect(line.ehi?.fields?.TXn_ID).toBe('[masked: not in the documented format]')
        const logs = JSON.stringify(h.logs).replace(
          /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g,
          '<request id>',
        )
        expect(logs).not.toMatch(/[0-9]{12}/)
      },
    ),
  )
})

describe('encoding', () => {
  const splice = (text: string, marker: string, bytes: number[]) => {
    const at = text.indexOf(marker)
    return Buffer.concat([
      Buffer.from(text.slice(0, at)),
      Buffer.from(bytes),
      Buffer.from(text.slice(at + marker.length)),
    ])
  }
  const INVALID: [string, number[]][] = [
    ['a stray continuation byte', [0x80]],
    ['0xFF', [0xff]],
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
    ['a UTF-16 surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['a truncated sequence (E2 82)', [0xe2, 0x82]],
  ]

  const send = async (text: string, marker: string, type: string, bytes: number[]) => {
    const body = splice(text, marker, [...Buffer.from(marker.slice(0, -1)), ...bytes])
    const before = h.host.received.length
    const res = await post(pki, h.port, { client: pki.clients.good, body, headers: { 'content-type': type } })
    const got = h.host.received.slice(before)
    return { body, res, got }
  }

  // Thredd states UTF-8 (ehi-domain.md §1), but a merchant name is the acquirer's bytes, and
  // refusing an authorisation over one is worse than forwarding it: free text is tolerated and
  // reaches the host byte for byte, as control characters do (next case).
  it(
    'invalid UTF-8 in free text is forwarded unchanged',
    hardeningCase(
      'message',
      'invalid UTF-8 in a text field (Merch_Name_DE43), XML and JSON (5 byte patterns each)',
      "200, forwarded byte for byte: free text is the acquirer's and the gateway reads nothing from it",
      async (c) => {
        const outcomes: string[] = []
        let identical = 0
        for (const [label, bytes] of INVALID) {
          for (const [format, text, type] of [
            ['xml', XML, 'text/xml'],
            ['json', JSON_BODY, 'application/json'],
          ] as const) {
            const { body, res, got } = await send(text, 'SYNTHETIC GROCER ', type, bytes)
            outcomes.push(`${format} with ${label}: ${res.status}`)
            if (got.length === 1 && got[0]!.body.equals(body)) identical++
          }
        }
        c.observe(
          `${identical}/${outcomes.length} forwarded identical; e.g. ${outcomes.slice(0, 2).join(', ')}`,
        )
        expect(outcomes.filter((o) => !o.endsWith(': 200'))).toEqual([])
        expect(identical).toBe(outcomes.length)
      },
    ),
  )

  // In a field the gateway routes, classifies and logs by, the gateway (which decodes) and the
  // host (which sees the bytes) would read different values: refused.
  it(
    'invalid UTF-8 in a routing field is refused',
    hardeningCase(
      'message',
      'invalid UTF-8 in a routing field (TXn_ID in XML, MTID in JSON; 5 byte patterns each)',
      '400 ehi_malformed, never forwarded',
      async (c) => {
        const outcomes: string[] = []
        let forwarded = 0
        for (const [label, bytes] of INVALID) {
          for (const [format, text, marker, type] of [
            ['xml', XML, '<TXn_ID>4', 'text/xml'],
            ['json', JSON_BODY, '"MTID":"0', 'application/json'],
          ] as const) {
            const { res, got } = await send(text, marker, type, bytes)
            const reason = (JSON.parse(res.body.toString()) as { reason?: string }).reason
            outcomes.push(`${format} with ${label}: ${res.status} ${String(reason)}`)
            forwarded += got.length
          }
        }
        c.observe(`${forwarded}/${outcomes.length} forwarded; e.g. ${outcomes.slice(0, 2).join(', ')}`)
        expect(outcomes.filter((o) => !o.endsWith(': 400 ehi_malformed'))).toEqual([])
        expect(forwarded).toBe(0)
      },
    ),
  )

  it(
    'control characters are tolerated',
    hardeningCase(
      'message',
      'control characters and NUL in a text field (Thredd passes acquirer bytes on)',
      '200, forwarded byte for byte',
      async (c) => {
        const body = buildMessage('auth', 'xml', { Merch_Name_DE43: 'SYN\u0000\u0001\u001fTHETIC GROCER' })
        const before = h.host.received.length
        const res = await post(pki, h.port, { client: pki.clients.good, body })
        const got = h.host.received[before]
        c.observe(`${res.status}; forwarded identical=${got?.body.toString() === body}`)
        expect(res.status).toBe(200)
        expect(got?.body.toString()).toBe(body)
      },
    ),
  )
})

// -------------------------------------------------------------------------------------------
// Property-based fuzzing of the parser itself.

const LIMITS: ParseLimits = { maxDepth: 16, maxElements: 2000, maxAttributes: 32 }
/** Per parse of a few KB: catches hangs, with room for a loaded CI machine's scheduling. */
const TIME_BOUND_MS = byProfile(1000, 250)
const RUNS = byProfile(600, 20_000)

/** The tolerated saxes error: a character XML 1.0 forbids, in text. */
const TOLERATED = 'disallowed character.'

/**
 * The reference for XML: saxes, strict, namespace-aware, with only the control-character error
 * tolerated, plus the EHI shape (SOAP 1.1 Envelope > Body > GetTransaction | Cut_Off in
 * http://tempuri.org/).
 */
function referenceXml(text: string): { ok: boolean; root?: string; why?: string } {
  const parser = new SaxesParser({ xmlns: true, position: false })
  let why: string | undefined
  let depth = 0
  let root: string | undefined
  let bodySeen = false
  parser.on('error', (error) => {
    if (error.message !== TOLERATED) why ??= error.message
  })
  parser.on('doctype', () => (why ??= 'doctype'))
  parser.on('opentag', (tag: SaxesTagNS) => {
    depth++
    if (depth === 1 && (tag.local !== 'Envelope' || tag.uri !== SOAP11)) why ??= 'root is not a SOAP Envelope'
    if (depth === 2 && tag.uri === SOAP11 && tag.local === 'Body') bodySeen = true
    if (depth === 3 && bodySeen && root === undefined) {
      if (tag.uri === TEMPURI && (tag.local === 'GetTransaction' || tag.local === 'Cut_Off')) root = tag.local
    }
  })
  parser.on('closetag', () => depth--)
  try {
    parser.write(text).close()
  } catch (error) {
    why ??= (error as Error).message
  }
  if (why) return { ok: false, why }
  if (!root) return { ok: false, why: 'no GetTransaction or Cut_Off in a SOAP Body' }
  return { ok: true, root }
}

/** The reference for JSON: JSON.parse, a non-array object, no duplicate top-level keys. */
function referenceJson(text: string): { ok: boolean; why?: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, why: 'not JSON' }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, why: 'not an object' }
  const keys = topLevelKeys(text)
  if (new Set(keys).size !== keys.length) return { ok: false, why: 'duplicate top-level key' }
  return { ok: true }
}

/** Top-level keys of valid JSON text, decoded, in order (a small independent scanner). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = []
  let depth = 0
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (ch === '"') {
      let j = i + 1
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string)
      expectKey = false
      i = j
    } else if (ch === '{' || ch === '[') {
      depth++
      expectKey = ch === '{' && depth === 1
    } else if (ch === '}' || ch === ']') depth--
    else if (ch === ',' && depth === 1) expectKey = true
  }
  return keys
}

const XML_TOKENS = [
  '<',
  '>',
  '/>',
  '</',
  '&',
  '&amp;',
  '&lt;',
  '&#0;',
  '&#x1;',
  '&#xD800;',
  '&unknown;',
  '"',
  "'",
  '=',
  ':',
  '<!DOCTYPE x>',
  '<!ENTITY e "x">',
  '<![CDATA[',
  ']]>',
  '<!--',
  '-->',
  '<?xml version="1.0"?>',
  '<?pi x?>',
  '</s:Body>',
  '<s:Body>',
  '</s:Envelope>',
  '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">',
  '<Cut_Off xmlns="http://tempuri.org/">',
  '</GetTransaction>',
  '<GetTransaction xmlns="http://tempuri.org/">',
  'xmlns="urn:other"',
  'xmlns:s="urn:other"',
  '<MTID>0400</MTID>',
  '<TXn_ID>1</TXn_ID>',
  '\u0000',
  '\u0001',
  '\uFFFE',
  '\uD800',
  '\u00e9',
  ' ',
  '\t',
  '\r\n',
]
const JSON_TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '\\',
  '\\u0000',
  '\\ud800',
  'null',
  'true',
  '1e999',
  '-0',
  '123456789012345678901234567890',
  '"TXn_ID":2,',
  '"MTID":"0400",',
  '"MTID":{},',
  '"x":[[[[',
  '\u0000',
  '\uFEFF',
  '\u2028',
  ' ',
]

type Edit =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'replace'; at: number; length: number; text: string }
  | { kind: 'duplicate'; at: number; length: number; to: number }

function applyEdits(source: string, edits: Edit[]): string {
  let text = source
  for (const edit of edits) {
    const at = Math.floor(edit.at * text.length)
    if (edit.kind === 'insert') text = text.slice(0, at) + edit.text + text.slice(at)
    else if (edit.kind === 'delete') text = text.slice(0, at) + text.slice(at + edit.length)
    else if (edit.kind === 'replace') text = text.slice(0, at) + edit.text + text.slice(at + edit.length)
    else {
      const piece = text.slice(at, at + edit.length)
      const to = Math.floor(edit.to * text.length)
      text = text.slice(0, to) + piece + text.slice(to)
    }
  }
  return text
}

function editArbitrary(tokens: string[]): fc.Arbitrary<Edit> {
  const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })
  const text = fc.oneof(
    fc.constantFrom(...tokens),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.array(fc.constantFrom(...tokens), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')),
  )
  return fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: position, text }),
    fc.record({
      kind: fc.constant('delete' as const),
      at: position,
      length: fc.integer({ min: 1, max: 40 }),
    }),
    fc.record({
      kind: fc.constant('replace' as const),
      at: position,
      length: fc.integer({ min: 1, max: 20 }),
      text,
    }),
    fc.record({
      kind: fc.constant('duplicate' as const),
      at: position,
      length: fc.integer({ min: 1, max: 200 }),
      to: position,
    }),
  )
}

interface FuzzStats {
  runs: number
  accepted: number
  slowestMs: number
}

/** Runs parseEhiMessage once with the fuzz properties; returns whether it accepted. */
function checkOne(body: Buffer, contentType: string, stats: FuzzStats, reference: (text: string) => boolean) {
  const started = performance.now()
  let result: ReturnType<typeof parseEhiMessage>
  try {
    result = parseEhiMessage(body, contentType, LIMITS)
  } catch (error) {
    throw new Error(`parseEhiMessage threw: ${(error as Error).message}`)
  }
  const elapsed = performance.now() - started
  stats.runs++
  stats.slowestMs = Math.max(stats.slowestMs, elapsed)
  if (elapsed > TIME_BOUND_MS) throw new Error(`parseEhiMessage took ${elapsed.toFixed(0)} ms`)
  if (result.ok) {
    stats.accepted++
    const text = body.toString('utf8').replace(/^\uFEFF/, '')
    if (!reference(text)) throw new Error(`accepted a body the reference parser refuses`)
  }
}

// The CI profile is repeatable (a fixed seed); the long profile explores (a new seed each run,
// recorded in the table). EHI_HARDENING_SEED replays a run.
const fuzzSeed = Number(process.env.EHI_HARDENING_SEED ?? byProfile(20_261_127, Date.now() % 2_147_483_647))
const fuzzExpected = `never throws, each parse under ${TIME_BOUND_MS} ms, and anything accepted is accepted by the reference parser`

describe('fuzz: parseEhiMessage', () => {
  const xmlSources = SCENARIOS.map((s) => buildMessage(s, 'xml'))
  const jsonSources = SCENARIOS.map((s) => buildMessage(s, 'json'))
  const xmlReference = (text: string) => {
    const ref = referenceXml(text)
    return ref.ok
  }
  const jsonReference = (text: string) => referenceJson(text).ok
  /** Every scenario's message in both formats, each with its format. */
  const bothFormats = fc.constantFrom(
    ...xmlSources.map((s) => ['xml', s] as const),
    ...jsonSources.map((s) => ['json', s] as const),
  )
  /** checkOne with the format's media type and reference parser. */
  const checkFormat = (format: 'xml' | 'json', body: Buffer, stats: FuzzStats) =>
    checkOne(
      body,
      format === 'xml' ? 'text/xml' : 'application/json',
      stats,
      format === 'xml' ? xmlReference : jsonReference,
    )

  const report = (c: CaseContext, stats: FuzzStats) =>
    c.observe(
      `${stats.runs} inputs (seed ${fuzzSeed}), ${stats.accepted} accepted, none threw, slowest ${stats.slowestMs.toFixed(1)} ms`,
    )

  /** Random edits (inserted, deleted, duplicated markup tokens) to every scenario's message. */
  const mutations = (
    format: 'XML' | 'JSON',
    sources: string[],
    tokens: string[],
    contentType: string,
    reference: (text: string) => boolean,
    referenceName: string,
  ) =>
    it(
      `${format} mutations`,
      hardeningCase(
        'fuzz',
        `fuzz: mutated ${format} messages (every scenario)`,
        `${fuzzExpected} (${referenceName})`,
        (c) => {
          const stats: FuzzStats = { runs: 0, accepted: 0, slowestMs: 0 }
          try {
            fc.assert(
              fc.property(
                fc.constantFrom(...sources),
                fc.array(editArbitrary(tokens), { minLength: 1, maxLength: 5 }),
                (source, edits) =>
                  checkOne(Buffer.from(applyEdits(source, edits)), contentType, stats, reference),
              ),
              { numRuns: RUNS, seed: fuzzSeed },
            )
          } finally {
            report(c, stats)
          }
        },
      ),
      120_000,
    )
  mutations('XML', xmlSources, XML_TOKENS, 'text/xml', xmlReference, 'saxes, strict, EHI root')
  mutations(
    'JSON',
    jsonSources,
    JSON_TOKENS,
    'application/json',
    jsonReference,
    'JSON.parse, object, no duplicate keys',
  )

  it(
    'field values',
    hardeningCase(
      'fuzz',
      'fuzz: arbitrary field values written raw (unescaped) into XML and JSON messages',
      `${fuzzExpected}`,
      (c) => {
        const stats: FuzzStats = { runs: 0, accepted: 0, slowestMs: 0 }
        const value = fc.oneof(
          fc.string({ maxLength: 16 }),
          fc.string({ unit: 'binary', maxLength: 8 }),
          fc
            .array(fc.constantFrom(...XML_TOKENS, ...JSON_TOKENS), { minLength: 1, maxLength: 4 })
            .map((p) => p.join('')),
        )
        try {
          fc.assert(
            fc.property(
              bothFormats,
              fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), value), {
                minLength: 1,
                maxLength: 3,
              }),
              ([format, source], edits) => {
                let text: string = source
                for (const [at, raw] of edits) {
                  const pattern = format === 'xml' ? /<(\w+)>([^<]*)<\/\1>/g : /"(\w+)":"([^"]*)"/g
                  const fields = [...text.matchAll(pattern)]
                  const field = fields[Math.floor(at * fields.length)]
                  if (!field) continue
                  const start =
                    field.index + field[0].indexOf(format === 'xml' ? '>' : ':"') + (format === 'xml' ? 1 : 2)
                  text = text.slice(0, start) + raw + text.slice(start + field[2]!.length)
                }
                checkFormat(format, Buffer.from(text), stats)
              },
            ),
            { numRuns: RUNS, seed: fuzzSeed },
          )
        } finally {
          report(c, stats)
        }
      },
    ),
    120_000,
  )

  it(
    'byte-level mutations',
    hardeningCase(
      'fuzz',
      'fuzz: byte-level mutations (random bytes, invalid UTF-8) of XML and JSON messages',
      `${fuzzExpected} (of the text as the gateway decodes it)`,
      (c) => {
        const stats: FuzzStats = { runs: 0, accepted: 0, slowestMs: 0 }
        try {
          fc.assert(
            fc.property(
              bothFormats,
              fc.array(
                fc.record({
                  at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
                  remove: fc.integer({ min: 0, max: 4 }),
                  bytes: fc.uint8Array({ minLength: 0, maxLength: 8 }),
                }),
                { minLength: 1, maxLength: 4 },
              ),
              ([format, source], edits) => {
                let bytes = Buffer.from(source)
                for (const edit of edits) {
                  const at = Math.floor(edit.at * bytes.length)
                  bytes = Buffer.concat([
                    bytes.subarray(0, at),
                    Buffer.from(edit.bytes),
                    bytes.subarray(at + edit.remove),
                  ])
                }
                checkFormat(format, bytes, stats)
              },
            ),
            { numRuns: RUNS, seed: fuzzSeed },
          )
        } finally {
          report(c, stats)
        }
      },
    ),
    120_000,
  )

  it(
    'arbitrary input',
    hardeningCase(
      'fuzz',
      'fuzz: arbitrary strings and bytes, under every content type',
      `${fuzzExpected}`,
      (c) => {
        const stats: FuzzStats = { runs: 0, accepted: 0, slowestMs: 0 }
        try {
          fc.assert(
            fc.property(
              fc.oneof(
                fc.string({ unit: 'grapheme', maxLength: 400 }).map((s) => Buffer.from(s)),
                fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
              ),
              fc.constantFrom(
                'text/xml',
                'application/xml; charset=utf-8',
                'application/json',
                'text/plain',
                undefined,
              ),
              (body, type) =>
                checkOne(body, type as string, stats, type?.includes('json') ? jsonReference : xmlReference),
            ),
            { numRuns: RUNS, seed: fuzzSeed },
          )
        } finally {
          report(c, stats)
        }
      },
    ),
    120_000,
  )
})
