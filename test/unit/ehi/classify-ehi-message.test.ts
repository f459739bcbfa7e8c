/**
 * The class decides the deadline and what the gateway may answer without the host: a message
 * wrongly classed as an acknowledgement could be acknowledged-0 instead of decided, and a
 * non-decision classed as a decision could get a synthesized decline. The table follows
 * ehi-domain.md §2 (MTID / Txn_Type) and §4 (only modes 1, 2 and 4 decide).
 */
import { describe, expect, it } from 'vitest'
import { classifyEhiMessage, modeFor, type EhiMode } from '../../../src/ehi/classify-ehi-message.ts'
import type { EhiFields, EhiMessage, MessageClass } from '../../../src/ehi/ehi-message.ts'

const MODES: readonly EhiMode[] = [1, 2, 3, 4]

function message(fields: EhiFields, root: EhiMessage['root'] = 'GetTransaction'): EhiMessage {
  return { format: 'xml', root, fields }
}

/** Every combination x every mode, with the class expected in that mode. */
function inEveryMode(
  rows: ReadonlyArray<{ MTID?: string; Txn_Type?: string; meaning: string }>,
  cls: (mode: EhiMode) => MessageClass,
) {
  return rows.flatMap((row) => MODES.map((mode) => ({ ...row, mode, cls: cls(mode) })))
}

describe('classifyEhiMessage', () => {
  const decisions = [
    { MTID: '0100', Txn_Type: 'A', meaning: 'authorisation request' },
    { MTID: '0101', Txn_Type: 'A', meaning: 'Visa repeat authorisation' },
    { MTID: '0200', Txn_Type: 'M', meaning: 'SMS online financial request' },
  ]
  // Mode 3 is a read-only feed: Thredd has already decided, so the request is an advice.
  it.each(inEveryMode(decisions, (mode) => (mode === 3 ? 'advice' : 'decision')))(
    '$MTID/$Txn_Type ($meaning) in mode $mode is $cls',
    ({ MTID, Txn_Type, mode, cls }) => {
      expect(classifyEhiMessage(message({ MTID, Txn_Type }), mode)).toBe(cls)
    },
  )

  const reversals = [
    { MTID: '0400', Txn_Type: 'D', meaning: 'authorisation reversal request' },
    { MTID: '0420', Txn_Type: 'D', meaning: 'authorisation reversal advice' },
    { MTID: '0420', Txn_Type: 'V', meaning: 'online financial reversal' },
    { MTID: '0120', Txn_Type: 'D', meaning: 'automated fuel dispenser reversal' },
  ]
  it.each(inEveryMode(reversals, () => 'reversal'))(
    '$MTID/$Txn_Type ($meaning) in mode $mode is $cls',
    ({ MTID, Txn_Type, mode, cls }) => {
      expect(classifyEhiMessage(message({ MTID, Txn_Type }), mode)).toBe(cls)
    },
  )

  const advices = [
    { MTID: '0120', Txn_Type: 'J', meaning: 'authorisation advice' },
    { MTID: '0220', Txn_Type: 'Q', meaning: 'online financial advice' },
  ]
  it.each(inEveryMode(advices, () => 'advice'))(
    '$MTID/$Txn_Type ($meaning) in mode $mode is $cls',
    ({ MTID, Txn_Type, mode, cls }) => {
      expect(classifyEhiMessage(message({ MTID, Txn_Type }), mode)).toBe(cls)
    },
  )

  const financials = [
    ...['P', 'N', 'E', 'C', 'H', 'K', 'A'].map((Txn_Type) => ({
      MTID: '1240',
      Txn_Type,
      meaning: 'Mastercard clearing record',
    })),
    // Visa Base II codes, as the parser leaves them (trailing spaces trimmed).
    ...['05', '06', '07'].map((MTID) => ({ MTID, Txn_Type: 'P', meaning: 'Visa first presentment' })),
    ...['25', '26', '27'].map((MTID) => ({ MTID, Txn_Type: 'E', meaning: 'Visa financial reversal' })),
    { MTID: '05', Txn_Type: 'A', meaning: 'Visa dummy authorisation advice' },
  ]
  it.each(inEveryMode(financials, () => 'financial'))(
    '$MTID/$Txn_Type ($meaning) in mode $mode is $cls',
    ({ MTID, Txn_Type, mode, cls }) => {
      expect(classifyEhiMessage(message({ MTID, Txn_Type }), mode)).toBe(cls)
    },
  )

  const others = [
    ...['L', 'U', 'G', 'B', 'Y', 'F'].map((Txn_Type) => ({
      MTID: '',
      Txn_Type,
      meaning: 'load, unload, payment, adjustment, expiry or fee',
    })),
    { Txn_Type: 'L', meaning: 'load without an MTID field (JSON leaves blanks out)' },
    { MTID: '0100', Txn_Type: 'D', meaning: 'unknown combination' },
    { MTID: '0200', Txn_Type: 'A', meaning: 'unknown combination' },
    { MTID: '0120', Txn_Type: 'Q', meaning: 'unknown combination' },
    { MTID: '0220', Txn_Type: 'J', meaning: 'unknown combination' },
    { MTID: '0400', Txn_Type: 'A', meaning: 'unknown combination' },
    { MTID: '0800', Txn_Type: '', meaning: 'network management' },
    { MTID: '0100', Txn_Type: 'a', meaning: 'lower-case type (values are case sensitive)' },
    { MTID: '100', Txn_Type: 'A', meaning: 'MTID without its leading zero' },
    { MTID: '9999', Txn_Type: 'Z', meaning: 'future message' },
    { meaning: 'no MTID and no Txn_Type' },
  ]
  it.each(inEveryMode(others, () => 'other'))(
    '$MTID/$Txn_Type ($meaning) in mode $mode is $cls',
    ({ MTID, Txn_Type, mode, cls }) => {
      const fields: EhiFields = {}
      if (MTID !== undefined) fields.MTID = MTID
      if (Txn_Type !== undefined) fields.Txn_Type = Txn_Type
      expect(classifyEhiMessage(message(fields), mode)).toBe(cls)
    },
  )

  it.each(
    MODES.flatMap((mode) =>
      [{ CutoffID: '7000000001' }, { MTID: '0100', Txn_Type: 'A' }, {}].map((fields) => ({ mode, fields })),
    ),
  )('a Cut_Off root in mode $mode is cutoff whatever its fields ($fields)', ({ mode, fields }) => {
    expect(classifyEhiMessage(message(fields, 'Cut_Off'), mode)).toBe('cutoff')
  })

  it.each(MODES)('a GetTransaction carrying a CutoffID in mode %i is not a cutoff', (mode) => {
    expect(classifyEhiMessage(message({ CutoffID: '1', MTID: '0100', Txn_Type: 'A' }), mode)).not.toBe(
      'cutoff',
    )
  })
})

describe('modeFor', () => {
  const modes = { defaultMode: 2 as EhiMode, productModes: { '9001': 1, '9003': 3, '9004': 4 } }

  it.each([
    { name: 'a configured ProductID', ProductID: '9001', mode: 1 },
    { name: 'another configured ProductID', ProductID: '9003', mode: 3 },
    { name: 'a ProductID with spaces around it', ProductID: ' 9004 ', mode: 4 },
    { name: 'an unknown ProductID', ProductID: '9999', mode: 2 },
    { name: 'an empty ProductID', ProductID: '', mode: 2 },
    { name: 'no ProductID', ProductID: undefined, mode: 2 },
  ])('gives $mode for $name', ({ ProductID, mode }) => {
    const fields: EhiFields = ProductID === undefined ? {} : { ProductID }
    expect(modeFor(message(fields), modes)).toBe(mode)
  })

  it('uses the default mode for a Cut_Off of an unconfigured product', () => {
    expect(modeFor(message({ ProductID: '1234', CutoffID: '1' }, 'Cut_Off'), modes)).toBe(2)
  })

  // The ProductID comes from the message; productModes is a plain object parsed from config, so
  // a ProductID naming an Object.prototype member must not be read as a mode.
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'gives the default mode for ProductID %s',
    (ProductID) => {
      expect(modeFor(message({ ProductID }), modes)).toBe(2)
    },
  )
})
