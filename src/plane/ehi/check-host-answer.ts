/**
 * Checks the host's answer against the shape Thredd expects (docs/ehi-handling.md): Thredd treats
 * a non-conforming answer as no answer and resends, so each problem is counted and logged with a
 * stable code. The answer itself is passed through unchanged by default. Pure.
 *
 * Missing numeric elements are a warning, never a problem: Thredd's schema marks them required,
 * but its processing rules show an answer carrying only Acknowledgement 1 as valid, so such an
 * answer is conforming (and never replaced); the warning is still counted and logged.
 */
import { REQUIRED_NUMERIC } from './ehi-answers.ts'
import type { EhiFormat, MessageClass } from './ehi-message.ts'
import { EHI_NS, SOAP11_NS, type Tokenizer } from './parse-ehi-message.ts'
import { declaresDtd, tokenizeXml, XmlError, type XmlHandlers } from './xml-tokenizer.ts'

export const ANSWER_PROBLEMS = [
  'non_2xx_status',
  'no_content_length',
  'wrong_format',
  'malformed',
  'no_result_element',
  'missing_acknowledgement',
  'bad_acknowledgement',
  'missing_response_status',
  'missing_numeric',
  'null_numeric',
  'bad_numeric',
  'missing_cutoff_result',
] as const
export type AnswerProblem = (typeof ANSWER_PROBLEMS)[number]

/** Problems that only warn: they never make an answer non-conforming. */
export const ANSWER_WARNINGS: ReadonlySet<AnswerProblem> = new Set(['missing_numeric'])

export interface AnswerCheck {
  conforming: boolean
  /** What makes the answer non-conforming (Thredd would treat it as no answer). */
  problems: AnswerProblem[]
  /** Present only when there are any: shape details Thredd accepts, worth fixing. */
  warnings?: AnswerProblem[]
  acknowledgement?: string
  responseStatus?: string
  cutOffResult?: string
}

export interface HostAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

const NUMBER = /^-?\d+(\.\d+)?$/
/** An answer's elements carry a few namespace declarations at most; a flood is cut short. */
const ANSWER_MAX_ATTRIBUTES = 64

export function checkHostAnswer(answer: HostAnswer, format: EhiFormat, cls: MessageClass): AnswerCheck {
  const problems = new Set<AnswerProblem>()
  if (answer.status < 200 || answer.status > 299) problems.add('non_2xx_status')
  if (answer.headers['content-length'] === undefined) problems.add('no_content_length')
  const text = answer.body
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trim()
  if (text === '') {
    problems.add('malformed')
    return { conforming: false, problems: [...problems] }
  }
  const looksXml = text.startsWith('<')
  const looksJson = text.startsWith('{') || text.startsWith('[')
  if ((format === 'json' && looksXml) || (format === 'xml' && looksJson)) {
    problems.add('wrong_format')
    return { conforming: false, problems: [...problems] }
  }
  const values = format === 'json' ? readJson(text) : readXml(text, cls === 'cutoff')
  if (!values) {
    problems.add(format === 'json' ? 'malformed' : 'no_result_element')
    return { conforming: false, problems: [...problems] }
  }
  const result: AnswerCheck = { conforming: true, problems: [] }
  if (cls === 'cutoff') {
    // Thredd's JSON Cut_Off is answered {"Acknowledgement":"1"}, the XML one with Cut_OffResult.
    const value = values.get(format === 'json' ? 'Acknowledgement' : 'Cut_OffResult')
    if (value === undefined) problems.add('missing_cutoff_result')
    else result.cutOffResult = value
  } else {
    const ack = values.get('Acknowledgement')
    if (ack === undefined) problems.add('missing_acknowledgement')
    else {
      result.acknowledgement = ack
      if (ack !== '0' && ack !== '1') problems.add('bad_acknowledgement')
    }
    const status = values.get('Responsestatus')
    if (status !== undefined) result.responseStatus = status
    if ((cls === 'decision' || cls === 'reversal') && status === undefined)
      problems.add('missing_response_status')
    for (const name of REQUIRED_NUMERIC) {
      const value = values.get(name)
      if (value === undefined) {
        if (format === 'xml') problems.add('missing_numeric')
      } else if (value === 'null' || value === '\u0000null') problems.add('null_numeric')
      else if (!NUMBER.test(value.trim())) problems.add('bad_numeric')
    }
  }
  result.problems = [...problems].filter((p) => !ANSWER_WARNINGS.has(p))
  const warnings = [...problems].filter((p) => ANSWER_WARNINGS.has(p))
  if (warnings.length > 0) result.warnings = warnings
  result.conforming = result.problems.length === 0
  return result
}

/** The top-level values of a JSON answer as text; `null` becomes the text "null". */
function readJson(text: string): Map<string, string> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined
    const out = new Map<string, string>()
    for (const [key, field] of Object.entries(value)) {
      if (field === null) out.set(key, 'null')
      else if (typeof field !== 'object') out.set(key, String(field))
    }
    return out
  } catch {
    return undefined
  }
}

/**
 * The children of GetTransactionResponse/GetTransactionResult (or the Cut_OffResult text) in a
 * SOAP 1.1 envelope, or undefined when the answer does not have that shape.
 */
export function readXml(
  text: string,
  cutOff: boolean,
  tokenize: Tokenizer = tokenizeXml,
): Map<string, string> | undefined {
  if (declaresDtd(text)) return undefined
  const path: { local: string; uri: string }[] = []
  const out = new Map<string, string>()
  let current: string | undefined
  let value = ''
  let shaped = false
  const handlers: XmlHandlers = {
    openTag(local, uri) {
      path.push({ local, uri })
      const d = path.length
      const [env, body, response, result] = path
      const envelopeOk =
        env?.local === 'Envelope' && env.uri === SOAP11_NS && body?.local === 'Body' && body.uri === SOAP11_NS
      if (cutOff) {
        // The Cut_OffResponse makes the shape; a missing Cut_OffResult is then its own problem.
        if (d === 3 && envelopeOk && local === 'Cut_OffResponse' && uri === EHI_NS) shaped = true
        else if (d === 4 && shaped && response?.local === 'Cut_OffResponse' && local === 'Cut_OffResult') {
          current = 'Cut_OffResult'
          value = ''
        }
      } else if (
        d === 4 &&
        envelopeOk &&
        response?.local === 'GetTransactionResponse' &&
        response.uri === EHI_NS &&
        result?.local === 'GetTransactionResult'
      ) {
        shaped = true
      } else if (d === 5 && shaped && path[3]?.local === 'GetTransactionResult') {
        current = local
        value = ''
      }
    },
    text(chunk) {
      if (current !== undefined) value += chunk
    },
    closeTag() {
      if (current !== undefined && (path.length === 5 || (cutOff && path.length === 4))) {
        out.set(current, value.trim())
        current = undefined
      }
      path.pop()
    },
  }
  try {
    tokenize(text, handlers, { maxAttributes: ANSWER_MAX_ATTRIBUTES })
  } catch (error) {
    if (error instanceof XmlError) return undefined
    throw error
  }
  return shaped ? out : undefined
}
