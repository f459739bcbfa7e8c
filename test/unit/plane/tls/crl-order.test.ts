/**
 * Which of two CRLs of a CA is newer decides whether a reload or a fetch may replace the CRL in
 * force: an older CRL, still unexpired, may not list a certificate revoked since. The CRL number
 * (RFC 5280 §5.2.3) orders them when both carry one, thisUpdate otherwise.
 */
import { describe, expect, it } from 'vitest'
import { crlRollbacks } from '../../../../src/control/rules/reload-guard.ts'
import {
  compareCrls,
  crlDistributionPointUrls,
  describeCrl,
  newestCrl,
  parseCrl,
  type CrlOrderKey,
} from '../../../../src/plane/tls/crl.ts'
import { caEntry, DAY, makeCa, makeCrl, NOW, trustOf } from '../../../support/unit-certs.ts'

const ca = makeCa('Order Test CA')

describe('parseCrl: the CRL number and the delta indicator', () => {
  it.each([
    { crlNumber: 1, want: 1n },
    { crlNumber: 0x7fffffff, want: 0x7fffffffn },
    // High bit set: DER adds a 0x00 byte, the number stays positive.
    { crlNumber: 0x80n, want: 0x80n },
    // RFC 5280 allows up to 20 octets.
    { crlNumber: 2n ** 159n - 1n, want: 2n ** 159n - 1n },
  ])('reads CRL number $crlNumber', ({ crlNumber, want }) => {
    expect(parseCrl(makeCrl(ca, { crlNumber })).crlNumber).toBe(want)
  })

  it('gives no CRL number when the extension is absent', () => {
    expect(parseCrl(makeCrl(ca, { crlNumber: null })).crlNumber).toBeUndefined()
  })

  it('reads the CRL number of a CRL that revokes certificates (extensions after the list)', () => {
    const crl = parseCrl(makeCrl(ca, { crlNumber: 42, revoked: [Buffer.from('0a', 'hex')] }))
    expect(crl.crlNumber).toBe(42n)
    expect(crl.revokedSerials.has('0A')).toBe(true)
  })

  it('gives the scope of a partitioned CRL (its Issuing Distribution Point), empty without one', () => {
    const a = parseCrl(makeCrl(ca, { issuingDistributionPoint: 'http://crl.example/part-a.crl' }))
    const b = parseCrl(makeCrl(ca, { issuingDistributionPoint: 'http://crl.example/part-b.crl' }))
    expect(parseCrl(makeCrl(ca)).scope).toBe('')
    expect(a.scope).not.toBe('')
    expect(a.scope).not.toBe(b.scope)
  })

  it('marks a delta CRL, and only a delta CRL', () => {
    expect(parseCrl(makeCrl(ca, { crlNumber: 8, deltaOf: 7 })).delta).toBe(true)
    expect(parseCrl(makeCrl(ca, { crlNumber: 8 })).delta).toBe(false)
  })
})

const at = (days: number) => new Date(NOW + days * DAY)
const key = (crlNumber: bigint | undefined, thisUpdateDays: number): CrlOrderKey => ({
  crlNumber,
  thisUpdate: at(thisUpdateDays),
})

describe('compareCrls(candidate, current)', () => {
  it.each([
    { name: 'a higher number', candidate: key(5n, 0), current: key(4n, 0), want: 'newer' },
    { name: 'a lower number', candidate: key(3n, 0), current: key(4n, 0), want: 'older' },
    { name: 'the same number', candidate: key(4n, 0), current: key(4n, 0), want: 'same' },
    // The number wins over the dates: a CA that re-signs an old CRL with a later date is older.
    {
      name: 'a lower number with a later thisUpdate',
      candidate: key(3n, 2),
      current: key(4n, 0),
      want: 'older',
    },
    {
      name: 'a higher number with an earlier thisUpdate',
      candidate: key(5n, -2),
      current: key(4n, 0),
      want: 'newer',
    },
    { name: 'the same number, other dates', candidate: key(4n, 1), current: key(4n, 0), want: 'same' },
    { name: 'huge numbers', candidate: key(2n ** 150n + 1n, 0), current: key(2n ** 150n, 0), want: 'newer' },
    // Without a number on either side, thisUpdate decides.
    {
      name: 'no numbers, later thisUpdate',
      candidate: key(undefined, 1),
      current: key(undefined, 0),
      want: 'newer',
    },
    {
      name: 'no numbers, earlier thisUpdate',
      candidate: key(undefined, -1),
      current: key(undefined, 0),
      want: 'older',
    },
    {
      name: 'no numbers, same thisUpdate',
      candidate: key(undefined, 0),
      current: key(undefined, 0),
      want: 'same',
    },
    {
      name: 'a number only on the candidate',
      candidate: key(9n, -1),
      current: key(undefined, 0),
      want: 'older',
    },
    {
      name: 'a number only on the current',
      candidate: key(undefined, 1),
      current: key(9n, 0),
      want: 'newer',
    },
  ] as const)('$name: $want', ({ candidate, current, want }) => {
    expect(compareCrls(candidate, current)).toBe(want)
  })
})

describe('newestCrl', () => {
  it('picks the newest by compareCrls, whatever the order', () => {
    const list = [key(2n, 0), key(7n, -3), key(5n, 1)]
    expect(newestCrl(list)).toBe(list[1])
    expect(newestCrl([...list].reverse())).toBe(list[1])
  })

  it('gives undefined for no CRLs', () => {
    expect(newestCrl([])).toBeUndefined()
  })
})

describe('describeCrl', () => {
  it('names the number and thisUpdate', () => {
    expect(describeCrl(key(7n, 0))).toBe(`CRL number 7, thisUpdate ${at(0).toISOString()}`)
    expect(describeCrl(key(undefined, 0))).toBe(`no CRL number, thisUpdate ${at(0).toISOString()}`)
  })
})

describe('crlDistributionPointUrls', () => {
  it('gives the http and https URLs, in order, without LDAP ones', () => {
    const sub = makeCa('DP Sub CA', ca, {
      crlDistributionPoints: [
        'http://crl.example/root.crl',
        'ldap://dir.example/cn=root',
        'https://crl2.example/r.crl',
      ],
    })
    expect(crlDistributionPointUrls(sub.der)).toEqual([
      'http://crl.example/root.crl',
      'https://crl2.example/r.crl',
    ])
  })

  it('gives nothing for a certificate without the extension', () => {
    expect(crlDistributionPointUrls(ca.der)).toEqual([])
  })
})

describe('crlRollbacks: a reload may not replace the CRL in force with an older one', () => {
  const other = makeCa('Other Order CA')
  const crl = (options: { crlNumber?: bigint | null; thisUpdateDays?: number; of?: typeof ca } = {}) =>
    makeCrl(options.of ?? ca, {
      crlNumber: options.crlNumber === undefined ? 1n : options.crlNumber,
      thisUpdate: at(options.thisUpdateDays ?? -1),
      nextUpdate: at(7),
    })
  const trust = (crls: Buffer[], otherCrls: Buffer[] = [crl({ of: other })], enabled = true) =>
    trustOf([caEntry(ca, crls), caEntry(other, otherCrls)], enabled)

  it.each([
    {
      name: 'a lower CRL number',
      before: [crl({ crlNumber: 5n })],
      after: [crl({ crlNumber: 4n })],
      refused: true,
    },
    {
      name: 'a higher CRL number',
      before: [crl({ crlNumber: 5n })],
      after: [crl({ crlNumber: 6n })],
      refused: false,
    },
    {
      name: 'the same CRL',
      before: [crl({ crlNumber: 5n })],
      after: [crl({ crlNumber: 5n })],
      refused: false,
    },
    {
      name: 'no numbers, an earlier thisUpdate',
      before: [crl({ crlNumber: null, thisUpdateDays: -1 })],
      after: [crl({ crlNumber: null, thisUpdateDays: -2 })],
      refused: true,
    },
    {
      name: 'no numbers, a later thisUpdate',
      before: [crl({ crlNumber: null, thisUpdateDays: -2 })],
      after: [crl({ crlNumber: null, thisUpdateDays: -1 })],
      refused: false,
    },
    {
      // The newest of several is in force: keeping it next to an old one changes nothing.
      name: 'an older CRL added next to the one in force',
      before: [crl({ crlNumber: 5n })],
      after: [crl({ crlNumber: 2n }), crl({ crlNumber: 5n })],
      refused: false,
    },
    {
      name: 'the newest of two removed, the older kept',
      before: [crl({ crlNumber: 2n }), crl({ crlNumber: 5n })],
      after: [crl({ crlNumber: 2n })],
      refused: true,
    },
  ])('$name: refused $refused', ({ before, after, refused }) => {
    const problems = crlRollbacks(trust(before), trust(after))
    expect(problems.length > 0).toBe(refused)
  })

  describe('a CA that partitions its CRLs (Issuing Distribution Point): each scope on its own', () => {
    const part = (scope: 'a' | 'b', crlNumber: number) =>
      makeCrl(ca, {
        crlNumber,
        thisUpdate: at(-1),
        nextUpdate: at(7),
        issuingDistributionPoint: `http://crl.example/part-${scope}.crl`,
      })

    it('refuses one scope going back, though another scope holds a higher number', () => {
      expect(
        crlRollbacks(trust([part('a', 5), part('b', 9)]), trust([part('a', 4), part('b', 9)])),
      ).toHaveLength(1)
    })

    it('does not compare the numbers of different scopes', () => {
      expect(crlRollbacks(trust([part('a', 9), part('b', 2)]), trust([part('a', 9), part('b', 3)]))).toEqual(
        [],
      )
      expect(crlRollbacks(trust([part('a', 9)]), trust([part('a', 9), part('b', 1)]))).toEqual([])
    })
  })

  it('names the CA and both CRL numbers and dates', () => {
    const [problem] = crlRollbacks(trust([crl({ crlNumber: 5n })]), trust([crl({ crlNumber: 4n })]))
    expect(problem).toContain('CN=Order Test CA')
    expect(problem).toContain(`from CRL number 5, thisUpdate ${at(-1).toISOString()}`)
    expect(problem).toContain(`to the older CRL number 4, thisUpdate ${at(-1).toISOString()}`)
  })

  it('judges each CA on its own', () => {
    const before = trust([crl({ crlNumber: 5n })], [crl({ of: other, crlNumber: 9n })])
    const after = trust([crl({ crlNumber: 6n })], [crl({ of: other, crlNumber: 8n })])
    const problems = crlRollbacks(before, after)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('CN=Other Order CA')
  })

  it('has nothing to compare for a CA new to the bundle', () => {
    const before = trustOf([caEntry(other, [crl({ of: other })])], true)
    expect(crlRollbacks(before, trust([crl({ crlNumber: 1n })]))).toEqual([])
  })

  it('matches CAs by certificate, not by name', () => {
    const sameName = makeCa('Order Test CA')
    const before = trustOf([caEntry(sameName, [makeCrl(sameName, { crlNumber: 9 })])], true)
    expect(crlRollbacks(before, trust([crl({ crlNumber: 1n })]))).toEqual([])
  })

  it('leaves turning CRL checking off to the widening guard', () => {
    expect(crlRollbacks(trust([crl({ crlNumber: 5n })]), trust([crl({ crlNumber: 4n })], [], false))).toEqual(
      [],
    )
  })
})
