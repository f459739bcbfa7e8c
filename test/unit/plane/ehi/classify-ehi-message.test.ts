/**
 * The class decides the deadline and what the gateway may answer without the host: a message
 * wrongly classed as an acknowledgement could be acknowledged-0 instead of decided, and a
 * non-decision classed as a decision could get a synthesized decline (a follow-up Thredd decided
 * itself, declined and acknowledged by the gateway, is never resent and a late host approval is
 * never reversed). The tables follow docs/ehi-handling.md: MTID / Txn_Type, only modes 1, 2 and
 * 4 decide, and an authorisation decides only on a first attempt Thredd has not decided itself.
 */
import { describe, expect, it } from 'vitest'
import {
  AUTHORISATION_TYPES,
  authorisationRole,
  CLEARING_TYPES,
  classifyEhiMessage,
  modeFor,
  threddDecided,
  VISA_CLEARING_MTIDS,
  type EhiMode,
} from '../../../../src/plane/ehi/classify-ehi-message.ts'
import type { EhiFields, EhiMessage, MessageClass } from '../../../../src/plane/ehi/ehi-message.ts'

/** A first attempt that Thredd has not decided: what a decision request carries. */
const FIRST: EhiFields = { SendingAttemptCount: '0', Authorised_by_GPS: 'N', Proc_Code: '000000' }

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
    '$MTID/$Txn_Type ($meaning), first attempt, in mode $mode is $cls',
    ({ MTID, Txn_Type, mode, cls }) => {
      expect(classifyEhiMessage(message({ ...FIRST, MTID, Txn_Type }), mode)).toBe(cls)
    },
  )

  it('covers every authorisation type of the list', () => {
    // Derived from the list: a pair removed from AUTHORISATION_TYPES fails the table above.
    expect(decisions.map((d) => `${d.MTID}/${d.Txn_Type}`).sort()).toEqual([...AUTHORISATION_TYPES].sort())
  })

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
    // The Txn_Type alone decides: Thredd's own first-presentment example carries MTID 1420.
    ...[...CLEARING_TYPES].map((Txn_Type) => ({
      MTID: '1420',
      Txn_Type,
      meaning: 'clearing type, other MTID',
    })),
    ...[...CLEARING_TYPES].map((Txn_Type) => ({ MTID: '', Txn_Type, meaning: 'clearing type, no MTID' })),
    ...[...VISA_CLEARING_MTIDS].map((MTID) => ({ MTID, Txn_Type: 'Z', meaning: 'Visa code, unknown type' })),
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

  it('pins the clearing lists to the documented values', () => {
    // A value dropped from either list would turn clearing records into `other`.
    expect([...CLEARING_TYPES].sort()).toEqual(['C', 'E', 'H', 'K', 'N', 'P'])
    expect([...VISA_CLEARING_MTIDS].sort()).toEqual(['05', '06', '07', '25', '26', '27'])
  })

  it.each(MODES)('a GetTransaction carrying a CutoffID in mode %i is not a cutoff', (mode) => {
    expect(classifyEhiMessage(message({ CutoffID: '1', MTID: '0100', Txn_Type: 'A' }), mode)).not.toBe(
      'cutoff',
    )
  })
})

describe('classifyEhiMessage: authorisations Thredd decided or resends', () => {
  const AUTHS = [
    { MTID: '0100', Txn_Type: 'A' },
    { MTID: '0101', Txn_Type: 'A' },
    { MTID: '0200', Txn_Type: 'M' },
  ]
  /**
   * Processing EHI Transactions, "How Thredd responds to the External Host": after a timeout or
   * stand-in Thredd sends the same MTID with Authorised_by_GPS Y, SendingAttemptCount 1 or more in
   * modes 1 and 2, 0 in mode 4. In mode 2 Thredd decides first and asks the host (Y, attempt 0).
   */
  const rows: { name: string; fields: EhiFields; expected: Record<EhiMode, MessageClass> }[] = [
    {
      name: 'a first attempt Thredd has not decided',
      fields: FIRST,
      expected: { 1: 'decision', 2: 'decision', 3: 'advice', 4: 'decision' },
    },
    {
      name: "Thredd's decision on a first attempt (mode 2 asks the host; mode 4 STIP advice)",
      fields: { ...FIRST, Authorised_by_GPS: 'Y' },
      expected: { 1: 'advice', 2: 'decision', 3: 'advice', 4: 'advice' },
    },
    {
      name: 'the follow-up after a timeout (Authorised_by_GPS Y, attempt 1)',
      fields: { ...FIRST, Authorised_by_GPS: 'Y', SendingAttemptCount: '1' },
      expected: { 1: 'advice', 2: 'advice', 3: 'advice', 4: 'advice' },
    },
    {
      name: 'a resend of an undecided request (attempt 2)',
      fields: { ...FIRST, SendingAttemptCount: '2' },
      expected: { 1: 'advice', 2: 'advice', 3: 'advice', 4: 'advice' },
    },
    {
      name: 'no SendingAttemptCount (not proof of a first attempt)',
      fields: { Authorised_by_GPS: 'N' },
      expected: { 1: 'advice', 2: 'advice', 3: 'advice', 4: 'advice' },
    },
    {
      name: 'a SendingAttemptCount that is not a number',
      fields: { ...FIRST, SendingAttemptCount: 'x' },
      expected: { 1: 'advice', 2: 'advice', 3: 'advice', 4: 'advice' },
    },
    {
      name: 'no Authorised_by_GPS (not proof that Thredd has not decided)',
      fields: { SendingAttemptCount: '0' },
      expected: { 1: 'advice', 2: 'decision', 3: 'advice', 4: 'advice' },
    },
    {
      name: 'a token activation request (processing code 330000, Y)',
      fields: { ...FIRST, Proc_Code: '330000', Authorised_by_GPS: 'Y' },
      expected: { 1: 'advice', 2: 'advice', 3: 'advice', 4: 'advice' },
    },
    {
      name: 'a token activation request that says N',
      fields: { ...FIRST, Proc_Code: '331000' },
      expected: { 1: 'advice', 2: 'advice', 3: 'advice', 4: 'advice' },
    },
    {
      name: 'ASCII padding around the values',
      fields: { SendingAttemptCount: ' 0\t', Authorised_by_GPS: '\nN ', Proc_Code: ' 000000' },
      expected: { 1: 'decision', 2: 'decision', 3: 'advice', 4: 'decision' },
    },
  ]
  it.each(rows.flatMap((row) => AUTHS.flatMap((auth) => MODES.map((mode) => ({ ...row, ...auth, mode })))))(
    '$MTID/$Txn_Type, $name, in mode $mode',
    ({ MTID, Txn_Type, fields, expected, mode }) => {
      expect(classifyEhiMessage(message({ ...fields, MTID, Txn_Type }), mode)).toBe(expected[mode])
    },
  )

  it.each([
    { fields: { ...FIRST }, mode: 1, role: 'decision' },
    {
      fields: { ...FIRST, Authorised_by_GPS: 'Y', SendingAttemptCount: '1' },
      mode: 1,
      role: 'thredd_decided',
    },
    { fields: { ...FIRST, Authorised_by_GPS: 'Y' }, mode: 4, role: 'thredd_decided' },
    { fields: { ...FIRST, Authorised_by_GPS: 'Y', SendingAttemptCount: '1' }, mode: 2, role: 'resend' },
    { fields: { ...FIRST, SendingAttemptCount: '3' }, mode: 1, role: 'resend' },
    { fields: { ...FIRST, Proc_Code: '330000', Authorised_by_GPS: 'Y' }, mode: 4, role: 'token_activation' },
    { fields: { ...FIRST }, mode: 3, role: 'mode3' },
  ] as const)('authorisationRole is $role for $fields in mode $mode', ({ fields, mode, role }) => {
    expect(authorisationRole(message({ ...fields, MTID: '0100', Txn_Type: 'A' }), mode)).toBe(role)
  })

  it('gives no role to a message that is not an authorisation', () => {
    expect(authorisationRole(message({ ...FIRST, MTID: '0120', Txn_Type: 'J' }), 1)).toBeUndefined()
    expect(
      authorisationRole(message({ ...FIRST, MTID: '0100', Txn_Type: 'A' }, 'Cut_Off'), 1),
    ).toBeUndefined()
  })

  it.each([
    // U+00A0 is not padding: the MTID is not 0100 and the message is no authorisation.
    { MTID: '\u00a00100', cls: 'other' },
    { MTID: '0100\u00a0', cls: 'other' },
    { MTID: ' 0100 ', cls: 'decision' },
  ])('trims only ASCII whitespace from MTID $MTID', ({ MTID, cls }) => {
    expect(classifyEhiMessage(message({ ...FIRST, MTID, Txn_Type: 'A' }), 1)).toBe(cls)
  })
})

describe('threddDecided: the "host missed the decision" figure', () => {
  it.each([
    {
      name: 'a mode-1 follow-up',
      fields: { Authorised_by_GPS: 'Y', SendingAttemptCount: '1' },
      mode: 1,
      counted: true,
    },
    {
      name: 'a mode-4 STIP advice',
      fields: { Authorised_by_GPS: 'Y', SendingAttemptCount: '0' },
      mode: 4,
      counted: true,
    },
    {
      name: 'a mode-2 follow-up',
      fields: { Authorised_by_GPS: 'Y', SendingAttemptCount: '1' },
      mode: 2,
      counted: true,
    },
    {
      name: "mode 2's first attempt (Thredd decides first by design)",
      fields: { Authorised_by_GPS: 'Y', SendingAttemptCount: '0' },
      mode: 2,
      counted: false,
    },
    {
      name: 'a mode-3 advice',
      fields: { Authorised_by_GPS: 'Y', SendingAttemptCount: '0' },
      mode: 3,
      counted: false,
    },
    {
      name: 'a token activation',
      fields: { Authorised_by_GPS: 'Y', SendingAttemptCount: '0', Proc_Code: '330000' },
      mode: 1,
      counted: false,
    },
    {
      name: 'a first attempt for the host',
      fields: { Authorised_by_GPS: 'N', SendingAttemptCount: '0' },
      mode: 1,
      counted: false,
    },
  ] as const)('$name: $counted', ({ fields, mode, counted }) => {
    expect(threddDecided(message({ ...fields, MTID: '0100', Txn_Type: 'A' }), mode)).toBe(counted)
  })

  it('counts any other message Thredd marks as its own decision, in modes 1, 2 and 4', () => {
    expect(threddDecided(message({ MTID: '0400', Txn_Type: 'D', Authorised_by_GPS: 'Y' }), 4)).toBe(true)
    expect(threddDecided(message({ CutoffID: '1', Authorised_by_GPS: 'Y' }, 'Cut_Off'), 1)).toBe(false)
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
