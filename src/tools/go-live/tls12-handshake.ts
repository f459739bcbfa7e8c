/**
 * Just enough of a TLS 1.2 client to read the server's first flight, which TLS 1.2 sends in
 * clear: the certificate chain exactly as sent (order and all) and the CertificateRequest with
 * its "acceptable client certificate CA names". node:tls exposes neither (its peer chain is
 * rebuilt and reordered, and the CA names are not exposed at all), and this avoids depending on
 * `openssl s_client` for servers that speak TLS 1.2. The client never completes the handshake:
 * it reads up to ServerHelloDone, then closes. Pure: builds and parses bytes.
 */
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'

const RECORD_HANDSHAKE = 22
const RECORD_ALERT = 21
const HS_SERVER_HELLO = 2
const HS_CERTIFICATE = 11
const HS_CERTIFICATE_REQUEST = 13
const HS_SERVER_HELLO_DONE = 14

/** Which server certificate to ask for, by the suites offered (a server may hold RSA and ECDSA). */
export type AuthKind = 'ecdsa' | 'rsa'

const SUITES: Record<AuthKind, number[]> = {
  ecdsa: [0xc02b, 0xc02c, 0xcca9, 0xc023, 0xc024, 0xc009, 0xc00a, 0xc0ac, 0xc0ad],
  rsa: [
    0xc02f, 0xc030, 0xcca8, 0x009e, 0x009f, 0xccaa, 0xc027, 0xc028, 0xc013, 0xc014, 0x0033, 0x0039, 0x009c,
    0x009d, 0x003c, 0x003d, 0x002f, 0x0035, 0x000a,
  ],
}

const GROUPS = [0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101]
const SIGNATURE_ALGORITHMS = [
  0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0401, 0x0501,
  0x0601, 0x0203, 0x0201,
]

export interface CertificateRequestInfo {
  certificateTypes: number[]
  signatureAlgorithms: number[]
  /** DER of each distinguished name, in the order sent. */
  caNames: Buffer[]
}

export interface ServerFlight {
  /** Negotiated version from ServerHello (0x0303 = TLS 1.2). */
  version: number
  cipherSuite: number
  /** The Certificate message's chain, as sent: leaf first. */
  certificates: Buffer[]
  /** Undefined when the server did not ask for a client certificate. */
  certificateRequest: CertificateRequestInfo | undefined
}

export type FlightParse =
  | { state: 'incomplete' }
  | { state: 'done'; flight: ServerFlight }
  | { state: 'alert'; level: number; description: number; name: string }
  | { state: 'error'; message: string }

export const ALERT_NAMES: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  40: 'handshake_failure',
  42: 'bad_certificate',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  116: 'certificate_required',
  120: 'no_application_protocol',
}

/** A TLS 1.2 ClientHello record. `servername` is sent as SNI unless it is an IP address. */
export function buildClientHello(options: { servername?: string; auth: AuthKind; random?: Buffer }): Buffer {
  const extensions: Buffer[] = []
  if (options.servername && !isIP(options.servername)) {
    const name = Buffer.from(options.servername, 'ascii')
    const entry = Buffer.concat([Buffer.from([0]), u16(name.length), name])
    extensions.push(extension(0x0000, Buffer.concat([u16(entry.length), entry])))
  }
  extensions.push(extension(0x000a, vector16(GROUPS)))
  extensions.push(extension(0x000b, Buffer.from([1, 0])))
  extensions.push(extension(0x000d, vector16(SIGNATURE_ALGORITHMS)))
  extensions.push(extension(0x0017, Buffer.alloc(0)))
  extensions.push(extension(0xff01, Buffer.from([0])))
  const extensionBytes = Buffer.concat(extensions)
  const body = Buffer.concat([
    u16(0x0303),
    options.random ?? randomBytes(32),
    Buffer.from([0]),
    vector16(SUITES[options.auth]),
    Buffer.from([1, 0]),
    u16(extensionBytes.length),
    extensionBytes,
  ])
  const handshake = Buffer.concat([Buffer.from([1]), u24(body.length), body])
  return Buffer.concat([Buffer.from([RECORD_HANDSHAKE, 3, 1]), u16(handshake.length), handshake])
}

/**
 * Parses what the server sent so far. `incomplete` until ServerHelloDone (or an alert) has
 * arrived; call again with more bytes.
 */
export function parseServerFlight(bytes: Buffer): FlightParse {
  const handshake: Buffer[] = []
  let offset = 0
  while (offset + 5 <= bytes.length) {
    const type = bytes[offset]!
    const length = bytes.readUInt16BE(offset + 3)
    if (offset + 5 + length > bytes.length) break
    const fragment = bytes.subarray(offset + 5, offset + 5 + length)
    offset += 5 + length
    if (type === RECORD_ALERT && fragment.length >= 2) {
      const description = fragment[1]!
      return {
        state: 'alert',
        level: fragment[0]!,
        description,
        name: ALERT_NAMES[description] ?? `alert ${description}`,
      }
    }
    if (type !== RECORD_HANDSHAKE) return { state: 'error', message: `unexpected TLS record type ${type}` }
    handshake.push(fragment)
  }
  if (offset === 0 && bytes.length >= 5 && !isTlsRecordHeader(bytes)) {
    return { state: 'error', message: 'the server did not answer with TLS' }
  }
  const messages = Buffer.concat(handshake)
  const flight: Partial<ServerFlight> & { certificates: Buffer[] } = {
    certificates: [],
    certificateRequest: undefined,
  }
  let pos = 0
  try {
    while (pos + 4 <= messages.length) {
      const type = messages[pos]!
      const length = messages.readUIntBE(pos + 1, 3)
      if (pos + 4 + length > messages.length) break
      const body = messages.subarray(pos + 4, pos + 4 + length)
      pos += 4 + length
      if (type === HS_SERVER_HELLO) {
        flight.version = body.readUInt16BE(0)
        const sessionIdLength = body[34]!
        flight.cipherSuite = body.readUInt16BE(35 + sessionIdLength)
      } else if (type === HS_CERTIFICATE) {
        flight.certificates = readCertificateList(body)
      } else if (type === HS_CERTIFICATE_REQUEST) {
        flight.certificateRequest = readCertificateRequest(body)
      } else if (type === HS_SERVER_HELLO_DONE) {
        if (flight.version === undefined || flight.cipherSuite === undefined) {
          return { state: 'error', message: 'ServerHelloDone before ServerHello' }
        }
        return { state: 'done', flight: flight as ServerFlight }
      }
    }
  } catch (error) {
    return { state: 'error', message: `malformed handshake message: ${(error as Error).message}` }
  }
  return { state: 'incomplete' }
}

function isTlsRecordHeader(bytes: Buffer): boolean {
  return (bytes[0] === RECORD_HANDSHAKE || bytes[0] === RECORD_ALERT) && bytes[1] === 3
}

function readCertificateList(body: Buffer): Buffer[] {
  const total = body.readUIntBE(0, 3)
  const certs: Buffer[] = []
  let pos = 3
  while (pos < 3 + total) {
    const length = body.readUIntBE(pos, 3)
    certs.push(Buffer.from(body.subarray(pos + 3, pos + 3 + length)))
    pos += 3 + length
  }
  return certs
}

function readCertificateRequest(body: Buffer): CertificateRequestInfo {
  const typeCount = body[0]!
  const certificateTypes = [...body.subarray(1, 1 + typeCount)]
  let pos = 1 + typeCount
  const sigLength = body.readUInt16BE(pos)
  const signatureAlgorithms: number[] = []
  for (let i = 0; i < sigLength; i += 2) signatureAlgorithms.push(body.readUInt16BE(pos + 2 + i))
  pos += 2 + sigLength
  const namesLength = body.readUInt16BE(pos)
  pos += 2
  const end = pos + namesLength
  const caNames: Buffer[] = []
  while (pos < end) {
    const length = body.readUInt16BE(pos)
    caNames.push(Buffer.from(body.subarray(pos + 2, pos + 2 + length)))
    pos += 2 + length
  }
  return { certificateTypes, signatureAlgorithms, caNames }
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}

function u24(n: number): Buffer {
  const b = Buffer.alloc(3)
  b.writeUIntBE(n, 0, 3)
  return b
}

function vector16(values: number[]): Buffer {
  return Buffer.concat([u16(values.length * 2), ...values.map(u16)])
}

function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(data.length), data])
}
