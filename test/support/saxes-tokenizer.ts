/**
 * saxes (a complete, strict XML 1.0 + namespaces parser) behind the gateway's tokenizer
 * interface: the reference the differential test compares xml-tokenizer.ts with. Tolerates
 * exactly what the request path tolerates: characters XML 1.0 forbids ("disallowed character.").
 */
import { SaxesParser, type SaxesTagNS } from 'saxes'
import { XmlError, type XmlHandlers } from '../../src/plane/ehi/xml-tokenizer.ts'

const TOLERATED = 'disallowed character.'

export function saxesTokenize(text: string, handlers: XmlHandlers): void {
  const parser = new SaxesParser({ xmlns: true, position: false })
  // The tokenizer reports text inside the root element only (outside it, only whitespace is legal).
  let depth = 0
  parser.on('error', (error) => {
    if (error.message === TOLERATED) return
    throw new XmlError(error.message)
  })
  parser.on('xmldecl', (decl) => handlers.xmlDecl?.(decl.encoding))
  parser.on('doctype', () => {
    throw new XmlError('DTDs are not accepted')
  })
  parser.on('processinginstruction', () => {
    // The tokenizer refuses processing instructions; for comparison saxes does too.
    throw new XmlError('processing instructions are not accepted')
  })
  parser.on('opentag', (tag: SaxesTagNS) => {
    depth++
    handlers.openTag(tag.local, tag.uri, Object.keys(tag.attributes).length)
  })
  parser.on('text', (chunk) => {
    if (depth > 0) handlers.text(chunk)
  })
  parser.on('cdata', (chunk) => handlers.text(chunk))
  parser.on('closetag', (tag: SaxesTagNS) => {
    depth--
    handlers.closeTag(tag.local, tag.uri)
  })
  parser.write(text).close()
}
