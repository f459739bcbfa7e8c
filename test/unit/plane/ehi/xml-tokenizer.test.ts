/**
 * The request path reads XML with its own tokenizer (src/plane/ehi/xml-tokenizer.ts) instead of saxes,
 * for speed. These tests hold it to saxes, a complete and strict XML 1.0 + namespaces parser:
 *
 * - completeness: on every valid EHI-shaped document, both produce the same events;
 * - soundness: over random mutations of those documents, every document the tokenizer accepts,
 *   saxes accepts too, with the same events and the same parse result (the tokenizer may be
 *   stricter, never looser), and the tokenizer fails only with XmlError.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { getTransactionAnswer, cutOffAnswer } from '../../../../src/plane/ehi/ehi-answers.ts'
import { readXml } from '../../../../src/plane/ehi/check-host-answer.ts'
import { parseXml, type ParseLimits } from '../../../../src/plane/ehi/parse-ehi-message.ts'
import { buildMessage, SCENARIOS } from '../../../../src/tools/messages/synthetic-messages.ts'
import {
  declaresDtd,
  tokenizeXml,
  XmlError,
  type XmlHandlers,
} from '../../../../src/plane/ehi/xml-tokenizer.ts'
import { saxesTokenize } from '../../../support/saxes-tokenizer.ts'

type Tokenize = (text: string, handlers: XmlHandlers) => void
type Outcome = { ok: true; events: string[] } | { ok: false; error: unknown }

/** The events a tokenizer produces, adjacent text coalesced (parsers may split text differently). */
function run(tokenize: Tokenize, text: string): Outcome {
  const events: string[] = []
  let pending: string | undefined
  const flush = () => {
    if (pending !== undefined) events.push(`text ${JSON.stringify(pending)}`)
    pending = undefined
  }
  try {
    tokenize(text, {
      xmlDecl: (encoding) => events.push(`decl ${encoding ?? '-'}`),
      openTag: (local, uri, count) => {
        flush()
        events.push(`open {${uri}}${local} ${count}`)
      },
      text: (chunk) => {
        pending = (pending ?? '') + chunk
      },
      closeTag: (local, uri) => {
        flush()
        events.push(`close {${uri}}${local}`)
      },
    })
    flush()
    return { ok: true, events }
  } catch (error) {
    return { ok: false, error }
  }
}

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const TEMPURI = 'http://tempuri.org/'
const LIMITS: ParseLimits = { maxDepth: 16, maxElements: 2000, maxAttributes: 8 }

const ANSWERS = [
  getTransactionAnswer({ Acknowledgement: '1', Responsestatus: '00', CurBalance: 10.5 }, 'xml'),
  getTransactionAnswer({ Acknowledgement: '0', MerchantAdvice: 'A&B <x>' }, 'xml'),
  cutOffAnswer('1', 'xml'),
]

/** Hand-written documents exercising every construct the tokenizer reads. */
const HAND_WRITTEN = [
  `<a/>`,
  `<a></a>`,
  `<?xml version="1.0"?><a/>`,
  `<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n<a/>\n`,
  `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`,
  `<!-- lead --><a><!-- in -->x<!---->y</a><!-- tail -->`,
  `<a>&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#x1F600;</a>`,
  `<a b="1" c='2' d = "&lt;&#x9;'" e="&quot;"/>`,
  `<a><![CDATA[<not markup> & ]]></a>`,
  `<a>line\r\nbreak\rhere\n</a>`,
  `<a><![CDATA[cr\r\nlf]]></a>`,
  `<s:Envelope xmlns:s="${SOAP11}"><s:Body><GetTransaction xmlns="${TEMPURI}"><MTID>0100</MTID></GetTransaction></s:Body></s:Envelope>`,
  `<e:E xmlns:e="u1" xmlns="u2"><x e:a="1" a="2"><e:y xmlns:e="u3"/></x><z xmlns=""/></e:E>`,
  `<a xml:lang="en"><b xmlns:xml="http://www.w3.org/XML/1998/namespace"/></a>`,
  `<a p:x="1" xmlns:p="u"/>`,
  `<a>\u0000nul \u0001 ctl \uFFFD repl</a>`,
  `<a>é ü 中文 😀</a>`,
  `<a-b.c_d x-y="1"><_e/></a-b.c_d>`,
  `<a   ></a  >`,
  `<a>]]</a>`,
  `<a>]</a>`,
]

const CORPUS = [...SCENARIOS.map((scenario) => buildMessage(scenario, 'xml')), ...ANSWERS, ...HAND_WRITTEN]

describe('xml-tokenizer: completeness (the same events as saxes on valid documents)', () => {
  it.each(CORPUS.map((doc, index) => [index, doc] as const))('document %i', (_index, doc) => {
    const reference = run(saxesTokenize, doc)
    expect(reference.ok).toBe(true)
    expect(run(tokenizeXml, doc)).toEqual(reference)
  })
})

describe('xml-tokenizer: refusals', () => {
  it.each([
    ['an unclosed element', '<a><b></b>'],
    ['a mismatched closing tag', '<a></b>'],
    ['two roots', '<a/><b/>'],
    ['text before the root', 'x<a/>'],
    ['text after the root', '<a/>x'],
    ['an undefined entity', '<a>&nbsp;</a>'],
    ['a bare ampersand', '<a>A & B</a>'],
    ['a reference to NUL', '<a>&#0;</a>'],
    ['"]]>" in text', '<a>]]></a>'],
    ['"--" in a comment', '<a><!-- a -- b --></a>'],
    ['a comment ending in "--->"', '<a><!-- a ---></a>'],
    ['a DOCTYPE', '<!DOCTYPE a><a/>'],
    ['a processing instruction', '<a><?pi x?></a>'],
    ['an XML declaration not at the start', ' <?xml version="1.0"?><a/>'],
    ['an unbound prefix', '<p:a/>'],
    ['an unbound attribute prefix', '<a p:x="1"/>'],
    ['a duplicate attribute', '<a x="1" x="2"/>'],
    ['a duplicate attribute by expanded name', '<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>'],
    ['an unquoted attribute', '<a x=1/>'],
    ['attributes without whitespace between them', '<a x="1"y="2"/>'],
    ['a prefix bound to the empty namespace', '<a xmlns:p=""/>'],
    ['the xmlns prefix declared', '<a xmlns:xmlns="u"/>'],
    ['the xml prefix bound elsewhere', '<a xmlns:xml="u"/>'],
    ['the default namespace bound to the xml namespace', '<a xmlns="http://www.w3.org/XML/1998/namespace"/>'],
    ['an empty document', ''],
    ['a malformed XML declaration', '<?xml version="2"?><a/>'],
  ])('refuses %s with XmlError', (_name, doc) => {
    const outcome = run(tokenizeXml, doc)
    expect(outcome.ok).toBe(false)
    expect((outcome as { error: unknown }).error).toBeInstanceOf(XmlError)
    // Each of these is also refused by saxes: none of them is a strictness of our own.
    expect(run(saxesTokenize, doc).ok).toBe(false)
  })

  it('accepts an element with exactly maxAttributes attributes', () => {
    const handlers = { openTag: () => {}, text: () => {}, closeTag: () => {} }
    expect(() => tokenizeXml('<a x="1" y="2" xmlns:p="u"/>', handlers, { maxAttributes: 3 })).not.toThrow()
  })

  it('stops at the first attribute past maxAttributes, before reading the rest of the tag', () => {
    // What follows the fourth attribute is broken; the limit is what gets reported.
    const doc = '<a x="1" y="2" z="3" w="4" x="duplicate" v="unclosed'
    const handlers = { openTag: () => {}, text: () => {}, closeTag: () => {} }
    expect(() => tokenizeXml(doc, handlers, { maxAttributes: 3 })).toThrow(
      new XmlError('more than 3 attributes on one element'),
    )
  })

  it.each([
    ['non-ASCII element names (EHI names are ASCII)', '<é/>'],
    ['"<" in an attribute value', '<a x="<"/>'],
    ['a control character in an attribute value', '<a x="\u0001"/>'],
    ['whitespace around a namespace name', '<a xmlns=" u"/>'],
  ])('is stricter than saxes on %s', (_name, doc) => {
    expect(run(saxesTokenize, doc).ok).toBe(true)
    expect(run(tokenizeXml, doc).ok).toBe(false)
  })
})

describe('xml-tokenizer: names, prefixes and indentation', () => {
  it.each([
    ['a prefixed and an unprefixed name of one length', '<r xmlns:p="u"><pxa/><p:a/><pxa/><p:a/></r>'],
    ['one prefix bound to two namespaces in turn', '<r><p:a xmlns:p="u1"/><p:a xmlns:p="u2"/></r>'],
    ['a name that begins another', '<r><Txn/><Txn_Amt/><Txn/></r>'],
    ['a field holding only indentation', '<r><a>\n    </a><b>\n</b>\n  <c>\r\n  </c></r>'],
    ['indentation wider than the shared strings', `<r>\n${' '.repeat(200)}<a/></r>`],
  ])('reads %s as saxes does', (_name, doc) => {
    const reference = run(saxesTokenize, doc)
    expect(reference.ok).toBe(true)
    expect(run(tokenizeXml, doc)).toEqual(reference)
  })
})

describe('declaresDtd', () => {
  it.each([
    ['<!DOCTYPE a><a/>', true],
    ['<a/><!ENTITY x "y">', true],
    ['<a><!-- <!DOCTYPE --></a>', true],
    ['<a><!-- comment --><![CDATA[x]]></a>', false],
    ['<a>DOCTYPE ENTITY <! DOCTYPE</a>', false],
    ['<!doctype a><a/>', false],
    ['', false],
  ])('%j → %s', (text, expected) => {
    expect(declaresDtd(text)).toBe(expected)
  })
})

/** Fragments that make XML interesting: markup, references, namespaces, odd characters. */
const FRAGMENTS = [
  '<',
  '>',
  '/',
  '&',
  ';',
  '"',
  "'",
  '=',
  ':',
  '!',
  '?',
  '-',
  '[',
  ']',
  ' ',
  '\n',
  '\r',
  '\t',
  'a',
  'x',
  '#',
  '\u0000',
  '\u0001',
  '\uFFFE',
  'é',
  '\uD800',
  '😀',
  'xmlns',
  'xmlns:p="u"',
  'xmlns=""',
  ' p:a="1"',
  ' a="1"',
  '&amp;',
  '&#x0;',
  '&#65;',
  '&lt;',
  '&bogus;',
  '<!--',
  '-->',
  '<![CDATA[',
  ']]>',
  '<?xml version="1.0"?>',
  '<?pi?>',
  '</',
  '/>',
  '<a>',
  '</a>',
  's:',
  'soap:',
  '<!DOCTYPE a>',
  '<MTID>',
  '</MTID>',
  'GetTransaction',
  'Cut_Off',
]

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), piece: fc.constantFrom(...FRAGMENTS) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), piece: fc.constantFrom(...FRAGMENTS) }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 40 }),
  }),
)
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never

function mutate(doc: string, mutations: Mutation[]): string {
  let out = doc
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1)
    if (m.kind === 'insert') out = out.slice(0, at) + m.piece + out.slice(at)
    else if (m.kind === 'replace') out = out.slice(0, at) + m.piece + out.slice(at + 1)
    else if (m.kind === 'delete') out = out.slice(0, at) + out.slice(at + m.length)
    else out = out.slice(0, at) + out.slice(at, at + m.length) + out.slice(at)
  }
  return out
}

const mutated = fc
  .tuple(fc.constantFrom(...CORPUS), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  // What the parser meets is always decoded UTF-8: a lone surrogate arrives as U+FFFD.
  .map(([doc, mutations]) => Buffer.from(mutate(doc, mutations), 'utf8').toString('utf8'))

describe('xml-tokenizer: soundness over random mutations (never looser than saxes)', () => {
  it('accepts a document only if saxes accepts it, with the same events', () => {
    fc.assert(
      fc.property(mutated, (doc) => {
        const ours = run(tokenizeXml, doc)
        if (!ours.ok) {
          expect(ours.error).toBeInstanceOf(XmlError)
          return
        }
        expect(run(saxesTokenize, doc)).toEqual(ours)
      }),
      { numRuns: 20_000, seed: 20261127 },
    )
  })

  it('parses an EHI message only if the saxes-based parse agrees', () => {
    fc.assert(
      fc.property(mutated, (doc) => {
        const ours = parseXml(doc, LIMITS)
        if (ours.ok) expect(parseXml(doc, LIMITS, saxesTokenize)).toEqual(ours)
      }),
      { numRuns: 10_000, seed: 20261128 },
    )
  })

  it("reads a host's answer only if the saxes-based read agrees", () => {
    fc.assert(
      fc.property(mutated, fc.boolean(), (doc, cutOff) => {
        const ours = readXml(doc, cutOff)
        if (ours !== undefined) expect(readXml(doc, cutOff, saxesTokenize)).toEqual(ours)
      }),
      { numRuns: 10_000, seed: 20261129 },
    )
  })

  it('finds mutations that both accept (the property is not vacuous)', () => {
    const sample = fc.sample(mutated, { numRuns: 2_000, seed: 7 })
    const accepted = sample.filter((doc) => run(tokenizeXml, doc).ok).length
    expect(accepted).toBeGreaterThan(100)
  })
})
