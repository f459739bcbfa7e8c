/**
 * The internal host, reached through a keep-alive pool (undici). One call = one POST with the
 * message bytes unchanged and an explicit Content-Length, bounded by a deadline. Never throws:
 * the answer is either the host's, whole, or a reason code.
 */
import { Pool } from 'undici'
import type { GatewayConfig } from '../config/config-schema.ts'
import type { Reason } from '../reasons.ts'
import { errorCode, hostErrorReason } from './host-error-reason.ts'

export type HostResult =
  | { ok: true; status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }
  | { ok: false; reason: Reason; code: string | undefined }

export interface HostClient {
  readonly url: URL
  post(body: Buffer, headers: Record<string, string>, deadlineMs: number): Promise<HostResult>
  close(): Promise<void>
}

export function createHostClient(config: GatewayConfig['upstream']): HostClient {
  const url = new URL(config.url)
  const path = `${url.pathname}${url.search}`
  const pool = new Pool(url.origin, {
    connections: config.connections,
    pipelining: 1,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    keepAliveMaxTimeout: config.keepAliveTimeoutMs,
    connectTimeout: config.connectTimeoutMs,
    maxResponseSize: config.maxResponseBytes,
  })

  async function post(
    body: Buffer,
    headers: Record<string, string>,
    deadlineMs: number,
  ): Promise<HostResult> {
    const controller = new AbortController()
    let deadlineHit = false
    const timer = setTimeout(() => {
      deadlineHit = true
      controller.abort()
    }, deadlineMs)
    try {
      const response = await pool.request({
        origin: url.origin,
        path,
        method: 'POST',
        headers: { ...headers, 'content-length': String(body.length) },
        body,
        signal: controller.signal,
        // The deadline above bounds the whole call; these only stop a stuck socket.
        headersTimeout: deadlineMs + 1000,
        bodyTimeout: deadlineMs + 1000,
      })
      // The pool refuses a body past maxResponseBytes (UND_ERR_RES_EXCEEDED_MAX_SIZE).
      const answer = Buffer.from(await response.body.arrayBuffer())
      return { ok: true, status: response.statusCode, headers: response.headers, body: answer }
    } catch (error) {
      return {
        ok: false,
        reason: hostErrorReason(error, deadlineHit),
        code: deadlineHit ? 'DEADLINE' : errorCode(error),
      }
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    url,
    post,
    close: () => pool.close(),
  }
}
