/**
 * Hardening, part 2a: HTTP attacks from a client with a valid certificate, written byte by byte
 * over TLS. Smuggling shapes must never get a second (smuggled) message to the host, oversized
 * and slow requests are cut off, many requests on one connection all work, wrong methods and
 * paths are refused; every refusal should carry its reason code, log line and metric.
 */
import { connect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildMessage } from '../../src/tools/messages/synthetic-messages.ts'
import { AUTH_XML } from '../support/clients.ts'
import { startHarness, type Harness } from '../support/harness.ts'
import { byProfile, hardeningCase } from './recorder.ts'
import { bodyReason, parseResponses, rawTls, takeResponses, tlsOptions, type HttpAnswer } from './wire.ts'

const pki = inject('pki')
let h: Harness
const HEADERS_TIMEOUT_MS = 1000
const REQUEST_TIMEOUT_MS = 1500

beforeAll(async () => {
  h = await startHarness(pki, {
    limits: { headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
  })
})
afterAll(() => h?.close())

const LEN = Buffer.byteLength(AUTH_XML)
/** A second, different message: if the host ever sees it, it was smuggled. */
const SMUGGLED_XML = buildMessage('auth', 'xml', { TXn_ID: '6666666666', Txn_Amt: '9999.99' })
const SMUGGLED = `POST /ehi HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(SMUGGLED_XML)}\r\n\r\n${SMUGGLED_XML}`
const head = (lines: string[]) =>
  `POST /ehi HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`

/** Request shapes HTTP/1.1 parsers disagree on: each hides SMUGGLED behind a legitimate message. */
const SMUGGLING: [string, string][] = [
  [
    'Content-Length and Transfer-Encoding together (CL.TE)',
    head(['Content-Type: text/xml', 'Content-Length: 5', 'Transfer-Encoding: chunked']) +
      `0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'Transfer-Encoding and a larger Content-Length (TE.CL)',
    head(['Content-Type: text/xml', 'Transfer-Encoding: chunked', `Content-Length: ${LEN + 500}`]) +
      `${LEN.toString(16)}\r\n${AUTH_XML}\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'duplicate Content-Length, same value',
    head(['Content-Type: text/xml', `Content-Length: ${LEN}`, `Content-Length: ${LEN}`]) +
      AUTH_XML +
      SMUGGLED,
  ],
  [
    'duplicate Content-Length, different values',
    head(['Content-Type: text/xml', `Content-Length: ${LEN}`, 'Content-Length: 0']) + AUTH_XML + SMUGGLED,
  ],
  ['Content-Length as a list', head(['Content-Type: text/xml', `Content-Length: ${LEN}, ${LEN}`]) + AUTH_XML],
  [
    'obs-fold hiding Transfer-Encoding',
    head(['Content-Type: text/xml', `Content-Length: ${LEN}`, 'X-Note: a', ' Transfer-Encoding: chunked']) +
      AUTH_XML +
      SMUGGLED,
  ],
  [
    'obs-fold in Transfer-Encoding',
    head(['Content-Type: text/xml', 'Transfer-Encoding:', ' chunked', `Content-Length: ${LEN}`]) +
      AUTH_XML +
      SMUGGLED,
  ],
  [
    'bare LF line endings',
    `POST /ehi HTTP/1.1\nHost: x\nContent-Type: text/xml\nContent-Length: ${LEN}\n\n${AUTH_XML}${SMUGGLED}`,
  ],
  [
    'bare LF inside the header block',
    `POST /ehi HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nX-A: b\nTransfer-Encoding: chunked\r\nContent-Length: ${LEN}\r\n\r\n${AUTH_XML}${SMUGGLED}`,
  ],
  [
    'obfuscated Transfer-Encoding (xchunked)',
    head(['Content-Type: text/xml', 'Transfer-Encoding: xchunked', `Content-Length: ${LEN}`]) +
      AUTH_XML +
      SMUGGLED,
  ],
  [
    'space before the colon (Transfer-Encoding : chunked)',
    head(['Content-Type: text/xml', 'Transfer-Encoding : chunked', `Content-Length: ${LEN}`]) +
      AUTH_XML +
      SMUGGLED,
  ],
  [
    'chunk size with an extension and a bare LF',
    head(['Content-Type: text/xml', 'Transfer-Encoding: chunked']) +
      `${LEN.toString(16)};x=1\n${AUTH_XML}\r\n0\r\n\r\n${SMUGGLED}`,
  ],
]

/** Shapes the HTTP parser itself refuses (below the EHI route), for the accounting case. */
const PARSER_REFUSALS: [string, string][] = [
  ...SMUGGLING,
  [
    'one 20 KB header',
    head(['Content-Type: text/xml', `X-Big: ${'a'.repeat(20_000)}`, `Content-Length: ${LEN}`]) + AUTH_XML,
  ],
  [
    '3000 small headers',
    head([
      'Content-Type: text/xml',
      ...Array.from({ length: 3000 }, (_, i) => `X-H${i}: 1`),
      `Content-Length: ${LEN}`,
    ]) + AUTH_XML,
  ],
  ['bytes that are not HTTP', '\u0000\u0001\u0002 HELLO\r\n\r\n'],
  ['HTTP/2 preface on the HTTP/1.1 listener', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ['CONNECT to the internal host', 'CONNECT 127.0.0.1:9000 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\r\n'],
]

/**
 * A mark in the host's record, and the messages it received since. The reference host keeps its
 * last 1000 messages, so counting by array length stops working once it is full.
 */
type Mark = ReturnType<typeof mark>
function mark() {
  return h.host.received.at(-1)
}
function hostSawSince(m: Mark) {
  const index = m ? h.host.received.lastIndexOf(m) : -1
  return h.host.received.slice(index + 1)
}

function smuggledArrived(since: Mark): boolean {
  return hostSawSince(since).some((m) => m.body.toString().includes('6666666666'))
}

describe('request smuggling shapes', () => {
  it.each(SMUGGLING)('%s', async (name, bytes) =>
    hardeningCase(
      'http',
      `request smuggling: ${name}`,
      'refused (400) and closed, or served as one message; the host never sees the smuggled message',
      async (c) => {
        const before = mark()
        const result = await rawTls(pki, h.port, {
          client: pki.clients.good,
          request: bytes,
          timeoutMs: 2500,
        })
        const answers = parseResponses(result.data)
        const smuggled = smuggledArrived(before)
        const hostSaw = hostSawSince(before).length
        c.observe(
          `answers ${answers.map((a) => a.status).join(',') || 'none'}; closed=${result.closedByServer}; host saw ${hostSaw}${smuggled ? ' INCLUDING THE SMUGGLED MESSAGE' : ''}`,
        )
        expect(smuggled).toBe(false)
        expect(hostSaw).toBeLessThanOrEqual(1)
        expect(answers.length).toBeGreaterThanOrEqual(1)
        // A refused shape closes the connection: nothing after it can be read as a request.
        if (answers.some((a) => a.status === 400)) expect(result.closedByServer).toBe(true)
      },
    )(),
  )
})

// Shapes Node's HTTP parser refuses before fastify sees a request, and CONNECT: the gateway's
// clientError handler (gateway/build-gateway.ts) answers them like any other refusal.
it(
  'parser-level refusals carry the reason code, log line and metric',
  hardeningCase(
    'http',
    'refusals by the HTTP parser (smuggling shapes, oversized headers, non-HTTP bytes, CONNECT) are accounted',
    'each answered with a reason code in body and x-ehi-gateway-reason (bad_request), security headers, one connection_refused or request log line and one count under that reason',
    async (c) => {
      const rows: string[] = []
      let accounted = 0
      for (const [name, bytes] of PARSER_REFUSALS) {
        const logsBefore = h.logs.length
        const countsBefore =
          (await h.counter('ehi_gateway_connections_refused_total')) +
          (await h.counter('ehi_gateway_request_errors_total'))
        const result = await rawTls(pki, h.port, {
          client: pki.clients.good,
          request: bytes,
          timeoutMs: 2500,
        })
        const [answer] = parseResponses(result.data)
        await new Promise((resolve) => setTimeout(resolve, 20))
        const counted =
          (await h.counter('ehi_gateway_connections_refused_total')) +
          (await h.counter('ehi_gateway_request_errors_total')) -
          countsBefore
        const logged = h.logs.slice(logsBefore).filter((l) => l.reason !== undefined).length
        const reason = answer?.headers['x-ehi-gateway-reason'] ?? bodyReason(answer)
        const hsts = answer?.headers['strict-transport-security'] !== undefined
        rows.push(
          `${name}: ${answer?.status ?? 'closed'} reason=${reason ?? '-'} hsts=${hsts} log=${logged} metric+${counted}`,
        )
        if (answer && reason && hsts && logged === 1 && counted === 1) accounted++
      }
      c.observe(`${accounted}/${PARSER_REFUSALS.length} accounted; ${rows.slice(0, 2).join('; ')}; ...`)
      expect(rows.filter((row) => !row.endsWith('hsts=true log=1 metric+1'))).toEqual([])
      expect(accounted).toBe(PARSER_REFUSALS.length)
    },
  ),
)

it(
  'a parser refusal on a refused connection keeps the gate reason',
  hardeningCase(
    'http',
    'bytes that are not HTTP from a client without a certificate',
    '400 no_client_cert (the gate reason, not bad_request), counted once at the handshake, host sees nothing',
    async (c) => {
      const before = mark()
      const refusedBefore = await h.counter('ehi_gateway_connections_refused_total')
      const result = await rawTls(pki, h.port, {
        request: '\u0000\u0001\u0002 HELLO\r\n\r\n',
        timeoutMs: 2500,
      })
      const [answer] = parseResponses(result.data)
      await new Promise((resolve) => setTimeout(resolve, 20))
      const counted = (await h.counter('ehi_gateway_connections_refused_total')) - refusedBefore
      const reason = answer?.headers['x-ehi-gateway-reason']
      c.observe(
        `${answer?.status ?? 'closed'} reason=${reason ?? '-'}; refusals counted +${counted}; host saw ${hostSawSince(before).length}`,
      )
      expect(answer?.status).toBe(400)
      expect(reason).toBe('no_client_cert')
      expect(counted).toBe(1)
      expect(hostSawSince(before)).toHaveLength(0)
    },
  ),
)

describe('oversized requests', () => {
  it.each([
    ['one 20 KB header', PARSER_REFUSALS.find(([n]) => n === 'one 20 KB header')![1]],
    ['3000 small headers', PARSER_REFUSALS.find(([n]) => n === '3000 small headers')![1]],
  ])('headers: %s', async (name, bytes) =>
    hardeningCase(
      'http',
      `oversized headers: ${name}`,
      '431, connection closed, host sees nothing',
      async (c) => {
        const before = mark()
        const result = await rawTls(pki, h.port, { client: pki.clients.good, request: bytes })
        const [answer] = parseResponses(result.data)
        c.observe(
          `${answer?.status ?? 'no answer'}; closed=${result.closedByServer}; host saw ${hostSawSince(before).length}`,
        )
        expect(answer?.status).toBe(431)
        expect(result.closedByServer).toBe(true)
        expect(hostSawSince(before)).toHaveLength(0)
      },
    )(),
  )

  it.each([
    [
      'declared and sent: 300 KB',
      head(['Content-Type: text/xml', 'Content-Length: 300000']) + 'a'.repeat(300_000),
    ],
    ['declared 100 MB, 3 bytes sent', head(['Content-Type: text/xml', 'Content-Length: 100000000']) + 'abc'],
    [
      'chunked, 300 KB in 10 KB chunks',
      head(['Content-Type: text/xml', 'Transfer-Encoding: chunked']) +
        `${(10_000).toString(16)}\r\n${'a'.repeat(10_000)}\r\n`.repeat(30) +
        '0\r\n\r\n',
    ],
  ])('body: %s', async (name, bytes) =>
    hardeningCase(
      'http',
      `oversized body: ${name}`,
      '400 ehi_too_large (body, header, log, metric) before the body is read in full; host sees nothing',
      async (c) => {
        const before = mark()
        const metricBefore = await h.counter('ehi_gateway_request_errors_total', { reason: 'ehi_too_large' })
        const logsBefore = h.logs.length
        const result = await rawTls(pki, h.port, { client: pki.clients.good, request: bytes, answers: 1 })
        const [answer] = parseResponses(result.data)
        const line = h.logs.slice(logsBefore).find((l) => l.event === 'request')
        const delta =
          (await h.counter('ehi_gateway_request_errors_total', { reason: 'ehi_too_large' })) - metricBefore
        c.observe(
          `${answer?.status ?? 'no answer'} ${bodyReason(answer)} header=${answer?.headers['x-ehi-gateway-reason']} log=${line?.reason} metric+${delta}; ${Math.round(result.elapsedMs)} ms; host saw ${hostSawSince(before).length}`,
        )
        expect(answer?.status).toBe(400)
        expect(bodyReason(answer)).toBe('ehi_too_large')
        expect(answer?.headers['x-ehi-gateway-reason']).toBe('ehi_too_large')
        expect(line?.reason).toBe('ehi_too_large')
        expect(delta).toBe(1)
        expect(hostSawSince(before)).toHaveLength(0)
      },
    )(),
  )
})

describe('slow clients', () => {
  it(
    'slow body',
    hardeningCase(
      'http',
      'slow body (headers at once, then one byte every 100 ms)',
      `cut off with 408 within limits.requestTimeoutMs (${REQUEST_TIMEOUT_MS} ms) + the 250 ms check interval; request_timeout logged and counted; host sees nothing`,
      async (c) => {
        const before = mark()
        const metricBefore = await h.counter('ehi_gateway_connections_refused_total', {
          reason: 'request_timeout',
        })
        const logsBefore = h.logs.length
        const bytes = head(['Content-Type: text/xml', `Content-Length: ${LEN}`]) + AUTH_XML.slice(0, 10)
        const result = await rawTls(pki, h.port, {
          client: pki.clients.good,
          request: bytes,
          chunks: Array.from({ length: 60 }, (_, i) => AUTH_XML.slice(10 + i, 11 + i)),
          gapMs: 100,
          timeoutMs: 8000,
        })
        const [answer] = parseResponses(result.data)
        const line = h.logs.slice(logsBefore).find((l) => l.event === 'connection_refused')
        const delta =
          (await h.counter('ehi_gateway_connections_refused_total', { reason: 'request_timeout' })) -
          metricBefore
        c.observe(
          `${answer?.status ?? 'no answer'} after ${Math.round(result.elapsedMs)} ms; log=${line?.reason}; metric+${delta}; host saw ${hostSawSince(before).length}`,
        )
        expect(answer?.status).toBe(408)
        expect(result.closedByServer).toBe(true)
        expect(result.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + 250 + 1000)
        expect(line?.reason).toBe('request_timeout')
        expect(delta).toBe(1)
        expect(hostSawSince(before)).toHaveLength(0)
      },
    ),
  )
})

describe('many requests on one connection', () => {
  // The reference host keeps its last 1000 messages (see hostSawSince).
  const count = byProfile(200, 900)

  it(
    'sequential keep-alive requests',
    hardeningCase(
      'http',
      `many small requests on one connection (${count}, one after another)`,
      `all ${count} answered 200 in order on one connection; the host receives exactly ${count}`,
      async (c) => {
        const before = mark()
        const acceptedBefore = await h.counter('ehi_gateway_connections_accepted_total')
        const request = head(['Content-Type: text/xml', `Content-Length: ${LEN}`]) + AUTH_XML
        const statuses = await new Promise<number[]>((resolve) => {
          const out: number[] = []
          let buffer = ''
          const socket = connect({ ...tlsOptions(pki, pki.clients.good), port: h.port })
          const timer = setTimeout(() => socket.destroy(), byProfile(20_000, 120_000))
          socket.on('secureConnect', () => socket.write(request))
          socket.on('data', (chunk: Buffer) => {
            const { answers, rest } = takeResponses(buffer + chunk.toString('latin1'))
            buffer = rest
            if (answers.length === 0) return
            for (const a of answers) out.push(a.status)
            if (out.length >= count) {
              clearTimeout(timer)
              socket.end()
              resolve(out)
            } else socket.write(request)
          })
          socket.on('error', () => undefined)
          socket.on('close', () => {
            clearTimeout(timer)
            resolve(out)
          })
        })
        const accepted = (await h.counter('ehi_gateway_connections_accepted_total')) - acceptedBefore
        const ok = statuses.filter((s) => s === 200).length
        c.observe(
          `${ok}/${count} answered 200 on ${accepted} connection(s); host saw ${hostSawSince(before).length}`,
        )
        expect(ok).toBe(count)
        expect(accepted).toBe(1)
        expect(hostSawSince(before).length).toBe(count)
      },
    ),
  )

  it(
    'pipelined requests',
    hardeningCase(
      'http',
      'pipelined requests (50 written at once on one connection)',
      'all 50 answered 200, in order; the host receives exactly 50',
      async (c) => {
        const before = mark()
        const request = head(['Content-Type: text/xml', `Content-Length: ${LEN}`]) + AUTH_XML
        const result = await rawTls(pki, h.port, {
          client: pki.clients.good,
          request: request.repeat(50),
          answers: 50,
          timeoutMs: 10_000,
        })
        const answers: HttpAnswer[] = parseResponses(result.data)
        c.observe(
          `${answers.filter((a) => a.status === 200).length}/50 answered 200; host saw ${hostSawSince(before).length}`,
        )
        expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200))
        expect(hostSawSince(before).length).toBe(50)
      },
    ),
  )
})

describe('wrong method and path', () => {
  const cases: [string, string, number, string][] = [
    ['GET /ehi', 'GET /ehi HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'method_not_allowed'],
    [
      'PUT /ehi',
      head(['Content-Type: text/xml', `Content-Length: ${LEN}`]).replace('POST', 'PUT') + AUTH_XML,
      405,
      'method_not_allowed',
    ],
    ['DELETE /ehi', 'DELETE /ehi HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'method_not_allowed'],
    ['OPTIONS /ehi', 'OPTIONS /ehi HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'method_not_allowed'],
    ['TRACE /ehi', 'TRACE /ehi HTTP/1.1\r\nHost: x\r\n\r\n', 405, 'method_not_allowed'],
    [
      'POST /',
      head(['Content-Type: text/xml', `Content-Length: ${LEN}`]).replace('/ehi', '/') + AUTH_XML,
      404,
      'not_found',
    ],
    [
      'POST /metrics',
      head(['Content-Type: text/xml', 'Content-Length: 0']).replace('/ehi', '/metrics'),
      404,
      'not_found',
    ],
    [
      'POST /ehi/../ehi',
      head(['Content-Type: text/xml', `Content-Length: ${LEN}`]).replace('/ehi', '/ehi/../ehi') + AUTH_XML,
      404,
      'not_found',
    ],
    [
      'POST /EHI (case)',
      head(['Content-Type: text/xml', `Content-Length: ${LEN}`]).replace('/ehi', '/EHI') + AUTH_XML,
      404,
      'not_found',
    ],
  ]
  it.each(cases)('%s', async (name, bytes, status, reason) =>
    hardeningCase(
      'http',
      `wrong method or path: ${name}`,
      `${status} ${reason} (body, header, log, metric); host sees nothing`,
      async (c) => {
        const before = mark()
        const metricBefore = await h.counter('ehi_gateway_request_errors_total', { reason })
        const logsBefore = h.logs.length
        const result = await rawTls(pki, h.port, { client: pki.clients.good, request: bytes, answers: 1 })
        const [answer] = parseResponses(result.data)
        const line = h.logs.slice(logsBefore).find((l) => l.event === 'request')
        const delta = (await h.counter('ehi_gateway_request_errors_total', { reason })) - metricBefore
        c.observe(
          `${answer?.status ?? 'no answer'} ${bodyReason(answer)} header=${answer?.headers['x-ehi-gateway-reason']} log=${line?.reason} metric+${delta}; host saw ${hostSawSince(before).length}`,
        )
        expect(answer?.status).toBe(status)
        expect(bodyReason(answer)).toBe(reason)
        expect(answer?.headers['x-ehi-gateway-reason']).toBe(reason)
        expect(line?.reason).toBe(reason)
        expect(delta).toBe(1)
        expect(hostSawSince(before)).toHaveLength(0)
      },
    )(),
  )

  it(
    'absolute-form target naming another host',
    hardeningCase(
      'http',
      'absolute-form request target naming another host (POST https://evil.example/ehi)',
      'served as a message to the configured host only: the target authority never picks an upstream',
      async (c) => {
        const before = mark()
        const bytes =
          head(['Content-Type: text/xml', `Content-Length: ${LEN}`]).replace(
            '/ehi',
            'https://evil.example/ehi',
          ) + AUTH_XML
        const result = await rawTls(pki, h.port, { client: pki.clients.good, request: bytes, answers: 1 })
        const [answer] = parseResponses(result.data)
        const got = hostSawSince(before)
        c.observe(`${answer?.status}; host saw ${got.length} at ${got.map((m) => m.url).join(',')}`)
        expect(answer?.status).toBe(200)
        expect(got.map((m) => m.url)).toEqual(['/ehi'])
      },
    ),
  )
})
