/**
 * Parses an EHI message just enough to route, classify and audit it, without touching the bytes
 * that are forwarded. Pure.
 *
 * XML: SOAP 1.1 with any envelope prefix, whose Body holds exactly one `GetTransaction` or
 * `Cut_Off` element in the http://tempuri.org/ namespace, whatever the soapaction header says.
 * Read by a strict namespace-aware tokenizer (xml-tokenizer.ts). DTDs and entity declarations are
 * refused outright (no XXE, no entity expansion). Characters XML 1.0 forbids are tolerated in
 * text only: acquirers put odd bytes in text fields and Thredd passes them on (ehi-domain.md §1).
 *
 * JSON: a flat object; numbers keep their exact digits (TXn_ID, Token can exceed 2^53), read
 * from the parser's source text. Duplicate keys are refused: the gateway and the host must never
 * disagree on which TXn_ID a message carries.
 */
import type { Reason } from '../reasons.ts'
import {
  EXTRACTED_FIELDS,
  type EhiFields,
  type EhiFormat,
  type EhiMessage,
  type EhiRoot,
} from './ehi-message.ts'
import { tokenizeXml, XmlError, type TokenizeOptions, type XmlHandlers } from './xml-tokenizer.ts'

/** Runs a document through handlers, throwing XmlError when it is not well-formed. */
export type Tokenizer = (text: string, handlers: XmlHandlers, options?: TokenizeOptions) => void

export interface ParseLimits {
  maxDepth: number
  maxElements: number
  maxAttributes: number
}

export type ParseResult =
  | { ok: true; message: EhiMessage }
  | { ok: false; reason: Extract<Reason, 'ehi_malformed' | 'ehi_unsupported_media_type'>; detail: string }

export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/'
export const EHI_NS = 'http://tempuri.org/'

const XML_TYPES = new Set(['application/xml', 'text/xml'])
const JSON_TYPES = new Set(['application/json'])

/** The wire format a Content-Type names, or why it is refused. */
export function formatOf(contentType: string | undefined): { format: EhiFormat } | { detail: string } {
  if (!contentType) return { detail: 'no Content-Type' }
  const [type = '', ...params] = contentType.split(';').map((part) => part.trim().toLowerCase())
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice(8)
    .replace(/"/g, '')
  if (charset && charset !== 'utf-8' && charset !== 'utf8')
    return { detail: `charset ${charset} (EHI is UTF-8)` }
  if (XML_TYPES.has(type)) return { format: 'xml' }
  if (JSON_TYPES.has(type)) return { format: 'json' }
  return {
    detail: `Content-Type ${type || '(empty)'} (expected application/xml, text/xml or application/json)`,
  }
}

export function parseEhiMessage(
  body: Buffer,
  contentType: string | undefined,
  limits: ParseLimits,
): ParseResult {
  const media = formatOf(contentType)
  if ('detail' in media) return { ok: false, reason: 'ehi_unsupported_media_type', detail: media.detail }
  // A UTF-8 byte-order mark is legal before the document; the bytes forwarded keep it.
  const text = body.toString('utf8').replace(/^\uFEFF/, '')
  const result = media.format === 'xml' ? parseXml(text, limits) : parseJson(text, limits)
  // Invalid UTF-8 decodes to U+FFFD. Tolerated in free text (acquirers' bytes, forwarded as
  // sent), but never in a field the gateway routes, classifies or logs by: there it and the host
  // would read different values.
  if (result.ok && text.includes('\uFFFD')) {
    const garbled = Object.entries(result.message.fields).find(([, value]) => value?.includes('\uFFFD'))
    if (garbled) return malformed(`${garbled[0]} is not valid UTF-8 text`)
  }
  return result
}

const malformed = (detail: string): ParseResult => ({ ok: false, reason: 'ehi_malformed', detail })

/** Thrown inside the tokenizer's handlers to stop at the first problem (no work on a bad document). */
class Stop extends Error {}

/**
 * The XML half. `tokenize` is a parameter so the differential test can run the same structure
 * checks over saxes and prove the tokenizer is at least as strict.
 */
export function parseXml(text: string, limits: ParseLimits, tokenize: Tokenizer = tokenizeXml): ParseResult {
  // Refused before parsing: a document type declaration is where XXE and entity bombs live.
  if (text.includes('<!DOCTYPE') || text.includes('<!ENTITY')) {
    return malformed('DTDs and entity declarations are not accepted')
  }
  let depth = 0
  let elements = 0
  let inBody = false
  let bodySeen = false
  let bodyChildren = 0
  let root: EhiRoot | undefined
  let field: string | undefined
  let fieldText = ''
  const fields: Record<string, string> = {}

  const stop = (detail: string): never => {
    throw new Stop(detail)
  }
  const handlers: XmlHandlers = {
    xmlDecl(encoding) {
      if (encoding && !/^utf-?8$/i.test(encoding)) stop(`declared encoding ${encoding} (EHI is UTF-8)`)
    },
    openTag(local, uri, attributeCount) {
      depth++
      elements++
      if (depth > limits.maxDepth) stop(`nested deeper than ${limits.maxDepth} elements`)
      if (elements > limits.maxElements) stop(`more than ${limits.maxElements} elements`)
      if (attributeCount > limits.maxAttributes)
        stop(`more than ${limits.maxAttributes} attributes on one element`)
      if (depth === 1) {
        if (local !== 'Envelope' || uri !== SOAP11_NS) stop('the root element is not a SOAP 1.1 Envelope')
      } else if (depth === 2) {
        if (uri !== SOAP11_NS || (local !== 'Body' && local !== 'Header')) {
          stop('the Envelope may hold only a SOAP Header and Body')
        }
        // SOAP 1.1 §4: at most one Header, then exactly one Body.
        if (bodySeen) stop(local === 'Body' ? 'more than one SOAP Body' : 'a SOAP Header after the Body')
        if (local === 'Body') {
          bodySeen = true
          inBody = true
        }
      } else if (depth === 3 && inBody) {
        bodyChildren++
        if (bodyChildren > 1) stop('the SOAP Body holds more than one element')
        if (uri !== EHI_NS || (local !== 'GetTransaction' && local !== 'Cut_Off')) {
          stop(
            'the SOAP Body holds no GetTransaction or Cut_Off element in the http://tempuri.org/ namespace',
          )
        }
        root = local as EhiRoot
      } else if (depth === 4 && root && uri === EHI_NS && EXTRACTED_FIELDS.has(local)) {
        field = local
        fieldText = ''
      }
    },
    text(chunk) {
      if (field !== undefined) fieldText += chunk
      // Only whitespace may sit between the envelope's elements (SOAP carries no mixed content).
      else if ((depth === 1 || (depth === 2 && inBody)) && chunk.trim() !== '')
        stop('text outside the EHI element')
    },
    closeTag(local) {
      if (depth === 4 && field !== undefined) {
        if (fields[field] !== undefined) stop(`element ${field} appears twice`)
        fields[field] = field === 'MTID' ? fieldText.trim() : fieldText
        field = undefined
      } else if (depth === 2 && local === 'Body') {
        inBody = false
      }
      depth--
    },
  }

  try {
    tokenize(text, handlers, { maxAttributes: limits.maxAttributes })
  } catch (error) {
    if (error instanceof Stop || error instanceof XmlError) return malformed(error.message)
    throw error
  }
  if (!root) return malformed('no SOAP Body with a GetTransaction or Cut_Off element')
  return { ok: true, message: { format: 'xml', root, fields: fields as EhiFields } }
}

function parseJson(text: string, limits: ParseLimits): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    // V8's message quotes the input around the error, which may be card data: keep the position only.
    const position = /position (\d+)/.exec((error as Error).message)?.[1]
    return malformed(`not valid JSON${position ? ` (at byte ${position})` : ''}`)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return malformed('the JSON body is not an object')
  const scan = scanTopLevelKeys(text, limits.maxDepth)
  if (scan.tooDeep) return malformed(`nested deeper than ${limits.maxDepth} levels`)
  if (scan.duplicate !== undefined)
    return malformed(`key ${JSON.stringify(scan.duplicate.slice(0, 40))} appears twice`)
  if (scan.keys > limits.maxElements) return malformed(`more than ${limits.maxElements} keys`)

  const object = value as Record<string, unknown>
  const fields: Record<string, string> = {}
  for (const name of EXTRACTED_FIELDS) {
    const field = object[name]
    if (field === undefined || field === null) continue
    if (typeof field === 'object') return malformed(`${name} is not a scalar value`)
    // A number keeps the digits it was sent with (TXn_ID, Token can exceed 2^53).
    const text = typeof field === 'number' ? scan.numbers.get(name)! : String(field)
    fields[name] = name === 'MTID' ? text.trim() : text
  }
  const root: EhiRoot = 'CutoffID' in object ? 'Cut_Off' : 'GetTransaction'
  return { ok: true, message: { format: 'json', root, fields: fields as EhiFields } }
}

/**
 * One pass over valid JSON text: the number of top-level keys, the first duplicate one, whether
 * nesting goes past `maxDepth`, and the source text of each top-level number. JSON.parse keeps
 * only the last of duplicate keys and rounds numbers past 2^53, so both are read from the text
 * (a JSON.parse reviver can see the source too, but cost five times the parse itself).
 */
export function scanTopLevelKeys(
  text: string,
  maxDepth: number,
): { keys: number; duplicate: string | undefined; tooDeep: boolean; numbers: Map<string, string> } {
  const seen = new Set<string>()
  const numbers = new Map<string, string>()
  let depth = 0
  let expectKey = false
  let lastKey: string | undefined
  let duplicate: string | undefined
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      const start = i
      let escaped = false
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i)
        if (d === 0x5c /* \ */) {
          escaped = true
          i++
        } else if (d === 0x22) break
      }
      if (depth === 1 && expectKey) {
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i)
        if (seen.has(key)) duplicate ??= key
        seen.add(key)
        lastKey = key
        expectKey = false
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++
      if (depth > maxDepth) return { keys: seen.size, duplicate, tooDeep: true, numbers }
      expectKey = c === 0x7b && depth === 1
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true
    } else if (depth === 1 && lastKey !== undefined && (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39))) {
      // A top-level number: it runs to the next separator (the text is valid JSON).
      const start = i
      while (i + 1 < n && !/[\s,}]/.test(text[i + 1]!)) i++
      numbers.set(lastKey, text.slice(start, i + 1))
    }
  }
  return { keys: seen.size, duplicate, tooDeep: false, numbers }
}
