/** Loopback ports for tests and the bench: one free to bind, and whether something listens on one. */
import { connect, createServer } from 'node:net'

/**
 * A port that was free a moment ago on 127.0.0.1 (the OS picks it). Another process may take it
 * before the caller binds it; with nothing bound, it is also a port where nobody listens.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Whether a TCP connection to 127.0.0.1:`port` is accepted now. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => {
      socket.destroy()
      resolve(false)
    })
  })
}
