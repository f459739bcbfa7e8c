/**
 * `ehi-gateway simulate` against a gateway, behaving as Thredd does: a bounded run with a
 * percentile table and the answers by class; application/xml, a soapaction and a traceparent on
 * every request; giving up at the budget (a late answer is a timeout); resending unacknowledged
 * messages with the same TXn_ID and SendingAttemptCount + 1; the follow-up advice of each mode
 * after a missed decision; the exit status.
 */
import { readFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { getTransactionAnswer } from '../../src/plane/ehi/ehi-answers.ts'
import type { ReceivedMessage } from '../../src/tools/reference-host/reference-host.ts'
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

/** The value of a field in an XML message the host received. */
function field(message: ReceivedMessage, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(message.body.toString())?.[1]
}

/** Runs `simulate` with a JSON report; the host's state is reset before and after. */
async function simulate(extra: string[], prepare?: () => void) {
  h.host.behaviour = 'approve'
  h.host.delayMs = 0
  const before = h.host.received.length
  prepare?.()
  const run = runCli(args([...extra, '--json']))
  const code = await run.exited
  h.host.behaviour = 'approve'
  h.host.delayMs = 0
  const report = JSON.parse(run.stdout() || '{}') as {
    byClass: Record<string, Record<string, number>>
    followUps: number
    latency: { overBudget: number }
  }
  return { code, report, received: h.host.received.slice(before), stderr: run.stderr() }
}

/** Switches the host to approving once the first message reached it (the first one is missed). */
function missTheFirst(behaviour: 'stall' | 'ack0' = 'stall') {
  return () => {
    h.host.behaviour = behaviour
    const from = h.host.received.length
    const timer = setInterval(() => {
      if (h.host.received.length > from) {
        h.host.behaviour = 'approve'
        clearInterval(timer)
      }
    }, 5)
    setTimeout(() => clearInterval(timer), 15_000).unref()
  }
}

describe('simulate: the report', () => {
  it('prints a percentile table against the budget and the answers by class', async () => {
    // A loaded machine may miss the 200 ms budget: allowed here, and resends come fast.
    const run = runCli(
      args([
        '--scenario',
        'mixed',
        '--rate',
        '40',
        '--duration',
        '1',
        '--allow-over-budget',
        '--time-scale',
        '2000',
      ]),
    )
    expect(await run.exited).toBe(0)
    const out = run.stdout()
    expect(out).toMatch(/latency \(40 answers\)\s+p50 [\d.]+ ms\s+p90 [\d.]+ ms\s+p99 [\d.]+ ms/)
    expect(out).toContain('budget 200 ms')
    expect(out).toMatch(/decision\s+\d+\s+0\s+\d+\s+\d+/)
    expect(out).toMatch(/financial\s+\d+/)
    expect(out).toContain('a new TLS connection per message')
    expect(h.host.received.length).toBeGreaterThanOrEqual(40)
  })

  it('reports the answers as JSON, in the JSON wire format, over kept-alive connections', async () => {
    const { code, report, received } = await simulate([
      '--scenario',
      'cutoff',
      '--rate',
      '10',
      '--duration',
      '1',
      '--format',
      'json',
      '--reuse-connections',
      '--budget-ms',
      '5000',
    ])
    expect(code).toBe(0)
    // Thredd's JSON Cut_Off, answered {"Acknowledgement":"1"}.
    expect(report.byClass.cutoff).toMatchObject({ sent: 10, ack1: 10, unacknowledged: 0 })
    expect((report as unknown as { newConnectionPerMessage: boolean }).newConnectionPerMessage).toBe(false)
    expect(received.every((m) => m.headers['content-type'] === 'application/json')).toBe(true)
    expect(received.every((m) => m.body.toString().includes('"CutOffId"'))).toBe(true)
  })
})

describe('simulate: what Thredd sends', () => {
  it('sends application/xml, the soapaction of the root and a W3C traceparent', async () => {
    const { code, received } = await simulate([
      '--scenario',
      'auth',
      '--rate',
      '5',
      '--duration',
      '1',
      '--budget-ms',
      '5000',
    ])
    expect(code).toBe(0)
    expect(received).toHaveLength(5)
    for (const message of received) {
      expect(message.headers['content-type']).toBe('application/xml')
      expect(message.headers.soapaction).toBe('"http://tempuri.org/IEndpointVersion52/GetTransaction"')
      // The gateway keeps Thredd's trace id (a new parent id is its own).
      expect(message.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
    }
    const traces = new Set(received.map((m) => String(m.headers.traceparent).split('-')[1]))
    expect(traces.size).toBe(5)
  })

  it('sends those headers itself (straight to an EHI endpoint, no gateway in between)', async () => {
    const seen: IncomingHttpHeaders[] = []
    const answer = getTransactionAnswer({ Acknowledgement: '1' }, 'xml')
    const server = createHttpsServer(
      {
        cert: readFileSync(pki.files['server-chain.pem']!),
        key: readFileSync(pki.files['server.key']!),
      },
      (req, res) => {
        seen.push(req.headers)
        req.resume()
        req.on('end', () =>
          res
            .writeHead(200, { 'content-type': 'application/xml', 'content-length': answer.length })
            .end(answer),
        )
      },
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const run = runCli([
        'simulate',
        '--target',
        `https://localhost:${port}/ehi`,
        '--cert',
        pki.clients.good.cert,
        '--key',
        pki.clients.good.key,
        '--ca',
        pki.files['server-root-ca.pem']!,
        '--scenario',
        'advice',
        '--rate',
        '3',
        '--duration',
        '1',
        '--budget-ms',
        '5000',
      ])
      expect(await run.exited).toBe(0)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
    expect(seen).toHaveLength(3)
    for (const headers of seen) {
      expect(headers['content-type']).toBe('application/xml')
      expect(headers.soapaction).toBe('"http://tempuri.org/IEndpointVersion52/GetTransaction"')
      expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/)
      expect(headers['content-length']).toMatch(/^\d+$/)
    }
  })

  it('gives up at the budget and closes: a late answer is a timeout, not an acknowledgement', async () => {
    const { code, report, received } = await simulate(
      ['--scenario', 'advice', '--rate', '2', '--duration', '1', '--budget-ms', '150', '--resends', '0'],
      () => (h.host.delayMs = 600),
    )
    expect(code).toBe(1)
    expect(received).toHaveLength(2)
    expect(report.byClass.advice).toMatchObject({
      sent: 2,
      timeouts: 2,
      ack1: 0,
      ok2xx: 0,
      unacknowledged: 2,
    })
  })

  it('resends an unacknowledged message with the same TXn_ID and SendingAttemptCount + 1, 5 times', async () => {
    const { code, report, received } = await simulate(
      [
        '--scenario',
        'advice',
        '--rate',
        '1',
        '--duration',
        '1',
        '--time-scale',
        '2000',
        '--budget-ms',
        '5000',
      ],
      () => (h.host.behaviour = 'ack0'),
    )
    expect(code).toBe(1)
    expect(received.map((m) => field(m, 'SendingAttemptCount'))).toEqual(['0', '1', '2', '3', '4', '5'])
    expect(new Set(received.map((m) => field(m, 'TXn_ID'))).size).toBe(1)
    expect(report.byClass.advice).toMatchObject({ sent: 1, resent: 5, ack0: 6, unacknowledged: 1 })
  })

  it('stops resending once the message is acknowledged', async () => {
    const { code, report, received } = await simulate(
      [
        '--scenario',
        'reversal',
        '--rate',
        '1',
        '--duration',
        '1',
        '--time-scale',
        '2000',
        '--budget-ms',
        '5000',
      ],
      missTheFirst('ack0'),
    )
    expect(code).toBe(0)
    expect(received.map((m) => field(m, 'SendingAttemptCount'))).toEqual(['0', '1'])
    expect(report.byClass.reversal).toMatchObject({ sent: 1, resent: 1, ack0: 1, ack1: 1, unacknowledged: 0 })
  })

  it('never resends a Cut_Off', async () => {
    const { report, received } = await simulate(
      [
        '--scenario',
        'cutoff',
        '--rate',
        '1',
        '--duration',
        '1',
        '--time-scale',
        '2000',
        '--budget-ms',
        '5000',
      ],
      () => (h.host.behaviour = 'ack0'),
    )
    expect(received).toHaveLength(1)
    expect(report.byClass.cutoff).toMatchObject({ sent: 1, resent: 0, unacknowledged: 1 })
  })

  describe.each([
    { mode: 1, first: { by: 'N', attempt: '0' }, followUp: { by: 'Y', attempt: '1', stat: 'I', de39: '05' } },
    { mode: 2, first: { by: 'Y', attempt: '0' }, followUp: { by: 'Y', attempt: '1', stat: 'A', de39: '00' } },
    { mode: 4, first: { by: 'N', attempt: '0' }, followUp: { by: 'Y', attempt: '0', stat: 'A', de39: '00' } },
  ])('mode $mode', ({ mode, first, followUp }) => {
    it('after a decision times out, sends the follow-up advice Thredd sends in this mode', async () => {
      const { code, report, received } = await simulate(
        [
          '--scenario',
          'auth',
          '--rate',
          '1',
          '--duration',
          '1',
          '--mode',
          String(mode),
          '--budget-ms',
          '1000',
        ],
        missTheFirst(),
      )
      // Over budget (the missed decision) fails the run; the follow-up was acknowledged.
      expect(code).toBe(1)
      expect(report.followUps).toBe(1)
      expect(received).toHaveLength(2)
      const [request, advice] = received as [ReceivedMessage, ReceivedMessage]
      expect(field(advice, 'TXn_ID')).toBe(field(request, 'TXn_ID'))
      expect(field(advice, 'MTID')).toBe('0100')
      expect([field(request, 'Authorised_by_GPS'), field(request, 'SendingAttemptCount')]).toEqual([
        first.by,
        first.attempt,
      ])
      expect([
        field(advice, 'Authorised_by_GPS'),
        field(advice, 'SendingAttemptCount'),
        field(advice, 'Txn_Stat_Code'),
        field(advice, 'Resp_Code_DE39'),
      ]).toEqual([followUp.by, followUp.attempt, followUp.stat, followUp.de39])
      expect(report.byClass.decision).toMatchObject({ sent: 1, timeouts: 1 })
      expect(report.byClass.advice).toMatchObject({ sent: 1, ack1: 1, unacknowledged: 0 })
    })
  })

  it('mode 3: an authorisation is an advice Thredd decided; no follow-up, resent when missed', async () => {
    const { report, received } = await simulate(
      [
        '--scenario',
        'auth',
        '--rate',
        '1',
        '--duration',
        '1',
        '--mode',
        '3',
        '--budget-ms',
        '1000',
        '--time-scale',
        '2000',
      ],
      missTheFirst(),
    )
    expect(report.followUps).toBe(0)
    expect(received.map((m) => [field(m, 'Authorised_by_GPS'), field(m, 'SendingAttemptCount')])).toEqual([
      ['Y', '0'],
      ['Y', '1'],
    ])
  })
})

describe('simulate: the exit status', () => {
  it('exits 0 with --allow-over-budget when every message was acknowledged in the end', async () => {
    const { code, report } = await simulate(
      ['--scenario', 'auth', '--rate', '1', '--duration', '1', '--budget-ms', '1000', '--allow-over-budget'],
      missTheFirst(),
    )
    expect(report.followUps).toBe(1)
    expect(code).toBe(0)
  })

  it('exits 1 and counts non-conforming answers when the host answers badly', async () => {
    const { code, report } = await simulate(
      ['--rate', '10', '--duration', '0.5', '--time-scale', '2000', '--resends', '1', '--budget-ms', '5000'],
      () => (h.host.behaviour = 'nonconforming'),
    )
    expect(code).toBe(1)
    expect(report.byClass.decision!.nonConforming).toBe(5)
    // Each missed decision was followed up, and the follow-ups resent once, never acknowledged.
    expect(report.followUps).toBe(5)
    expect(report.byClass.advice).toMatchObject({ sent: 5, resent: 5, unacknowledged: 5 })
  })

  it('exits 2 on a missing client certificate, naming the option on one line', async () => {
    const run = runCli(['simulate', '--target', `https://localhost:${h.port}/ehi`])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toContain('--cert and --key are required')
    expect(run.stderr().trim().split('\n')).toHaveLength(1)
  })

  it.each([
    ['an unknown option', ['--nope']],
    ['a bad mode', ['--mode', '5']],
    ['a bad time scale', ['--time-scale', '0']],
    ['a stray argument', ['extra']],
  ])('exits 2 on %s, with one line on stderr and nothing on stdout', async (_name, extra) => {
    const run = runCli(args(extra))
    expect(await run.exited).toBe(2)
    expect(run.stderr().trim().split('\n')).toHaveLength(1)
    expect(run.stdout()).toBe('')
  })
})
