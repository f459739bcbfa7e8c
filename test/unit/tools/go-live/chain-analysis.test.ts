/** How `check` and `verify-config` see a server chain: order, completeness, each depth. */
import { describe, expect, it } from 'vitest'
import { analyseChain } from '../../../../src/tools/go-live/rules/chain-analysis.ts'
import { DAY, days, issue, makeCa, NOW } from '../../../support/unit-certs.ts'

const now = new Date(NOW)
const root = makeCa('Chain Root')
const intermediate = makeCa('Chain Issuing', root, { ca: { pathLength: 0 } })
const leafOf = (signer = intermediate, extra = {}) =>
  issue({
    subject: [{ type: 'CN', value: 'ehi.example.com' }],
    signer,
    extKeyUsage: ['serverAuth'],
    ...extra,
  })
const leaf = leafOf()

describe('analyseChain', () => {
  it('leaf + intermediate, root trusted: complete, verify return:1 at every depth', () => {
    const a = analyseChain([leaf.cert, intermediate.cert], [root.cert], now)
    expect(a).toMatchObject({ inOrder: true, completeness: 'complete', rootSent: false })
    expect(a.anchor?.fingerprint256).toBe(root.cert.fingerprint256)
    expect(a.depths.map((d) => [d.depth, d.ok, d.from])).toEqual([
      [0, true, 'chain'],
      [1, true, 'chain'],
      [2, true, 'trust anchor'],
    ])
  })

  it('leaf only: the intermediate is missing and depth 0 cannot find its issuer', () => {
    const a = analyseChain([leaf.cert], [root.cert], now)
    expect(a.completeness).toBe('leaf-only')
    expect(a.depths).toEqual([
      expect.objectContaining({ depth: 0, ok: false, error: 'unable to get local issuer certificate' }),
    ])
  })

  it('a leaf issued directly by a trusted root is complete on its own', () => {
    const direct = leafOf(root)
    expect(analyseChain([direct.cert], [root.cert], now).completeness).toBe('complete')
  })

  it('wrong order is reported, while the path still verifies as OpenSSL would build it', () => {
    const a = analyseChain([intermediate.cert, leaf.cert], [root.cert], now)
    expect(a.inOrder).toBe(false)
    expect(a.orderProblems[0]).toContain('#1')
  })

  it('an untrusted root: incomplete, error at the top', () => {
    const other = makeCa('Other Root')
    const a = analyseChain([leaf.cert, intermediate.cert], [other.cert], now)
    expect(a.completeness).toBe('incomplete')
    expect(a.depths.at(-1)).toMatchObject({
      depth: 1,
      ok: false,
      error: 'unable to get local issuer certificate',
    })
  })

  it('a sent root is noted, and trusted only when it is an anchor', () => {
    expect(analyseChain([leaf.cert, intermediate.cert, root.cert], [root.cert], now)).toMatchObject({
      completeness: 'complete',
    })
    const untrusted = analyseChain([leaf.cert, intermediate.cert, root.cert], [], now)
    expect(untrusted.rootSent).toBe(true)
    expect(untrusted.depths.at(-1)).toMatchObject({
      ok: false,
      error: 'self-signed certificate in certificate chain',
    })
  })

  it('an expired certificate fails at its depth', () => {
    const expired = leafOf(intermediate, {
      notBefore: new Date(NOW - 10 * DAY),
      notAfter: new Date(NOW - DAY),
    })
    const a = analyseChain([expired.cert, intermediate.cert], [root.cert], now)
    expect(a.depths[0]).toMatchObject({ ok: false, error: 'certificate has expired' })
  })

  it('an issuer that is not a CA fails', () => {
    const notCa = issue({ subject: [{ type: 'CN', value: 'Not A CA' }], signer: root, ...days(-1, 100) })
    const child = leafOf(notCa)
    const a = analyseChain([child.cert, notCa.cert], [root.cert], now)
    expect(a.depths[1]).toMatchObject({ ok: false })
    expect(a.depths[1]!.error).toContain('not a CA')
  })
})
