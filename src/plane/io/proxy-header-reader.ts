/**
 * Reads a PROXY protocol header off a freshly accepted TCP socket, before TLS sees the
 * connection. The socket is read in paused mode; the bytes after the header (usually the start
 * of the TLS ClientHello, sent in the same segment) are pushed back with `unshift`, so the TLS
 * layer that wraps the socket next reads the connection exactly as if no header had been there.
 */
import type { Socket } from 'node:net'
import { parseProxyHeader, type ProxyHeader, type ProxyParseOptions } from '../accept/proxy-protocol.ts'

export type ProxyHeaderRead = { ok: true; header: ProxyHeader } | { ok: false; problem: string }

export function readProxyHeader(
  socket: Socket,
  timeoutMs: number,
  options: ProxyParseOptions = {},
): Promise<ProxyHeaderRead> {
  return new Promise((resolve) => {
    let received: Buffer = Buffer.alloc(0)
    const finish = (result: ProxyHeaderRead, rest?: Buffer) => {
      clearTimeout(timer)
      socket.off('readable', onReadable)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      socket.off('error', onError)
      // Back in front of the stream, for the TLS layer (it reads what is buffered when it wraps).
      if (rest && rest.length > 0) socket.unshift(rest)
      resolve(result)
    }
    const onReadable = () => {
      for (
        let chunk = socket.read() as Buffer | null;
        chunk !== null;
        chunk = socket.read() as Buffer | null
      ) {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk])
        const parsed = parseProxyHeader(received, options)
        if (parsed.state === 'incomplete') continue
        if (parsed.state === 'invalid') return finish({ ok: false, problem: parsed.problem })
        return finish({ ok: true, header: parsed.header }, received.subarray(parsed.length))
      }
    }
    const onEnd = () =>
      finish({
        ok: false,
        problem:
          received.length === 0
            ? 'closed before sending a PROXY header'
            : `closed after ${received.length} bytes of an incomplete PROXY header`,
      })
    const onError = (error: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        problem: `socket error before the PROXY header was read (${error.code ?? error.message})`,
      })
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          problem: `no complete PROXY header within ${timeoutMs} ms (${received.length} bytes received)`,
        }),
      timeoutMs,
    )
    socket.on('readable', onReadable)
    socket.once('end', onEnd)
    socket.once('close', onEnd)
    socket.once('error', onError)
  })
}
