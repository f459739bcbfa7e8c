import { describe, expect, it } from 'vitest'
import { requestPath } from '../../../../src/plane/http/request-path.ts'

describe('requestPath', () => {
  it.each([
    ['origin-form', '/ehi', '/ehi'],
    ['origin-form with a query', '/ehi?a=1', '/ehi'],
    ['root', '/', '/'],
    ['absolute-form', 'https://evil.example/ehi', '/ehi'],
    ['absolute-form, scheme in upper case, with port and query', 'HTTPS://evil.example:8443/ehi?x', '/ehi'],
    ['absolute-form without a path', 'http://evil.example', '/'],
    ['absolute-form with only a query', 'http://evil.example?/ehi', '/'],
    ['dot segments are not resolved', '/ehi/../ehi', '/ehi/../ehi'],
    ['percent-encoding is not decoded', '/eh%69', '/eh%69'],
    ['case is kept', '/EHI', '/EHI'],
    ['asterisk-form', '*', '*'],
    ['authority-form', 'evil.example:443', 'evil.example:443'],
  ])('%s: %s -> %s', (_name, target, path) => {
    expect(requestPath(target)).toBe(path)
  })
})
