/** "Did you mean": a likely typo gets the known name; anything farther gets no guess. */
import { describe, expect, it } from 'vitest'
import { closestName, editDistance } from '../../../src/config/did-you-mean.ts'

describe('closestName', () => {
  it.each([
    ['clientCA', ['clientCa', 'crl', 'ocsp'], 'clientCa'],
    [
      'EHI_GATEWAY_NETWORK__ALLOW_LIST',
      ['EHI_GATEWAY_NETWORK__ALLOWLIST', 'EHI_GATEWAY_LISTEN__PORT'],
      'EHI_GATEWAY_NETWORK__ALLOWLIST',
    ],
    ['prot', ['port', 'host'], 'port'],
    ['reject_mode', ['rejectMode', 'pins'], 'rejectMode'],
    ['serverCertificate', ['serverCertificates', 'clientCa'], 'serverCertificates'],
    ['timout', ['timeout', 'json'], 'timeout'],
    ['serv', ['serve', 'demo'], 'serve'],
    ['allowlist', ['allowList'], 'allowList'],
  ])('%s -> %s', (given, candidates, expected) => {
    expect(closestName(given, candidates)).toBe(expected)
  })

  it.each([
    ['banana', ['port', 'host']],
    ['ab', ['cd']],
    ['', ['port']],
    ['port', ['port']],
  ])('%s: no guess', (given, candidates) => {
    expect(closestName(given, candidates)).toBeUndefined()
  })

  it('prefers the nearest of several', () => {
    expect(closestName('timeoutms', ['timeoutsx', 'timeoutMs'])).toBe('timeoutMs')
  })
})

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', 'abc', 0],
    ['abc', 'abd', 1],
    ['abc', 'acb', 1],
    ['abc', 'ab', 1],
    ['kitten', 'sitting', 3],
  ])('%s / %s = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
  })
})
