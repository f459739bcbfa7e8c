/** Hand-built PROXY protocol headers (v1 text, v2 binary), as a load balancer sends them. */
import { isIPv4 } from 'node:net'
import { V2_SIGNATURE } from '../../src/plane/accept/proxy-protocol.ts'

export function proxyV1(source: string, destination: string, sourcePort: number, destinationPort: number) {
  const family = isIPv4(source) ? 'TCP4' : 'TCP6'
  return Buffer.from(
    `PROXY ${family} ${source} ${destination} ${sourcePort} ${destinationPort}\r\n`,
    'latin1',
  )
}

export interface V2Options {
  command?: 'local' | 'proxy'
  source?: string
  destination?: string
  sourcePort?: number
  destinationPort?: number
  /** Raw TLV bytes appended after the addresses. */
  tlvs?: Buffer
  /** Overrides the family/protocol byte (0x11 TCP4, 0x21 TCP6, ...). */
  familyProtocol?: number
  /** Overrides the version/command byte. */
  versionCommand?: number
  /** Overrides the length field. */
  length?: number
}

export function proxyV2(options: V2Options = {}): Buffer {
  const command = options.command ?? 'proxy'
  const source = options.source ?? '192.0.2.10'
  const destination = options.destination ?? (isIPv4(source) ? '198.51.100.1' : '2001:db8::1')
  const v4 = isIPv4(source)
  const addresses =
    command === 'local' && options.source === undefined
      ? Buffer.alloc(0)
      : Buffer.concat([
          v4 ? ipv4Bytes(source) : ipv6Bytes(source),
          v4 ? ipv4Bytes(destination) : ipv6Bytes(destination),
          port(options.sourcePort ?? 40000),
          port(options.destinationPort ?? 8443),
        ])
  const body = Buffer.concat([addresses, options.tlvs ?? Buffer.alloc(0)])
  const fixed = Buffer.alloc(4)
  fixed[0] = options.versionCommand ?? (command === 'local' ? 0x20 : 0x21)
  fixed[1] =
    options.familyProtocol ?? (command === 'local' && options.source === undefined ? 0x00 : v4 ? 0x11 : 0x21)
  fixed.writeUInt16BE(options.length ?? body.length, 2)
  return Buffer.concat([V2_SIGNATURE, fixed, body])
}

/** One TLV: type, 16-bit length, value. */
export function tlv(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(3)
  head[0] = type
  head.writeUInt16BE(value.length, 1)
  return Buffer.concat([head, value])
}

function port(value: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(value)
  return b
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number))
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined]
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : [])
  const left = parse(head)
  const right = parse(tail)
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill(0), ...right]
  const b = Buffer.alloc(16)
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2))
  return b
}
