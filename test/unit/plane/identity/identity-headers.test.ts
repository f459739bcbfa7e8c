/**
 * RFC 9440 headers carry the DER certificates as RFC 8941 byte sequences: the leaf in
 * Client-Cert, its validated CA path (issuer first, from the trust store) in Client-Cert-Chain.
 */
import { describe, expect, it } from 'vitest'
import {
  clientCertHeadersOnce,
  toClientCertHeaders,
} from '../../../../src/plane/identity/identity-headers.ts'
import { caEntry, makeCa, makeLeaf, trustOf } from '../../../support/unit-certs.ts'

/** RFC 8941 §4.2.7 byte sequence: `:` base64 `:`. */
function bytes(item: string): Buffer {
  const match = /^:([A-Za-z0-9+/]*={0,2}):$/.exec(item)
  if (!match) throw new Error(`not a byte sequence: ${item.slice(0, 20)}`)
  return Buffer.from(match[1]!, 'base64')
}

/** RFC 8941 §4.2.1 list of byte sequences, members separated by "," and optional spaces. */
function byteList(value: string): Buffer[] {
  return value.split(',').map((member) => bytes(member.trim()))
}

const root = makeCa('Root CA')
const issuing = makeCa('Issuing CA', root)
const leaf = makeLeaf(issuing)
const trust = trustOf([caEntry(root), caEntry(issuing)], false)

describe('toClientCertHeaders', () => {
  it('encodes the leaf and each CA as byte sequences', () => {
    const headers = toClientCertHeaders(leaf.der, [issuing.der, root.der])
    expect(headers['client-cert']).toBe(`:${leaf.der.toString('base64')}:`)
    expect(headers['client-cert-chain']).toBe(
      `:${issuing.der.toString('base64')}:, :${root.der.toString('base64')}:`,
    )
  })

  it('leaves Client-Cert-Chain out without a chain', () => {
    expect(toClientCertHeaders(leaf.der, [])).toEqual({ 'client-cert': `:${leaf.der.toString('base64')}:` })
  })
})

describe('clientCertHeadersOnce', () => {
  it('decodes to the leaf and its validated path from the trust store, leaf excluded', () => {
    const headers = clientCertHeadersOnce(leaf.cert, trust)()
    expect(bytes(headers['client-cert']!).equals(leaf.der)).toBe(true)
    const chain = byteList(headers['client-cert-chain']!)
    expect(chain.map((der) => der.toString('hex'))).toEqual([
      issuing.der.toString('hex'),
      root.der.toString('hex'),
    ])
  })

  it('builds the headers once and hands out the same object after', () => {
    const headers = clientCertHeadersOnce(leaf.cert, trust)
    expect(headers()).toBe(headers())
  })
})
