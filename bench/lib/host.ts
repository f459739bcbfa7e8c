/**
 * The bench's internal host, a process of its own (`node bench/lib/host.ts '<HostSpec JSON>'`):
 * a plain-HTTP listener for the proxies (ehi-gateway, nginx) and an mTLS HTTPS listener that is
 * the floor target (client certificate required and verified against the same Thredd CA bundle
 * and CRLs, `rejectUnauthorized: true`, the gateway's TLS policy). Both give the same answers:
 * the approve answer of a correct EHI host for the message's class, made once at start and
 * picked by the `x-bench-answer` header the generator sends (the host never parses on the hot
 * path; without the header it parses and classifies like the reference host).
 * Prints one JSON line with its ports once both listen.
 */
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { DEFAULT_TLS12_CIPHERS, DEFAULT_TLS13_CIPHERSUITES } from '../../src/config/config-schema.ts'
import { classifyEhiMessage } from '../../src/plane/ehi/classify-ehi-message.ts'
import { contentTypeFor, cutOffAnswer, getTransactionAnswer } from '../../src/plane/ehi/ehi-answers.ts'
import type { EhiFormat, MessageClass } from '../../src/plane/ehi/ehi-message.ts'
import { parseEhiMessage } from '../../src/plane/ehi/parse-ehi-message.ts'
import { SCENARIOS, buildMessage, contentTypeOf } from '../../src/tools/messages/synthetic-messages.ts'
import { ANSWER_HEADER } from './messages.ts'
import { runBenchServer } from './processes.ts'

export interface HostSpec {
  certFile: string
  keyFile: string
  caFiles: string[]
  crlFiles: string[]
}

export interface HostPorts {
  httpPort: number
  httpsPort: number
}

const LIMITS = { maxDepth: 16, maxElements: 5000, maxAttributes: 64 }

interface Canned {
  body: Buffer
  headers: Record<string, string | number>
}

export function answerFor(cls: MessageClass, format: EhiFormat): Canned {
  const text =
    cls === 'cutoff'
      ? cutOffAnswer('1', format)
      : cls === 'decision' || cls === 'reversal'
        ? getTransactionAnswer({ Responsestatus: '00', Acknowledgement: '1' }, format)
        : getTransactionAnswer({ Acknowledgement: '1' }, format)
  const body = Buffer.from(text)
  return { body, headers: { 'content-type': contentTypeFor(format), 'content-length': body.length } }
}

function classOf(
  body: Buffer,
  contentType: string | undefined,
): { cls: MessageClass; format: EhiFormat } | null {
  const parsed = parseEhiMessage(body, contentType, LIMITS)
  if (!parsed.ok) return null
  return { cls: classifyEhiMessage(parsed.message, 1), format: parsed.message.format }
}

/** The canned XML answer for each synthetic scenario, by scenario name. */
function cannedAnswers(): Map<string, Canned> {
  const answers = new Map<string, Canned>()
  for (const scenario of SCENARIOS) {
    const found = classOf(Buffer.from(buildMessage(scenario, 'xml')), contentTypeOf('xml'))
    if (found) answers.set(scenario, answerFor(found.cls, found.format))
  }
  return answers
}

export async function startHost(spec: HostSpec): Promise<HostPorts & { close(): void }> {
  const answers = cannedAnswers()
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const key = req.headers[ANSWER_HEADER]
      let canned = typeof key === 'string' ? answers.get(key) : undefined
      if (!canned) {
        const found = classOf(Buffer.concat(chunks), req.headers['content-type'])
        if (!found) {
          res.writeHead(400, { 'content-type': 'text/plain', 'content-length': 14 }).end('not an EHI msg')
          return
        }
        canned = answerFor(found.cls, found.format)
      }
      res.writeHead(200, canned.headers).end(canned.body)
    })
  }
  const http = createHttpServer({ keepAliveTimeout: 65_000 }, handler)
  const https = createHttpsServer(
    {
      cert: readFileSync(spec.certFile),
      key: readFileSync(spec.keyFile),
      ca: spec.caFiles.map((file) => readFileSync(file)),
      crl: spec.crlFiles.map((file) => readFileSync(file)),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      // Node takes the TLS 1.3 suites in the same string, as the gateway passes them.
      ciphers: `${DEFAULT_TLS13_CIPHERSUITES}:${DEFAULT_TLS12_CIPHERS}`,
      ecdhCurve: 'X25519:P-256:P-384',
      honorCipherOrder: true,
      keepAliveTimeout: 65_000,
    },
    handler,
  )
  http.headersTimeout = 70_000
  https.headersTimeout = 70_000
  const listen = (server: typeof http | typeof https) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
    })
  const httpPort = await listen(http)
  const httpsPort = await listen(https)
  return {
    httpPort,
    httpsPort,
    close() {
      http.closeAllConnections()
      https.closeAllConnections()
      http.close()
      https.close()
    },
  }
}

if (import.meta.main)
  runBenchServer('host', startHost, (host) => ({
    httpPort: host.httpPort,
    httpsPort: host.httpsPort,
  }))
