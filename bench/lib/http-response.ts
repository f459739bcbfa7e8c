/**
 * The generator's HTTP/1.1 response framing: just enough to know when an answer is complete
 * (status line, Content-Length, chunked or read-to-close). Pure.
 */

export interface ResponseHead {
  status: number
  /** Bytes of body after the head; -1 when chunked, -2 when the body runs to the connection's end. */
  bodyLength: number
  /** The server will close the connection after this answer. */
  close: boolean
}

export const CHUNKED = -1
export const UNTIL_CLOSE = -2

/** Parses the head (status line and headers, without the final CRLFCRLF); null when it is not HTTP. */
export function parseResponseHead(head: string): ResponseHead | null {
  if (!head.startsWith('HTTP/1.')) return null
  const status = Number(head.slice(9, 12))
  if (!Number.isInteger(status) || status < 100) return null
  let bodyLength = UNTIL_CLOSE
  let close = head.startsWith('HTTP/1.0')
  let start = head.indexOf('\r\n')
  while (start >= 0) {
    const end = head.indexOf('\r\n', start + 2)
    const line = head.slice(start + 2, end < 0 ? head.length : end)
    const colon = line.indexOf(':')
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      if (name === 'content-length') {
        const n = Number(value)
        if (!Number.isInteger(n) || n < 0) return null
        if (bodyLength !== CHUNKED) bodyLength = n
      } else if (name === 'transfer-encoding' && value.toLowerCase().includes('chunked')) bodyLength = CHUNKED
      else if (name === 'connection') close = value.toLowerCase().includes('close')
    }
    start = end
  }
  // No body for 1xx, 204 and 304.
  if (status === 204 || status === 304 || status < 200) bodyLength = 0
  return { status, bodyLength, close }
}

/**
 * For a chunked body starting at `from`: the offset just past the terminal chunk when the body
 * is complete, -1 while more bytes are needed, -2 when the framing is broken. No trailers.
 */
export function chunkedEnd(buf: Buffer, from: number): number {
  let at = from
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at, 'latin1')
    if (lineEnd < 0) return -1
    const size = parseInt(buf.toString('latin1', at, lineEnd).split(';')[0]!.trim(), 16)
    if (!Number.isInteger(size) || size < 0) return -2
    const next = lineEnd + 2 + size + 2
    if (buf.length < next) return -1
    if (size === 0) return next
    at = next
  }
}
