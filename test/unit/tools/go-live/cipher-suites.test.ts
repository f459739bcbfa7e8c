/**
 * The suite judgement behind `check`'s cipher checks: forward secret AEAD passes, static RSA,
 * CBC and the legacy ciphers are weak, uncommon-but-sound suites get a warning.
 */
import { describe, expect, it } from 'vitest'
import {
  classifySuite,
  concreteSuites,
  TLS12_PROBE_SUITES,
  TLS13_PROBE_SUITES,
} from '../../../../src/tools/go-live/rules/cipher-suites.ts'

describe('classifySuite', () => {
  it.each([
    ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ok', true, []],
    ['ECDHE-RSA-CHACHA20-POLY1305', 'ok', true, []],
    ['TLS_AES_256_GCM_SHA384', 'ok', true, []],
    ['TLS_AES_128_CCM_8_SHA256', 'weak', true, ['CCM_8']],
    ['TLS_AES_128_CCM_SHA256', 'warn', true, ['CCM']],
    ['AES128-GCM-SHA256', 'weak', false, ['static RSA']],
    ['AES256-SHA', 'weak', false, ['static RSA', 'CBC']],
    ['ECDHE-ECDSA-AES128-SHA256', 'weak', true, ['CBC']],
    ['ECDHE-RSA-AES256-SHA', 'weak', true, ['CBC']],
    ['DHE-RSA-AES128-GCM-SHA256', 'warn', true, ['finite-field DHE']],
    ['DHE-RSA-AES128-SHA', 'weak', true, ['CBC']],
    ['ECDHE-ECDSA-ARIA128-GCM-SHA256', 'warn', true, ['ARIA']],
    ['ECDHE-ECDSA-AES128-CCM', 'warn', true, ['CCM']],
    ['ECDHE-ECDSA-AES128-CCM8', 'weak', true, ['CCM_8']],
    ['ADH-AES128-GCM-SHA256', 'weak', false, ['anonymous']],
    ['AECDH-AES128-SHA', 'weak', false, ['anonymous', 'CBC']],
    ['NULL-SHA256', 'weak', false, ['NULL']],
    ['ECDHE-RSA-NULL-SHA', 'weak', true, ['NULL']],
    ['RC4-MD5', 'weak', false, ['RC4', 'MD5']],
    ['DES-CBC3-SHA', 'weak', false, ['3DES']],
    ['DES-CBC-SHA', 'weak', false, ['single DES']],
    ['DHE-DSS-AES128-GCM-SHA256', 'weak', true, ['DSS']],
    ['PSK-AES128-GCM-SHA256', 'weak', false, ['pre-shared key']],
  ] as const)('%s is %s', (name, level, forwardSecret, reasonParts) => {
    const verdict = classifySuite(name)
    expect(verdict.level).toBe(level)
    expect(verdict.forwardSecret).toBe(forwardSecret)
    for (const part of reasonParts) expect(verdict.reasons.join('; ')).toContain(part)
    if (level === 'ok') expect(verdict.reasons).toEqual([])
  })

  it('passes exactly the six suites the gateway allows by default among the TLS 1.2 probes', () => {
    const ok = TLS12_PROBE_SUITES.filter((s) => classifySuite(s).level === 'ok')
    expect(ok.sort()).toEqual(
      [
        'ECDHE-ECDSA-AES128-GCM-SHA256',
        'ECDHE-RSA-AES128-GCM-SHA256',
        'ECDHE-ECDSA-AES256-GCM-SHA384',
        'ECDHE-RSA-AES256-GCM-SHA384',
        'ECDHE-ECDSA-CHACHA20-POLY1305',
        'ECDHE-RSA-CHACHA20-POLY1305',
      ].sort(),
    )
  })

  it('probes every TLS 1.3 suite and no PSK or SRP suite', () => {
    expect(TLS13_PROBE_SUITES).toHaveLength(5)
    expect(TLS12_PROBE_SUITES.some((s) => /PSK|SRP/.test(s))).toBe(false)
    expect(new Set(TLS12_PROBE_SUITES).size).toBe(TLS12_PROBE_SUITES.length)
  })
})

describe('concreteSuites', () => {
  it('keeps suite names and drops aliases, exclusions and @ rules', () => {
    expect(
      concreteSuites('ECDHE-ECDSA-AES128-GCM-SHA256:HIGH:!aNULL:AES128-SHA:@SECLEVEL=2:ECDHE+AESGCM'),
    ).toEqual(['ECDHE-ECDSA-AES128-GCM-SHA256', 'AES128-SHA'])
    expect(concreteSuites('TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_8_SHA256')).toEqual([
      'TLS_AES_128_GCM_SHA256',
      'TLS_AES_128_CCM_8_SHA256',
    ])
  })
})
