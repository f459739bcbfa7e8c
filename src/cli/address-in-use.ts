/**
 * "Address already in use", said as what to change: which of the command's listeners it was, the
 * setting that chose its port and what to do. Pure: the commands pass the listeners they start.
 */

/** One address a command listens on, and how the user changes it. */
export interface Listener {
  host: string
  port: number
  /** The setting (or option) that chose the address: `listen.port`, `admin.port`, `--port`. */
  setting: string
  /** What to do, after "stop what listens there": `or set another listen.port (...)`. */
  change: string
}

/**
 * The line for an EADDRINUSE `error` from one of `listeners` (matched by port, then address), or
 * undefined when `error` is something else. With no listener matching, the address alone.
 */
export function describeAddressInUse(
  command: string,
  error: unknown,
  listeners: readonly Listener[],
): string | undefined {
  const { code, address, port } = (error ?? {}) as { code?: unknown; address?: unknown; port?: unknown }
  if (code !== 'EADDRINUSE') return undefined
  const samePort = listeners.filter((l) => l.port === port)
  const listener = samePort.find((l) => l.host === address) ?? samePort[0]
  const where = typeof address === 'string' && typeof port === 'number' ? hostPort(address, port) : undefined
  if (!listener)
    return `ehi-gateway ${command}: ${where ?? 'an address'} is already in use: stop what listens there`
  return `ehi-gateway ${command}: ${where ?? hostPort(listener.host, listener.port)} is already in use (${listener.setting}): stop what listens there ${listener.change}`
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
