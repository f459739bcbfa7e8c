/**
 * Parses an EHI message just enough to route, classify and audit it, without touching the bytes
 * that are forwarded. Pure.
 *
 * XML: SOAP 1.1 with any envelope prefix, whose Body holds exactly one `GetTransaction` or
 * `Cut_Off` element in the http://tempuri.org/ namespace, whatever the soapaction header says.
 * Parsed by saxes (strict XML 1.0 with namespaces). DTDs and entity declarations are refused
 * outright (no XXE, no entity expansion). The one tolerated error is "disallowed character":
 * acquirers put odd bytes in text fields and Thredd passes them on (ehi-domain.md §1).
 *
 * JSON: a flat object; numbers keep their exact digits (TXn_ID, Token can exceed 2^53), read
 * from the parser's source text. Duplicate keys are refused: the gateway and the host must never
 * disagree on which TXn_ID a message carries.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes'
import type { Reason } from '../reasons.ts'
import {
  EXTRACTED_FIELDS,
  type EhiFields,
  type EhiFormat,
  type EhiMessage,
  type EhiRoot,
} from './ehi-message.ts'

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
  return media.format === 'xml' ? parseXml(text, limits) : parseJson(text, limits)
}

const malformed = (detail: string): ParseResult => ({ ok: false, reason: 'ehi_malformed', detail })

/** saxes' message for a character XML 1.0 forbids, met in text content. */
const TOLERATED_ERROR = 'disallowed character.'

/** Thrown inside saxes handlers to stop at the first problem (no work on a bad document). */
class Stop extends Error {}

function parseXml(text: string, limits: ParseLimits): ParseResult {
  // Refused before parsing: a document type declaration is where XXE and entity bombs live.
  if (text.includes('<!DOCTYPE') || text.includes('<!ENTITY')) {
    return malformed('DTDs and entity declarations are not accepted')
  }
  const parser = new SaxesParser({ xmlns: true, position: false })
  let problem: string | undefined
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
    problem ??= detail
    throw new Stop(detail)
  }
  parser.on('error', (error) => {
    // XML 1.0 forbids most control characters; Thredd's data can carry them in text, so exactly
    // that error is tolerated. The same character in a tag or attribute name is a broken document.
    if (error.message === TOLERATED_ERROR) return
    stop(error.message.replace(/\.$/, ''))
  })
  parser.on('xmldecl', (decl) => {
    if (decl.encoding && !/^utf-?8$/i.test(decl.encoding))
      stop(`declared encoding ${decl.encoding} (EHI is UTF-8)`)
  })
  parser.on('doctype', () => stop('DTDs are not accepted'))
  parser.on('opentag', (tag: SaxesTagNS) => {
    depth++
    elements++
    if (depth > limits.maxDepth) stop(`nested deeper than ${limits.maxDepth} elements`)
    if (elements > limits.maxElements) stop(`more than ${limits.maxElements} elements`)
    if (Object.keys(tag.attributes).length > limits.maxAttributes)
      stop(`more than ${limits.maxAttributes} attributes on one element`)
    if (depth === 1) {
      if (tag.local !== 'Envelope' || tag.uri !== SOAP11_NS)
        stop('the root element is not a SOAP 1.1 Envelope')
    } else if (depth === 2) {
      if (tag.uri !== SOAP11_NS || (tag.local !== 'Body' && tag.local !== 'Header')) {
        stop('the Envelope may hold only a SOAP Header and Body')
      }
      // SOAP 1.1 §4: at most one Header, then exactly one Body.
      if (bodySeen) stop(tag.local === 'Body' ? 'more than one SOAP Body' : 'a SOAP Header after the Body')
      if (tag.local === 'Body') {
        bodySeen = true
        inBody = true
      }
    } else if (depth === 3 && inBody) {
      bodyChildren++
      if (bodyChildren > 1) stop('the SOAP Body holds more than one element')
      if (tag.uri !== EHI_NS || (tag.local !== 'GetTransaction' && tag.local !== 'Cut_Off')) {
        stop('the SOAP Body holds no GetTransaction or Cut_Off element in the http://tempuri.org/ namespace')
      }
      root = tag.local as EhiRoot
    } else if (depth === 4 && root && tag.uri === EHI_NS && EXTRACTED_FIELDS.has(tag.local)) {
      field = tag.local
      fieldText = ''
    }
  })
  parser.on('text', (chunk) => {
    if (field !== undefined) fieldText += chunk
    // Only whitespace may sit between the envelope's elements (SOAP carries no mixed content).
    else if ((depth === 1 || (depth === 2 && inBody)) && chunk.trim() !== '')
      stop('text outside the EHI element')
  })
  parser.on('cdata', (chunk) => {
    if (field !== undefined) fieldText += chunk
  })
  parser.on('closetag', (tag: SaxesTagNS) => {
    if (depth === 4 && field !== undefined) {
      if (fields[field] !== undefined) stop(`element ${field} appears twice`)
      fields[field] = field === 'MTID' ? fieldText.trim() : fieldText
      field = undefined
    } else if (depth === 2 && tag.local === 'Body') {
      inBody = false
    }
    depth--
  })

  try {
    parser.write(text).close()
  } catch (error) {
    if (!(error instanceof Stop)) problem ??= (error as Error).message
  }
  if (problem) return malformed(problem)
  if (!root) return malformed('no SOAP Body with a GetTransaction or Cut_Off element')
  return { ok: true, message: { format: 'xml', root, fields: fields as EhiFields } }
}

type Reviver = (this: unknown, key: string, value: unknown, context: { source?: string }) => unknown
/** Numbers come back as their source text: lossless, whatever their size. */
const keepNumberText: Reviver = (_key, value, context) => (typeof value === 'number' ? context.source : value)

function parseJson(text: string, limits: ParseLimits): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(text, keepNumberText as Parameters<typeof JSON.parse>[1])
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
    fields[name] = name === 'MTID' ? String(field).trim() : String(field)
  }
  const root: EhiRoot = 'CutoffID' in object ? 'Cut_Off' : 'GetTransaction'
  return { ok: true, message: { format: 'json', root, fields: fields as EhiFields } }
}

/**
 * One pass over valid JSON text: the number of top-level keys, the first duplicate one, and
 * whether nesting goes past `maxDepth`. JSON.parse keeps only the last of duplicate keys, so
 * duplicates are only visible in the text.
 */
export function scanTopLevelKeys(
  text: string,
  maxDepth: number,
): { keys: number; duplicate: string | undefined; tooDeep: boolean } {
  const seen = new Set<string>()
  let depth = 0
  let expectKey = false
  let duplicate: string | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      const start = i
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i)
        if (d === 0x5c /* \ */) i++
        else if (d === 0x22) break
      }
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(start, i + 1)) as string
        if (seen.has(key)) duplicate ??= key
        seen.add(key)
        expectKey = false
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++
      if (depth > maxDepth) return { keys: seen.size, duplicate, tooDeep: true }
      expectKey = c === 0x7b && depth === 1
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true
    }
  }
  return { keys: seen.size, duplicate, tooDeep: false }
}
