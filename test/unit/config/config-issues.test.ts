/**
 * Config problems are printed before the gateway exits. They name fields by dotted path, and must
 * never echo key material a misplaced PEM might have put into a field.
 */
import { describe, expect, it } from 'vitest'
import {
  ConfigError,
  describeValue,
  formatIssues,
  hasIssueAt,
  hasIssueOver,
  pointerToPath,
} from '../../../src/config/config-issues.ts'

describe('describeValue', () => {
  it.each([
    { name: 'a number', value: 70000, out: ' (got 70000)' },
    { name: 'a boolean', value: false, out: ' (got false)' },
    { name: 'a short string, JSON-quoted', value: 'loud', out: ' (got "loud")' },
    { name: 'a string of exactly 80 characters', value: 'x'.repeat(80), out: ` (got "${'x'.repeat(80)}")` },
  ])('shows $name', ({ value, out }) => {
    expect(describeValue(value)).toBe(out)
  })

  it.each([
    { name: 'a PEM header', value: '-----BEGIN PRIVATE KEY-----' },
    { name: 'a PEM certificate header', value: '-----BEGIN CERTIFICATE-----\nMIIB' },
    { name: 'the word PRIVATE', value: 'my PRIVATE key' },
    { name: 'the word private in lower case', value: 'private' },
    { name: 'an EC key header', value: '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE' },
    { name: 'a string of 81 characters', value: 'x'.repeat(81) },
    { name: 'a long base64 blob', value: 'MII'.repeat(400) },
    { name: 'an object', value: { key: 'v' } },
    { name: 'an array', value: ['a'] },
    { name: 'null', value: null },
    { name: 'undefined', value: undefined },
  ])('shows nothing for $name', ({ value }) => {
    expect(describeValue(value)).toBe('')
  })
})

describe('formatIssues', () => {
  it('counts one problem in the singular and lists it', () => {
    expect(formatIssues([{ path: 'listen.port', message: 'must be integer' }])).toBe(
      'Invalid configuration: 1 problem\n  - listen.port: must be integer',
    )
  })

  it('names the file, counts in the plural and tags environment sources', () => {
    const text = formatIssues(
      [
        { path: 'listen.port', message: 'must be a number', source: 'EHI_GATEWAY_LISTEN__PORT' },
        { path: 'tls', message: 'is required' },
      ],
      '/etc/ehi/gateway.yaml',
    )
    expect(text.split('\n')).toEqual([
      'Invalid configuration (/etc/ehi/gateway.yaml): 2 problems',
      '  - listen.port: must be a number [from EHI_GATEWAY_LISTEN__PORT]',
      '  - tls: is required',
    ])
  })

  it('is the message of ConfigError', () => {
    const issues = [{ path: 'upstream.url', message: 'is required' }]
    const error = new ConfigError(issues, 'g.yaml')
    expect(error.message).toBe(formatIssues(issues, 'g.yaml'))
    expect(error.issues).toBe(issues)
    expect(error.name).toBe('ConfigError')
  })
})

describe('pointerToPath', () => {
  it.each([
    { pointer: '', path: '' },
    { pointer: '/listen/port', path: 'listen.port' },
    { pointer: '/tls/serverCertificates/0/key', path: 'tls.serverCertificates[0].key' },
    { pointer: '/routes/paths/12', path: 'routes.paths[12]' },
    { pointer: '/0', path: '[0]' },
    // RFC 6901 escapes: ~1 is "/", ~0 is "~".
    { pointer: '/a~1b/c~0d', path: 'a/b.c~d' },
  ])('$pointer -> $path', ({ pointer, path }) => {
    expect(pointerToPath(pointer)).toBe(path)
  })
})

describe('hasIssueAt and hasIssueOver', () => {
  const issues = [
    { path: 'tls.serverCertificates[1].cert', message: 'is required' },
    { path: 'ehi.deadlineMs', message: 'must be object' },
    { path: 'tls.clientCA', message: 'is not a known setting' },
  ]

  it.each([
    ['tls.serverCertificates[1].cert', true, true],
    ['tls.serverCertificates[1]', true, false],
    ['tls.serverCertificates', true, false],
    ['tls', true, false],
    ['tls.serverCertificates[0]', false, false],
    ['tls.serverCertificates[10]', false, false],
    ['tls.clientCa', false, false],
    ['ehi.deadlineMs.decision', true, true],
    ['ehi.deadlineMs', true, true],
    ['ehi.threddBudgetMs', false, false],
    ['ehi', true, false],
  ])('%s: at %s, over %s', (field, at, over) => {
    expect(hasIssueAt(issues, field)).toBe(at)
    expect(hasIssueOver(issues, field)).toBe(over)
  })

  it('a top level that is not an object puts every field in doubt', () => {
    const top = [{ path: '(top level)', message: 'must be object' }]
    expect(hasIssueAt(top, 'listen.port')).toBe(true)
    expect(hasIssueOver(top, 'listen')).toBe(true)
  })
})
