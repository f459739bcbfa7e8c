/**
 * One OCSP query over HTTP: POST application/ocsp-request (RFC 6960 Appendix A), bounded by a
 * deadline for the whole exchange and a cap on the answer's size. Never throws: the answer is
 * either the responder's bytes, whole, or a named failure.
 */
import { Agent, request, type Dispatcher } from 'undici'
import type { OcspError } from '../identity/ocsp/ocsp-message.ts'

export type OcspHttpResult =
  | { ok: true; body: Buffer }
  | {
      ok: false
      error: Extract<OcspError, 'unreachable' | 'timeout' | 'http_status' | 'too_large'>
      detail: string
    }

export interface OcspHttpOptions {
  timeoutMs: number
  maxBytes: number
  dispatcher: Dispatcher
  /** Aborts the query (the checker is closing). */
  signal: AbortSignal
}

/** A connection pool for responders; closing it ends every query on its way. */
export function createOcspAgent(connectTimeoutMs: number): Agent {
  return new Agent({ connectTimeout: connectTimeoutMs, keepAliveTimeout: 4000, connections: 4 })
}

export async function postOcspRequest(
  url: string,
  der: Buffer,
  options: OcspHttpOptions,
): Promise<OcspHttpResult> {
  const deadline = AbortSignal.timeout(options.timeoutMs)
  const signal = AbortSignal.any([deadline, options.signal])
  try {
    const answer = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
      body: der,
      signal,
      // undici follows no redirects without its redirect interceptor: the responder is the one
      // the certificate (or the config) names.
      dispatcher: options.dispatcher,
    })
    if (answer.statusCode !== 200) {
      answer.body.destroy()
      return { ok: false, error: 'http_status', detail: `the responder answered HTTP ${answer.statusCode}` }
    }
    const declared = Number(answer.headers['content-length'])
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      answer.body.destroy()
      return tooLarge(options.maxBytes)
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of answer.body) {
      size += (chunk as Buffer).length
      if (size > options.maxBytes) {
        answer.body.destroy()
        return tooLarge(options.maxBytes)
      }
      chunks.push(chunk as Buffer)
    }
    return { ok: true, body: Buffer.concat(chunks) }
  } catch (error) {
    if (deadline.aborted)
      return { ok: false, error: 'timeout', detail: `no whole answer within ${options.timeoutMs} ms` }
    const err = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }
    const code = err.code ?? err.cause?.code ?? err.name
    return { ok: false, error: 'unreachable', detail: `the responder could not be reached (${code})` }
  }
}

function tooLarge(maxBytes: number): OcspHttpResult {
  return { ok: false, error: 'too_large', detail: `the answer is larger than ${maxBytes} bytes` }
}
