/**
 * YAML and JSON syntax errors as line, column and a kind in words; never a word of the file,
 * which may hold a key.
 */
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { describeYamlError, lineColumn } from '../../../src/config/yaml-errors.ts'

function errorOf(text: string): string {
  try {
    parse(text, { prettyErrors: false, logLevel: 'error' })
  } catch (error) {
    return describeYamlError(error, text)
  }
  throw new Error(`parsed: ${JSON.stringify(text)}`)
}

describe('describeYamlError', () => {
  it.each([
    [
      'a key given twice',
      'listen:\n  port: 1\n  port: 2\n',
      'line 3, column 3: a key given twice in the same mapping',
    ],
    [
      'a tab as indentation',
      'listen:\n\tport: 1\n',
      'line 2, column 1: a tab used for indentation (indent with spaces)',
    ],
    [
      'a mapping where a key was expected',
      'tls:\n  clientCa: x\n   crl: y\n',
      'line 2, column 13: a nested mapping where a key was expected (check the indentation, and ": " after each key)',
    ],
    [
      'an unclosed quote',
      'upstream:\n  url: "http://h\n',
      'line 3, column 1: a missing character (a closing quote or bracket, a comma, or a space after ":")',
    ],
    [
      'a bad escape',
      'ehi:\n  note: "a\\qb"\n',
      'line 2, column 11: an escape sequence that is not valid in a double-quoted string',
    ],
    ['broken JSON', '{"tls": {"clientCa": [1,, 2]}}', 'line 1, column 25: an unexpected character'],
    ['two documents', 'a: 1\n---\nb: 2\n', 'line 2, column 1: several documents (---) in one file'],
    ['an alias without anchor', 'a: *nowhere\n', 'an alias (*name) without an anchor (&name) before it'],
  ])('%s', (_name, text, expected) => {
    expect(errorOf(text)).toBe(expected)
  })

  it('never quotes the file, even where the parser would', () => {
    const secret = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC'
    for (const text of [
      `key: "${secret}\\q"\n`,
      `key: |${secret}\n  x\n`,
      `key: *${secret}\n`,
      `tls:\n  key: ${secret}\n   bad: x\n`,
    ])
      expect(errorOf(text)).not.toContain(secret.slice(0, 8))
  })

  it('says "a syntax error" for an error it does not know', () => {
    expect(describeYamlError(new Error('something'), 'x')).toBe('a syntax error')
  })
})

describe('lineColumn', () => {
  it.each([
    [0, 1, 1],
    [3, 1, 4],
    [4, 2, 1],
    [6, 2, 3],
    [99, 3, 1],
  ])('offset %d is line %d, column %d', (offset, line, column) => {
    expect(lineColumn('abc\nde\n', offset)).toEqual({ line, column })
  })
})
