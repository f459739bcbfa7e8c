/**
 * A client behind a hand-made load balancer: a TCP connection that starts with a PROXY header,
 * then TLS over the same socket (`tls.connect({ socket })`), then one EHI request.
 */
import { readFileSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { SAMPLE_REQUEST } from './clients.ts'
import type { TestPki } from './test-pki.ts'

export interface ProxiedOptions {
  /** The PROXY header; none at all when undefined. */
  header?: Buffer | undefined
  client?: { cert: string; key: string } | undefined
  /** Source address of the TCP connection (the "load balancer"). */
  localAddress?: string
  /**
   * `separate`: the header, then the TLS handshake in its own writes; `coalesced`: the header and
   * the ClientHello in one write (one TCP segment); `trickle`: the header one byte at a time.
   */
  mode?: 'separate' | 'coalesced' | 'trickle'
  /** Bytes sent after the header instead of a TLS handshake. */
  raw?: Buffer
  /** Request to send once TLS is up (default: one EHI authorisation, then wait for the answer). */
  request?: string
  timeoutMs?: number
}

export interface ProxiedResult {
  /** TLS handshake completed. */
  secure: boolean
  /** HTTP status of the answer, when one came. */
  status: number | undefined
  /** Everything received (after TLS, decrypted). */
  data: string
  error: string | undefined
}

export function proxiedExchange(
  pki: TestPki,
  port: number,
  options: ProxiedOptions = {},
): Promise<ProxiedResult> {
  const mode = options.mode ?? 'separate'
  return new Promise((resolve) => {
    let secure = false
    let data = ''
    let error: string | undefined
    let done = false
    const tcp = tcpConnect({
      host: '127.0.0.1',
      port,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    })
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(timer)
      tcp.destroy()
      const status = /^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]
      resolve({ secure, status: status ? Number(status) : undefined, data, error })
    }
    const timer = setTimeout(finish, options.timeoutMs ?? 3000)
    tcp.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message
      finish()
    })
    tcp.on('close', () => setTimeout(finish, 20))
    tcp.once('connect', async () => {
      const header = options.header ?? Buffer.alloc(0)
      if (mode === 'trickle') {
        for (const byte of header) {
          tcp.write(Buffer.from([byte]))
          await new Promise((r) => setTimeout(r, 2))
        }
      } else if (mode === 'separate' && header.length > 0) tcp.write(header)
      if (options.raw) {
        tcp.write(options.raw)
        tcp.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')))
        return
      }
      const tls = tlsConnect({
        socket: mode === 'coalesced' ? new PrependToFirstWrite(tcp, header) : tcp,
        servername: 'localhost',
        ca: readFileSync(pki.files['server-root-ca.pem']!),
        ...(options.client
          ? { cert: readFileSync(options.client.cert), key: readFileSync(options.client.key) }
          : {}),
      })
      tls.on('secureConnect', () => {
        secure = true
        tls.write(options.request ?? SAMPLE_REQUEST)
      })
      tls.on('data', (chunk: Buffer) => {
        data += chunk.toString('latin1')
        const end = data.indexOf('\r\n\r\n')
        const length = Number(/content-length: *(\d+)/i.exec(data)?.[1] ?? -1)
        if (end >= 0 && length >= 0 && Buffer.byteLength(data, 'latin1') >= end + 4 + length) finish()
      })
      tls.on('error', (e: NodeJS.ErrnoException) => {
        error ??= e.code ?? e.message
        finish()
      })
      tls.on('close', () => setTimeout(finish, 20))
    })
  })
}

/** A stream over a TCP socket whose first write carries `header` in front: one segment. */
class PrependToFirstWrite extends Duplex {
  private readonly inner: Socket
  private header: Buffer | undefined
  constructor(inner: Socket, header: Buffer) {
    super()
    this.inner = inner
    this.header = header
    inner.on('data', (chunk: Buffer) => this.push(chunk))
    inner.on('end', () => this.push(null))
    inner.on('error', (e) => this.destroy(e))
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const data = this.header ? Buffer.concat([this.header, chunk]) : chunk
    this.header = undefined
    this.inner.write(data, callback)
  }
  override _final(callback: () => void): void {
    this.inner.end()
    callback()
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy()
    callback(error)
  }
}
