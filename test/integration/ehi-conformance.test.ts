/**
 * The conformance table of docs/ehi-handling.md, row by row, over real TLS through the gateway:
 * every message kind Thredd documents, in each EHI mode, gets its class (what the host is told in
 * x-ehi-class), reaches the host byte for byte, and gets the class's answer when the host is down
 * (the default policy, and the opt-in mode-1 decline, which only a first attempt Thredd has not
 * decided itself may get).
 */
import { createServer, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { EhiMode } from '../../src/plane/ehi/classify-ehi-message.ts'
import type { MessageClass } from '../../src/plane/ehi/ehi-message.ts'
import { buildMessage, contentTypeOf, soapActionOf } from '../../src/tools/messages/synthetic-messages.ts'
import { post, type PostResult } from '../support/clients.ts'
import { CONFORMANCE, MODES, type ConformanceRow } from '../support/ehi-conformance.ts'
import { startHarness, type Harness } from '../support/harness.ts'

const pki = inject('pki')
/** One product per mode. */
const PRODUCT: Record<EhiMode, string> = { 1: '9101', 2: '9102', 3: '9103', 4: '9104' }
const MODES_CONFIG = { productModes: { '9101': 1, '9102': 2, '9103': 3, '9104': 4 } }

let up: Harness
let down: Harness
let decline: Harness

beforeAll(async () => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  const unreachable = { url: `http://127.0.0.1:${port}/ehi` }
  up = await startHarness(pki, { ehi: MODES_CONFIG })
  down = await startHarness(pki, { ehi: MODES_CONFIG, upstream: unreachable })
  decline = await startHarness(pki, {
    ehi: { ...MODES_CONFIG, onHostFailure: { decision: 'decline', declineResponseStatus: '91' } },
    upstream: unreachable,
  })
})
afterAll(async () => {
  await Promise.all([up?.close(), down?.close(), decline?.close()])
})

interface Case {
  row: ConformanceRow
  pair: string
  mode: EhiMode
  format: 'xml' | 'json'
  cls: MessageClass
}

const CASES: Case[] = CONFORMANCE.flatMap((row) =>
  row.pairs.flatMap((pair) =>
    (row.scenario === 'cutoff' ? (['xml', 'json'] as const) : (['xml'] as const)).flatMap((format) =>
      MODES.map((mode) => ({ row, pair, mode, format, cls: row.classes[mode] })),
    ),
  ),
)

function body({ row, pair, mode, format }: Case): string {
  if (row.scenario === 'cutoff') return buildMessage('cutoff', format, { ProductID: PRODUCT[mode] })
  const [mtid = '', type = ''] = pair.split('/')
  // Visa Base II codes come with two trailing spaces, as Thredd sends them.
  const MTID = mtid.length === 2 ? `${mtid}  ` : mtid
  return buildMessage(row.scenario, format, {
    ...row.fields(mode),
    MTID,
    Txn_Type: type,
    ProductID: PRODUCT[mode],
  })
}

function send(h: Harness, c: Case, text: string): Promise<PostResult> {
  return post(pki, h.port, {
    client: pki.clients.good,
    body: text,
    headers: {
      'content-type': contentTypeOf(c.format),
      ...(c.format === 'xml' ? { soapaction: soapActionOf(c.row.scenario) } : {}),
    },
  })
}

/** Acknowledgement, Responsestatus and Cut_OffResult of an answer, in either format. */
function values(res: PostResult): Record<string, string> {
  const text = res.body.toString()
  const out: Record<string, string> = {}
  for (const name of ['Acknowledgement', 'Responsestatus', 'Cut_OffResult']) {
    const match = new RegExp(`<${name}>([^<]*)</${name}>|"${name}":"([^"]*)"`).exec(text)
    if (match) out[name] = match[1] ?? match[2]!
  }
  return out
}

/** What the default policy answers for a class when the host is down. */
function expectHostDownAnswer(c: Case, res: PostResult) {
  if (c.cls === 'decision') {
    expect(res.status).toBe(502)
    expect(res.headers['x-ehi-gateway-reason']).toBe('host_unreachable')
    expect(values(res)).toEqual({})
    return
  }
  expect(res.status).toBe(200)
  expect(res.headers['content-type']).toBe(contentTypeOf(c.format))
  const expected =
    c.cls === 'cutoff'
      ? c.format === 'xml'
        ? { Cut_OffResult: '0' }
        : { Acknowledgement: '0' }
      : c.cls === 'reversal'
        ? { Responsestatus: '96', Acknowledgement: '0' }
        : { Acknowledgement: '0' }
  expect(values(res)).toEqual(expected)
}

describe.each(CONFORMANCE.map((row) => ({ row, kind: row.kind })))('conformance: $kind', ({ row }) => {
  const cases = CASES.filter((c) => c.row === row)

  it.each(cases)('$pair ($format) in mode $mode is $cls and reaches the host as sent', async (c) => {
    const text = body(c)
    const before = up.host.received.length
    const res = await send(up, c, text)
    expect(res.status).toBe(200)
    const received = up.host.received[before]!
    expect(received.body.toString()).toBe(text)
    expect(received.headers['x-ehi-class']).toBe(c.cls)
    expect(up.logs.findLast((l) => l.event === 'request')).toMatchObject({
      ehi: { class: c.cls, mode: c.mode },
    })
  })

  it.each(cases)('$pair ($format) in mode $mode, host down: the $cls answer', async (c) => {
    expectHostDownAnswer(c, await send(down, c, body(c)))
  })

  it.each(cases.filter((c) => c.row.scenario !== 'cutoff'))(
    '$pair in mode $mode, host down, decision: decline configured: a decline only for a mode-1 decision',
    async (c) => {
      const res = await send(decline, c, body(c))
      if (c.cls === 'decision' && c.mode === 1) {
        expect(res.status).toBe(200)
        expect(values(res)).toEqual({ Responsestatus: '91', Acknowledgement: '1' })
      } else expectHostDownAnswer(c, res)
    },
  )
})
