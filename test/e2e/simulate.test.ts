/** `ehi-gateway simulate` against a gateway: a bounded run, a percentile table, answers by class. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { runCli } from '../support/cli.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
let h: Harness

beforeAll(async () => {
  h = await startHarness(pki)
})
afterAll(() => h.close())

function args(extra: string[]) {
  return [
    'simulate',
    '--target',
    `https://localhost:${h.port}/ehi`,
    '--cert',
    pki.clients.good.cert,
    '--key',
    pki.clients.good.key,
    '--ca',
    pki.files['server-root-ca.pem']!,
    ...extra,
  ]
}

describe('simulate', () => {
  it('prints a percentile table against the budget and the answers by class', async () => {
    const run = runCli(args(['--scenario', 'mixed', '--rate', '40', '--duration', '1']))
    expect(await run.exited).toBe(0)
    const out = run.stdout()
    expect(out).toMatch(/latency \(40 answers\)\s+p50 [\d.]+ ms\s+p90 [\d.]+ ms\s+p99 [\d.]+ ms/)
    expect(out).toContain('budget 200 ms')
    expect(out).toMatch(/decision\s+\d+\s+\d+/)
    expect(out).toMatch(/financial\s+\d+/)
    expect(out).toContain('a new TLS connection per message')
    expect(h.host.received.length).toBeGreaterThanOrEqual(40)
  })

  it('reports the answers as JSON, in the JSON wire format, over kept-alive connections', async () => {
    const before = h.host.received.length
    const run = runCli(
      args([
        '--scenario',
        'cutoff',
        '--rate',
        '10',
        '--duration',
        '1',
        '--format',
        'json',
        '--reuse-connections',
        '--json',
      ]),
    )
    expect(await run.exited).toBe(0)
    const report = JSON.parse(run.stdout()) as {
      byClass: { cutoff: { sent: number; ack1: number } }
      newConnectionPerMessage: boolean
    }
    expect(report.byClass.cutoff).toMatchObject({ sent: 10, ack1: 10 })
    expect(report.newConnectionPerMessage).toBe(false)
    expect(h.host.received.slice(before).every((m) => m.headers['content-type'] === 'application/json')).toBe(
      true,
    )
  })

  it('exits 1 and counts non-conforming answers when the host answers badly', async () => {
    h.host.behaviour = 'nonconforming'
    const run = runCli(args(['--rate', '10', '--duration', '0.5', '--json']))
    const code = await run.exited
    h.host.behaviour = 'approve'
    expect(code).toBe(1)
    expect(JSON.parse(run.stdout()).byClass.decision.nonConforming).toBe(5)
  })

  it('exits 2 on a missing client certificate, naming the option', async () => {
    const run = runCli(['simulate', '--target', `https://localhost:${h.port}/ehi`])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain('--cert and --key are required')
  })
})
