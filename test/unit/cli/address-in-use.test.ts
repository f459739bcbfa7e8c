/** A port in use is said as the setting to change, in one line; other errors are left alone. */
import { describe, expect, it } from 'vitest'
import { describeAddressInUse, type Listener } from '../../../src/cli/address-in-use.ts'

const inUse = (address: string, port: number) =>
  Object.assign(new Error(`listen EADDRINUSE: address already in use ${address}:${port}`), {
    code: 'EADDRINUSE',
    syscall: 'listen',
    address,
    port,
  })

const listeners: Listener[] = [
  { host: '0.0.0.0', port: 8443, setting: 'listen.port', change: 'or set another listen.port' },
  { host: '127.0.0.1', port: 8442, setting: 'admin.port', change: 'or set another admin.port' },
  { host: '127.0.0.1', port: 9080, setting: "the demo's CRL server", change: '(another demo?)' },
  { host: '127.0.0.1', port: 9000, setting: 'referenceHost.port', change: '(another demo?) or move it' },
  { host: '::1', port: 7000, setting: '--port', change: 'or give another --port' },
]

describe('describeAddressInUse', () => {
  it.each([
    [
      inUse('0.0.0.0', 8443),
      '0.0.0.0:8443 is already in use (listen.port): stop what listens there or set another listen.port',
    ],
    [
      inUse('127.0.0.1', 8442),
      '127.0.0.1:8442 is already in use (admin.port): stop what listens there or set another admin.port',
    ],
    [
      inUse('127.0.0.1', 9080),
      "127.0.0.1:9080 is already in use (the demo's CRL server): stop what listens there (another demo?)",
    ],
    [
      inUse('127.0.0.1', 9000),
      '127.0.0.1:9000 is already in use (referenceHost.port): stop what listens there (another demo?) or move it',
    ],
    [
      inUse('::1', 7000),
      '[::1]:7000 is already in use (--port): stop what listens there or give another --port',
    ],
    [inUse('127.0.0.1', 1234), '127.0.0.1:1234 is already in use: stop what listens there'],
  ])('%s', (error, line) => {
    expect(describeAddressInUse('demo', error, listeners)).toBe(`ehi-gateway demo: ${line}`)
  })

  it('tells two listeners on one port apart by address', () => {
    const two: Listener[] = [
      { host: '10.0.0.1', port: 8443, setting: 'listen.port', change: '' },
      { host: '127.0.0.1', port: 8443, setting: 'admin.port', change: '' },
    ]
    expect(describeAddressInUse('serve', inUse('127.0.0.1', 8443), two)).toContain('(admin.port)')
  })

  it.each([
    ['another error', Object.assign(new Error('x'), { code: 'EACCES', port: 443 })],
    ['no error object', undefined],
    ['a string', 'EADDRINUSE'],
  ])('leaves %s alone', (_name, error) => {
    expect(describeAddressInUse('serve', error, listeners)).toBeUndefined()
  })
})
