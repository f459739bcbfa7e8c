import { describe, expect, it } from 'vitest'
import { idsAt, scenarioAt } from '../../../../src/tools/simulate/rules/simulation-plan.ts'

describe('scenarioAt', () => {
  it('sends only authorisations in the auth plan', () => {
    expect(new Set(Array.from({ length: 50 }, (_, i) => scenarioAt('auth', i)))).toEqual(new Set(['auth']))
  })

  it('sends only Cut_Off in the cutoff plan', () => {
    expect(scenarioAt('cutoff', 7)).toBe('cutoff')
  })

  it('mixes every GetTransaction class in the mixed plan, mostly authorisations', () => {
    const sent = Array.from({ length: 200 }, (_, i) => scenarioAt('mixed', i))
    for (const scenario of [
      'auth',
      'auth_visa',
      'afd_reversal',
      'auth_sms',
      'reversal',
      'advice',
      'presentment',
      'visa_presentment',
      'load',
    ]) {
      expect(sent).toContain(scenario)
    }
    const auths = sent.filter((s) => s === 'auth' || s === 'auth_visa' || s === 'auth_sms')
    expect(auths.length / sent.length).toBeGreaterThan(0.4)
  })

  it('is deterministic', () => {
    expect(scenarioAt('mixed', 123)).toBe(scenarioAt('mixed', 123))
  })
})

describe('idsAt', () => {
  it('gives every message of a run a different TXn_ID and message trace id', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => idsAt(42, i, 'auth'))
    expect(new Set(ids.map((x) => x.TXn_ID)).size).toBe(1000)
    expect(new Set(ids.map((x) => x.Traceid_Message)).size).toBe(1000)
  })

  it("gives trace ids in the networks' shapes", () => {
    expect(idsAt(42, 3, 'auth_visa').Traceid_Message).toMatch(/^VIS1-\d{8}-\d{15}$/)
    expect(idsAt(42, 3, 'auth').Traceid_Message).toMatch(/^BNET-\d{8}-[0-9A-Z]{9}$/)
  })

  it('gives Cut_Off a CutoffID instead of a TXn_ID', () => {
    expect(idsAt(42, 3, 'cutoff')).toEqual({ CutoffID: '4200000003' })
  })
})
