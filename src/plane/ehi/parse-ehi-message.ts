/**
 * Parses an EHI message just enough to route, classify and audit it, without touching the bytes
 * that are forwarded. Pure.
 *
 * XML: SOAP 1.1 with any envelope prefix, whose Body holds exactly one `GetTransaction` or
 * `Cut_Off` element in the http://tempuri.org/ namespace, whatever the soapaction header says.
 * Read by a strict namespace-aware tokenizer (xml-tokenizer.ts). DTDs and entity declarations are
 * refused outright (no XXE, no entity expansion). Characters XML 1.0 forbids are tolerated in
 * text only: acquirers put odd bytes in text fields and Thredd passes them on.
 *
 * JSON: a flat object; numbers keep their exact digits (TXn_ID, Token can exceed 2^53), read
 * from the parser's source text. A Cut_Off is an object with a (non-null) CutOffId, Thredd's
 * JSON name, or CutoffID.
 *
 * The gateway and the host must never disagree on which message this is: a routing field
 * (ROUTING_FIELDS) that occurs twice, anywhere else in the envelope (a SOAP Header, nested in
 * another element, another namespace, a nested JSON object) or holds anything but printable
 * ASCII is refused, as are duplicate JSON keys. A refusal detail names only fixed text and the
 * gateway's own field names, never what the sender wrote: it is logged.
 */
import type { Reason } from '../../reasons.ts'
import {
  asciiTrim,
  EXTRACTED_FIELDS,
  JSON_CUT_OFF_NAMES,
  ROUTING_FIELD_SET,
  ROUTING_FIELDS,
  type EhiFields,
  type EhiFormat,
  type EhiMessage,
  type EhiRoot,
} from './ehi-message.ts'
import {
  declaresDtd,
  tokenizeXml,
  XmlError,
  type TokenizeOptions,
  type XmlHandlers,
} from './xml-tokenizer.ts'

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
  // The sender's charset and type are never quoted: the detail is logged.
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return { detail: 'a charset other than UTF-8' }
  if (XML_TYPES.has(type)) return { format: 'xml' }
  if (JSON_TYPES.has(type)) return { format: 'json' }
  return {
    detail: `${type ? 'a Content-Type other than' : 'an empty Content-Type, expected'} application/xml, text/xml or application/json`,
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
  if (result.ok) {
    // A host that trims Unicode whitespace or folds look-alikes must read what the gateway read.
    for (const name of ROUTING_FIELDS) {
      const value = result.message.fields[name]
      if (value !== undefined && !PRINTABLE_ASCII.test(value))
        return malformed(`${name} holds characters other than printable ASCII`)
    }
  }
  return result
}

/** Printable ASCII, plus the ASCII whitespace that trimming removes. */
const PRINTABLE_ASCII = /^[\x20-\x7e\t\r\n]*$/

const malformed = (detail: string): ParseResult => ({ ok: false, reason: 'ehi_malformed', detail })

/** Thrown inside the tokenizer's handlers to stop at the first problem (no work on a bad document). */
class Stop extends Error {}

/**
 * The XML half. `tokenize` is a parameter so the differential test can run the same structure
 * checks over saxes and prove the tokenizer is at least as strict.
 */
export function parseXml(text: string, limits: ParseLimits, tokenize: Tokenizer = tokenizeXml): ParseResult {
  // Refused before parsing: a document type declaration is where XXE and entity bombs live.
  if (declaresDtd(text)) {
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
  /** Routing field names met anywhere, in any namespace. */
  const routingSeen = new Set<string>()

  const stop = (detail: string): never => {
    throw new Stop(detail)
  }
  const handlers: XmlHandlers = {
    xmlDecl(encoding) {
      if (encoding && !/^utf-?8$/i.test(encoding)) stop('a declared encoding other than UTF-8')
    },
    openTag(local, uri, attributeCount) {
      depth++
      elements++
      if (depth > limits.maxDepth) stop(`nested deeper than ${limits.maxDepth} elements`)
      if (elements > limits.maxElements) stop(`more than ${limits.maxElements} elements`)
      if (attributeCount > limits.maxAttributes)
        stop(`more than ${limits.maxAttributes} attributes on one element`)
      // A field is text: an element inside one would be read differently by different parsers.
      if (field !== undefined) stop(`element ${field} holds an element`)
      if (ROUTING_FIELD_SET.has(local)) {
        // Anywhere, in any namespace: a descendant search by name would find every one of them.
        if (routingSeen.has(local)) stop(`element ${local} appears twice`)
        routingSeen.add(local)
        if (depth !== 4 || !root || uri !== EHI_NS)
          stop(`element ${local} appears outside the ${root ?? 'GetTransaction or Cut_Off'} element`)
      }
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
        fields[field] = field === 'MTID' ? asciiTrim(fieldText) : fieldText
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
  if (scan.duplicate !== undefined) {
    // Only a name of the gateway's own is quoted: the key is the sender's.
    const known = knownName(scan.duplicate)
    return malformed(known ? `key ${known} appears twice` : 'a key appears twice')
  }
  if (scan.keys > limits.maxElements) return malformed(`more than ${limits.maxElements} keys`)

  const object = value as Record<string, unknown>
  // Thredd's JSON is flat: a routing field inside a nested value is one a deep search would find.
  for (const nested of Object.values(object)) {
    if (nested && typeof nested === 'object') {
      const hidden = routingKeyInside(nested)
      if (hidden) return malformed(`key ${hidden} appears inside a nested value`)
    }
  }
  const fields: Record<string, string> = {}
  const take = (name: string, key: string): ParseResult | undefined => {
    const field = object[key]
    if (field === undefined || field === null) return undefined
    if (typeof field === 'object') return malformed(`${name} is not a scalar value`)
    if (fields[name] !== undefined) return malformed(`${name} appears twice (under two names)`)
    // A number keeps the digits it was sent with (TXn_ID, Token can exceed 2^53).
    const raw = typeof field === 'number' ? scan.numbers.get(key)! : String(field)
    fields[name] = name === 'MTID' ? asciiTrim(raw) : raw
    return undefined
  }
  for (const name of EXTRACTED_FIELDS) {
    const refused = take(name, name)
    if (refused) return refused
  }
  // Only a present, non-null id makes a Cut_Off: a GetTransaction may carry "CutoffID": null.
  const cutOff = fields.CutoffID !== undefined || (object.CutOffId !== undefined && object.CutOffId !== null)
  if (cutOff) {
    for (const [jsonName, name] of Object.entries(JSON_CUT_OFF_NAMES)) {
      const refused = take(name, jsonName)
      if (refused) return refused
    }
    const getTransaction = (['MTID', 'Txn_Type', 'TXn_ID'] as const).find((n) => fields[n] !== undefined)
    if (getTransaction) return malformed(`a Cut_Off id and ${getTransaction} in one message`)
  }
  const root: EhiRoot = cutOff ? 'Cut_Off' : 'GetTransaction'
  return { ok: true, message: { format: 'json', root, fields: fields as EhiFields } }
}

/** The gateway's own name for a JSON key, or undefined when the key is not one it reads. */
function knownName(key: string): string | undefined {
  if (EXTRACTED_FIELDS.has(key)) return key
  return Object.hasOwn(JSON_CUT_OFF_NAMES, key) ? key : undefined
}

const ROUTING_JSON_KEYS: ReadonlySet<string> = new Set([
  ...ROUTING_FIELDS,
  ...Object.entries(JSON_CUT_OFF_NAMES)
    .filter(([, name]) => ROUTING_FIELD_SET.has(name))
    .map(([key]) => key),
])

/** The first routing key at any depth inside a nested JSON value (bounded by the depth limit). */
function routingKeyInside(value: object): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) {
      const found = item && typeof item === 'object' ? routingKeyInside(item) : undefined
      if (found) return found
    }
    return undefined
  }
  for (const [key, item] of Object.entries(value)) {
    if (ROUTING_JSON_KEYS.has(key)) return key
    const found = item && typeof item === 'object' ? routingKeyInside(item as object) : undefined
    if (found) return found
  }
  return undefined
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
