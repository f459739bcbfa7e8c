/** `certs csr`: the key and the request a public CA needs; SANs sorted by type. */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { buildServerCsr, csrFileStem, sortSans } from '../../../../src/tools/pki/server-csr.ts'
import { splitPem } from '../../../../src/plane/tls/pem.ts'
import { readDer } from '../../../../src/plane/tls/der.ts'

describe('sortSans', () => {
  it('puts the CN first, sorts DNS names from IP addresses and drops duplicates', () => {
    expect(
      sortSans('ehi.example.com', [
        'DNS:ehi-dr.example.com',
        '203.0.113.7',
        'IP:2001:db8::1',
        'EHI.example.com',
      ]),
    ).toEqual({
      dns: ['ehi.example.com', 'ehi-dr.example.com'],
      ip: ['203.0.113.7', '2001:db8::1'],
    })
  })

  it('refuses a value that is neither a DNS name nor an IP address', () => {
    expect(() => sortSans('ehi.example.com', ['not a name'])).toThrow(/neither a DNS name nor an IP address/)
  })
})

describe('buildServerCsr', () => {
  it.each([
    ['ec', 'EC P-256', 'ec'],
    ['rsa', 'RSA 2048', 'rsa'],
  ] as const)(
    '%s: a PKCS#8 key and a signed PKCS#10 request with the SANs',
    (keyType, description, nodeType) => {
      const result = buildServerCsr({ cn: 'ehi.example.com', sans: ['203.0.113.7'], keyType })
      expect(result.keyDescription).toBe(description)
      const key = createPrivateKey(result.keyPem)
      expect(key.asymmetricKeyType).toBe(nodeType)
      if (keyType === 'rsa') expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048)
      else expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
      const [block] = splitPem(result.csrPem)
      expect(block!.label).toBe('CERTIFICATE REQUEST')
      const der = block!.der.toString('latin1')
      expect(der).toContain('ehi.example.com')
      expect(der).toContain(String.fromCharCode(203, 0, 113, 7))
      // The request carries the public key of the key written next to it.
      const spki = createPublicKey(key).export({ type: 'spki', format: 'der' })
      expect(block!.der.includes(spki)).toBe(true)
      expect(readDer(block!.der)).toBeTruthy()
    },
  )
})

describe('csrFileStem', () => {
  it.each([
    ['ehi.example.com', 'ehi.example.com'],
    ['*.ehi.example.com', 'wildcard.ehi.example.com'],
    ['a b/c', 'a_b_c'],
  ])('%s -> %s', (cn, stem) => {
    expect(csrFileStem(cn)).toBe(stem)
  })
})
