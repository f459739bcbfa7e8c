/**
 * Readiness and the internal host (admin.readinessChecksHost): by default the host line is
 * reported only, so a host outage leaves every gateway ready and answering Thredd at once; with
 * the setting on, an unreachable or not yet probed host fails readiness.
 */
import { describe, expect, it } from 'vitest'
import { readinessChecks } from '../../../src/control/rules/readiness.ts'
import { caEntry, makeCa, makeLeaf, materialOf, NOW, trustOf } from '../../support/unit-certs.ts'

const root = makeCa('Host Readiness Root CA')
const server = makeLeaf(root)
const material = materialOf(trustOf([caEntry(root)], false), server)

function readiness(hostReachable: boolean | undefined, hostRequired: boolean | undefined) {
  const checks = readinessChecks({
    draining: false,
    material,
    hostReachable,
    hostProbeDetail: hostReachable === false ? 'connect ECONNREFUSED 127.0.0.1:9000' : undefined,
    ...(hostRequired === undefined ? {} : { hostRequired }),
    now: NOW,
  })
  return { ready: checks.every((c) => c.ok), host: checks.find((c) => c.name === 'host')! }
}

describe('readiness: the host line', () => {
  it.each([
    { hostRequired: undefined, reachable: false, ready: true },
    { hostRequired: undefined, reachable: undefined, ready: true },
    { hostRequired: false, reachable: false, ready: true },
    { hostRequired: false, reachable: true, ready: true },
    { hostRequired: true, reachable: false, ready: false },
    { hostRequired: true, reachable: undefined, ready: false },
    { hostRequired: true, reachable: true, ready: true },
  ])(
    'hostRequired $hostRequired, host reachable $reachable: ready $ready',
    ({ hostRequired, reachable, ready }) => {
      expect(readiness(reachable, hostRequired).ready).toBe(ready)
    },
  )

  it('reports an unreachable host even when it does not count, and says why it does not', () => {
    expect(readiness(false, false).host).toEqual({
      name: 'host',
      ok: true,
      detail: 'connect ECONNREFUSED 127.0.0.1:9000 (reported only: admin.readinessChecksHost is off)',
    })
  })

  it('names the probe failure when the host counts', () => {
    expect(readiness(false, true).host).toEqual({
      name: 'host',
      ok: false,
      detail: 'connect ECONNREFUSED 127.0.0.1:9000',
    })
    expect(readiness(undefined, true).host.detail).toBe('not probed yet')
  })
})
