/**
 * A YAML (or JSON) syntax error as a place and a kind, in our words: line and column from the
 * parser's offset, the kind from its error code. Never the parser's message: several of those
 * quote the file (a tag, an escape sequence, a block header), and a config file may hold a key.
 */

/** What each of the yaml library's error codes means, without quoting anything. */
const KINDS: Record<string, string> = {
  ALIAS_PROPS: 'an alias (*name) cannot have an anchor or a tag',
  BAD_ALIAS: 'an alias (*name) is not valid here',
  BAD_COLLECTION_TYPE: 'a tag of the wrong kind for its value',
  BAD_DIRECTIVE: 'a directive (%) that is not valid',
  BAD_DQ_ESCAPE: 'an escape sequence that is not valid in a double-quoted string',
  BAD_INDENT: 'wrong indentation',
  BAD_PROP_ORDER: 'an anchor or tag in the wrong place',
  BAD_SCALAR_START: 'a value starting with a character YAML reserves (quote the value)',
  BLOCK_AS_IMPLICIT_KEY:
    'a nested mapping where a key was expected (check the indentation, and ": " after each key)',
  BLOCK_IN_FLOW: 'a block value inside [ ] or { }',
  DUPLICATE_KEY: 'a key given twice in the same mapping',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
  MISSING_CHAR: 'a missing character (a closing quote or bracket, a comma, or a space after ":")',
  MULTILINE_IMPLICIT_KEY: 'a key spread over several lines (a missing ":"?)',
  MULTIPLE_ANCHORS: 'a value with several anchors',
  MULTIPLE_DOCS: 'several documents (---) in one file',
  MULTIPLE_TAGS: 'a value with several tags',
  NON_STRING_KEY: 'a key that is not a string',
  RESOURCE_EXHAUSTION: 'aliases that expand to too much data',
  TAB_AS_INDENT: 'a tab used for indentation (indent with spaces)',
  TAG_RESOLVE_FAILED: 'a tag that cannot be resolved',
  UNEXPECTED_TOKEN: 'an unexpected character',
}

/** `line 3, column 5: wrong indentation` for an error the yaml library threw while parsing `text`. */
export function describeYamlError(error: unknown, text: string): string {
  const { code, pos } = (error ?? {}) as { code?: unknown; pos?: unknown }
  const kind =
    (typeof code === 'string' ? KINDS[code] : undefined) ??
    (error instanceof ReferenceError
      ? 'an alias (*name) without an anchor (&name) before it'
      : 'a syntax error')
  if (!Array.isArray(pos) || typeof pos[0] !== 'number') return kind
  const { line, column } = lineColumn(text, pos[0])
  return `line ${line}, column ${column}: ${kind}`
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)))
  const lineStart = before.lastIndexOf('\n') + 1
  return { line: before.split('\n').length, column: before.length - lineStart + 1 }
}
