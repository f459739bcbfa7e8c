/**
 * The TLS 1.2 first-flight reader behind `check` and `certs inspect URL`: it must see the chain
 * exactly as sent and the CA names of the CertificateRequest, and stop at alerts. Server flights
 * are assembled byte by byte here; the e2e tests run it against real servers.
 */
import { describe, expect, it } from 'vitest'
import { buildClientHello, parseServerFlight } from '../../../../src/tools/go-live/tls12-handshake.ts'

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff])
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff])
const message = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type]), u24(body.length), body])
const record = (type: number, fragment: Buffer) =>
  Buffer.concat([Buffer.from([type, 3, 3]), u16(fragment.length), fragment])

const serverHello = message(
  2,
  Buffer.concat([u16(0x0303), Buffer.alloc(32, 7), Buffer.from([0]), u16(0xc02b), Buffer.from([0]), u16(0)]),
)
const certA = Buffer.from('30030201aa', 'hex')
const certB = Buffer.from('30030201bb', 'hex')
const certificate = message(
  11,
  (() => {
    const list = Buffer.concat([u24(certA.length), certA, u24(certB.length), certB])
    return Buffer.concat([u24(list.length), list])
  })(),
)
const nameA = Buffer.from('3000', 'hex')
const nameB = Buffer.from('300b3109300706035504030c0141', 'hex')
const certificateRequest = message(
  13,
  (() => {
    const names = Buffer.concat([u16(nameA.length), nameA, u16(nameB.length), nameB])
    return Buffer.concat([
      Buffer.from([2, 1, 64]),
      u16(4),
      u16(0x0403),
      u16(0x0804),
      u16(names.length),
      names,
    ])
  })(),
)
const done = message(14, Buffer.alloc(0))

describe('buildClientHello', () => {
  it('is one TLS 1.2 handshake record with SNI for names and none for IP addresses', () => {
    const hello = buildClientHello({ auth: 'ecdsa', servername: 'ehi.example.com' })
    expect(hello[0]).toBe(22)
    expect(hello.readUInt16BE(3)).toBe(hello.length - 5)
    expect(hello[5]).toBe(1) // ClientHello
    expect(hello.readUInt16BE(9)).toBe(0x0303)
    expect(hello.includes(Buffer.from('ehi.example.com'))).toBe(true)
    expect(
      buildClientHello({ auth: 'rsa', servername: '127.0.0.1' }).includes(Buffer.from('127.0.0.1')),
    ).toBe(false)
  })

  it('asks for an ECDSA or an RSA certificate by the suites it offers', () => {
    const suitesOf = (hello: Buffer) => {
      const sessionIdAt = 5 + 4 + 2 + 32
      const at = sessionIdAt + 1 + hello[sessionIdAt]!
      const length = hello.readUInt16BE(at)
      return Array.from({ length: length / 2 }, (_, i) => hello.readUInt16BE(at + 2 + i * 2))
    }
    expect(suitesOf(buildClientHello({ auth: 'ecdsa' }))).toContain(0xc02b)
    expect(suitesOf(buildClientHello({ auth: 'ecdsa' }))).not.toContain(0xc02f)
    expect(suitesOf(buildClientHello({ auth: 'rsa' }))).toContain(0xc02f)
    expect(suitesOf(buildClientHello({ auth: 'rsa' }))).not.toContain(0xc02b)
  })
})

describe('parseServerFlight', () => {
  const flight = Buffer.concat([
    record(22, Buffer.concat([serverHello, certificate])),
    record(22, Buffer.concat([certificateRequest, done])),
  ])

  it('reads the chain as sent and the CA names, up to ServerHelloDone', () => {
    const parsed = parseServerFlight(flight)
    expect(parsed.state).toBe('done')
    if (parsed.state !== 'done') return
    expect(parsed.flight.version).toBe(0x0303)
    expect(parsed.flight.cipherSuite).toBe(0xc02b)
    expect(parsed.flight.certificates).toEqual([certA, certB])
    expect(parsed.flight.certificateRequest?.certificateTypes).toEqual([1, 64])
    expect(parsed.flight.certificateRequest?.signatureAlgorithms).toEqual([0x0403, 0x0804])
    expect(parsed.flight.certificateRequest?.caNames).toEqual([nameA, nameB])
  })

  it('is incomplete until the last byte, however the bytes are split', () => {
    for (let cut = 1; cut < flight.length; cut += 7) {
      expect(parseServerFlight(flight.subarray(0, cut)).state).toBe('incomplete')
    }
  })

  it('reads handshake messages split across records', () => {
    const all = Buffer.concat([serverHello, certificate, certificateRequest, done])
    const split = Buffer.concat([
      record(22, all.subarray(0, 10)),
      record(22, all.subarray(10, 50)),
      record(22, all.subarray(50)),
    ])
    const parsed = parseServerFlight(split)
    expect(parsed.state === 'done' && parsed.flight.certificates.length).toBe(2)
  })

  it('reports no CertificateRequest when the server does not ask for a client certificate', () => {
    const parsed = parseServerFlight(record(22, Buffer.concat([serverHello, certificate, done])))
    expect(parsed.state === 'done' && parsed.flight.certificateRequest).toBeUndefined()
  })

  it('stops at an alert and names it', () => {
    expect(parseServerFlight(record(21, Buffer.from([2, 70])))).toMatchObject({
      state: 'alert',
      name: 'protocol_version',
    })
    expect(parseServerFlight(record(21, Buffer.from([2, 40])))).toMatchObject({
      state: 'alert',
      name: 'handshake_failure',
    })
  })

  it('says so when the server does not speak TLS', () => {
    expect(parseServerFlight(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))).toMatchObject({
      state: 'error',
    })
  })
})
