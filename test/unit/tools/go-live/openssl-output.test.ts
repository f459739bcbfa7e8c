/** `openssl s_client -showcerts -msg` output, as read for TLS 1.3-only servers. */
import { describe, expect, it } from 'vitest'
import { parseSClientOutput } from '../../../../src/tools/go-live/rules/openssl-output.ts'
import { makeCa, makeLeaf } from '../../../support/unit-certs.ts'

const root = makeCa('Output Root')
const leaf = makeLeaf(root)

const output = (request: boolean, names: string[]) => `CONNECTED(00000003)
<<< TLS 1.3, Handshake [length 007a], ServerHello
${request ? '<<< TLS 1.3, Handshake [length 00fa], CertificateRequest\n' : ''}<<< TLS 1.3, Handshake [length 06c2], Certificate
---
Certificate chain
 0 s:CN = leaf
   i:CN = root
${leaf.pem} 1 s:CN = root
   i:CN = root
${root.pem}---
Server certificate
subject=CN = leaf
---
${names.length ? `Acceptable client certificate CA names\n${names.join('\n')}\n` : 'No client certificate CA names sent\n'}Requested Signature Algorithms: ECDSA+SHA256
---
New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256
`

describe('parseSClientOutput', () => {
  it('reads the chain in order, the CertificateRequest and the CA names', () => {
    const view = parseSClientOutput(
      output(true, ['C = GB, O = Thredd, CN = Thredd Root CA', 'CN = Thredd Issuing CA']),
    )
    expect(view.certificates.map((d) => d.equals(leaf.der) || d.equals(root.der))).toEqual([true, true])
    expect(view.certificates[0]!.equals(leaf.der)).toBe(true)
    expect(view.certificateRequested).toBe(true)
    expect(view.caNames).toEqual(['C=GB, O=Thredd, CN=Thredd Root CA', 'CN=Thredd Issuing CA'])
    expect(view.protocol).toBe('TLSv1.3')
  })

  it('tells a request without names from no request at all', () => {
    expect(parseSClientOutput(output(true, []))).toMatchObject({ certificateRequested: true, caNames: [] })
    expect(parseSClientOutput(output(false, []))).toMatchObject({ certificateRequested: false, caNames: [] })
  })
})
