/**
 * The reload guard and the candidate trust: a candidate admits and refuses nothing, so a reload
 * may add, change or remove it; it is neither a widening nor a restart-only change.
 */
import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../../src/config/load-config.ts'
import { restartOnlyChanges, wideningChanges } from '../../../src/control/rules/reload-guard.ts'

const base = {
  tls: { serverCertificates: [{ cert: '/s.pem', key: '/s.key' }], clientCa: ['/live-ca.pem'] },
  upstream: { url: 'http://127.0.0.1:9/ehi' },
}
const withCandidate = (candidateTrust: Record<string, unknown>) =>
  validateConfig({ ...base, candidateTrust }).config
const none = validateConfig(base).config
const loaded = withCandidate({
  enabled: true,
  clientCa: ['/new-ca.pem'],
  crl: { enabled: true, files: ['/new-ca.crl.pem'] },
  pins: { spkiSha256: ['a'], certSha256: ['b'] },
  allowedSubjects: { cn: ['thredd'], o: ['Thredd'] },
})

describe('reload guard: candidateTrust', () => {
  it.each([
    ['added', none, loaded],
    ['removed', loaded, none],
    ['disabled', loaded, withCandidate({ enabled: false, clientCa: ['/new-ca.pem'] })],
    ['pins emptied', loaded, withCandidate({ enabled: true, clientCa: ['/new-ca.pem'] })],
    [
      'subject rule emptied',
      loaded,
      withCandidate({ enabled: true, clientCa: ['/new-ca.pem'], allowedSubjects: { cn: [] } }),
    ],
    [
      'CRL checking turned off',
      loaded,
      withCandidate({ enabled: true, clientCa: ['/new-ca.pem'], crl: { enabled: false } }),
    ],
    ['CAs changed', loaded, withCandidate({ enabled: true, clientCa: ['/other-ca.pem'] })],
  ])('reloads a candidate %s', (_name, before, after) => {
    expect(wideningChanges(before, after)).toEqual([])
    expect(restartOnlyChanges(before, after)).toEqual([])
  })
})
