/**
 * Reads a request body as the exact bytes received, bounded by a size limit. One chunk (the
 * common case for an EHI message) is used as it is; several are copied once into a buffer of
 * the known total size.
 */
import type { IncomingMessage } from 'node:http'

export type BodyResult =
  | { ok: true; body: Buffer }
  /** too_large: past the limit (declared or received); aborted: the client went away mid-body. */
  | { ok: false; problem: 'too_large' | 'aborted' }

const EMPTY = Buffer.alloc(0)

export function readBody(request: IncomingMessage, limit: number, done: (result: BodyResult) => void): void {
  // A declared length past the limit is refused before a byte of the body is read.
  const declared = request.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) return done({ ok: false, problem: 'too_large' })
  const chunks: Buffer[] = []
  let total = 0
  let settled = false
  const settle = (result: BodyResult) => {
    if (settled) return
    settled = true
    request.off('data', onData)
    request.off('end', onEnd)
    request.off('error', onError)
    done(result)
  }
  const onData = (chunk: Buffer) => {
    total += chunk.length
    if (total > limit) settle({ ok: false, problem: 'too_large' })
    else chunks.push(chunk)
  }
  const onEnd = () => {
    if (chunks.length === 0) return settle({ ok: true, body: EMPTY })
    settle({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total) })
  }
  const onError = () => settle({ ok: false, problem: 'aborted' })
  request.on('data', onData)
  request.on('end', onEnd)
  request.on('error', onError)
}
