/**
 * Is an answer a well-formed EHI GetTransaction answer? XML: a well-formed SOAP envelope with
 * Body/GetTransactionResponse/GetTransactionResult holding an Acknowledgement element (any
 * namespace prefix, as Thredd's examples use both `s:` and `soap:`). JSON: an object with an
 * Acknowledgement field. Only the shape Thredd relies on is checked, not every field. Pure.
 */

export type AnswerShape =
  | { ok: true; format: 'xml' | 'json'; acknowledgement: string; detail: string }
  | { ok: false; format: 'xml' | 'json'; detail: string }

export function checkGetTransactionAnswer(body: string, expected: 'xml' | 'json'): AnswerShape {
  const text = body.replace(/^\uFEFF/, '').trim()
  if (expected === 'json' || text.startsWith('{')) return checkJson(text)
  return checkXml(text)
}

function checkJson(text: string): AnswerShape {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, format: 'json', detail: 'the body is not valid JSON' }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, format: 'json', detail: 'the body is not a JSON object' }
  }
  const ack = (value as Record<string, unknown>).Acknowledgement
  if (ack === undefined || ack === null) {
    return { ok: false, format: 'json', detail: 'the JSON object has no Acknowledgement field' }
  }
  return { ok: true, format: 'json', acknowledgement: String(ack), detail: `Acknowledgement=${String(ack)}` }
}

const NAME = '(?:[A-Za-z_][\\w.-]*:)?'

function checkXml(text: string): AnswerShape {
  const wellFormed = xmlWellFormed(text)
  if (!wellFormed.ok) return { ok: false, format: 'xml', detail: `not well-formed XML: ${wellFormed.detail}` }
  const path = ['Envelope', 'Body', 'GetTransactionResponse', 'GetTransactionResult']
  let scope = text
  for (const element of path) {
    const inner = innerOf(scope, element)
    if (inner === undefined) {
      const fault = /<(?:[\w.-]+:)?Fault[\s>]/.test(text) ? ' (the answer is a SOAP Fault)' : ''
      return { ok: false, format: 'xml', detail: `no ${element} element where expected${fault}` }
    }
    scope = inner
  }
  const ack = new RegExp(`<${NAME}Acknowledgement(?:\\s[^>]*)?>([^<]*)</${NAME}Acknowledgement>`).exec(scope)
  if (!ack) return { ok: false, format: 'xml', detail: 'GetTransactionResult has no Acknowledgement element' }
  const value = ack[1]!.trim()
  return { ok: true, format: 'xml', acknowledgement: value, detail: `Acknowledgement=${value}` }
}

/** The content of the first element with this local name, or undefined. */
function innerOf(text: string, local: string): string | undefined {
  const open = new RegExp(`<(${NAME}${local})(?:\\s[^>]*)?>`).exec(text)
  if (!open) return undefined
  const start = open.index + open[0].length
  const close = text.indexOf(`</${open[1]}>`, start)
  return close < 0 ? undefined : text.slice(start, close)
}

/** Tags balance, one root element, nothing but whitespace outside it. No DTDs. */
export function xmlWellFormed(text: string): { ok: true } | { ok: false; detail: string } {
  const stack: string[] = []
  let roots = 0
  let pos = 0
  const token =
    /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE|<\/?([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<|>/g
  for (let match = token.exec(text); match; match = token.exec(text)) {
    const between = text.slice(pos, match.index)
    if (stack.length === 0 && between.trim() !== '')
      return { ok: false, detail: 'text outside the root element' }
    pos = match.index + match[0].length
    const raw = match[0]
    if (raw.startsWith('<!--') || raw.startsWith('<?')) continue
    if (raw.startsWith('<![CDATA[')) {
      if (stack.length === 0) return { ok: false, detail: 'CDATA outside the root element' }
      continue
    }
    if (raw === '<!DOCTYPE') return { ok: false, detail: 'DOCTYPE is not allowed' }
    if (raw === '<' || (raw === '>' && stack.length === 0)) return { ok: false, detail: `stray "${raw}"` }
    if (raw === '>') continue
    const name = match[1]!
    if (raw.startsWith('</')) {
      const open = stack.pop()
      if (open !== name) return { ok: false, detail: `</${name}> closes <${open ?? 'nothing'}>` }
    } else if (match[3] === '/') {
      if (stack.length === 0) roots++
    } else {
      if (stack.length === 0) roots++
      stack.push(name)
    }
    if (roots > 1) return { ok: false, detail: 'more than one root element' }
  }
  if (text.slice(pos).trim() !== '') return { ok: false, detail: 'text outside the root element' }
  if (stack.length > 0) return { ok: false, detail: `<${stack[stack.length - 1]}> is not closed` }
  if (roots === 0) return { ok: false, detail: 'no root element' }
  return { ok: true }
}
