/**
 * The conformance table of docs/ehi-handling.md as data: each message kind Thredd documents, the
 * class the gateway gives it in each EHI mode, and what Thredd gets when the host is down. One
 * test runs every row through the gateway (test/integration/ehi-conformance.test.ts) and another
 * checks that the document's table says the same (test/docs/ehi-handling.test.ts).
 */
import type { EhiMode } from '../../src/plane/ehi/classify-ehi-message.ts'
import type { MessageClass } from '../../src/plane/ehi/ehi-message.ts'
import type { Scenario } from '../../src/tools/messages/synthetic-messages.ts'

export const MODES: readonly EhiMode[] = [1, 2, 3, 4]

export interface ConformanceRow {
  /** As the document's first column says it. */
  kind: string
  /** The fixture the message is built from. */
  scenario: Scenario
  /** MTID/Txn_Type pairs of this kind (each is sent), written as the document writes them. */
  pairs: readonly string[]
  /** Fields as Thredd sends this kind in each mode (besides MTID and Txn_Type). */
  fields: (mode: EhiMode) => Record<string, string>
  classes: Readonly<Record<EhiMode, MessageClass>>
}

/** An authorisation as Thredd first sends it: Thredd has decided first in modes 2 and 3. */
const firstAttempt = (mode: EhiMode) => ({
  SendingAttemptCount: '0',
  Authorised_by_GPS: mode === 2 || mode === 3 ? 'Y' : 'N',
})
const same = (cls: MessageClass): Record<EhiMode, MessageClass> => ({ 1: cls, 2: cls, 3: cls, 4: cls })

export const CONFORMANCE: readonly ConformanceRow[] = [
  {
    kind: 'Authorisation request, first attempt',
    scenario: 'auth',
    pairs: ['0100/A', '0101/A'],
    fields: firstAttempt,
    classes: { 1: 'decision', 2: 'decision', 3: 'advice', 4: 'decision' },
  },
  {
    kind: 'Online financial request (SMS), first attempt',
    scenario: 'auth_sms',
    pairs: ['0200/M'],
    fields: firstAttempt,
    classes: { 1: 'decision', 2: 'decision', 3: 'advice', 4: 'decision' },
  },
  {
    kind: 'Follow-up after Thredd decided (timeout, STIP, its own checks)',
    scenario: 'auth_followup',
    pairs: ['0100/A', '0200/M'],
    fields: (mode) => ({
      Authorised_by_GPS: 'Y',
      SendingAttemptCount: mode === 4 ? '0' : '1',
      Txn_Stat_Code: mode === 1 ? 'I' : 'A',
    }),
    classes: same('advice'),
  },
  {
    kind: 'Resend of an authorisation',
    scenario: 'auth',
    pairs: ['0100/A'],
    fields: (mode) => ({ ...firstAttempt(mode), SendingAttemptCount: '2' }),
    classes: same('advice'),
  },
  {
    kind: 'Token activation request (processing code 33xxxx)',
    scenario: 'token_activation',
    pairs: ['0100/A'],
    fields: () => ({ Proc_Code: '330000', Authorised_by_GPS: 'Y', SendingAttemptCount: '0' }),
    classes: same('advice'),
  },
  {
    kind: 'Authorisation reversal, reversal advice, online financial reversal',
    scenario: 'reversal',
    pairs: ['0400/D', '0420/D', '0420/V'],
    fields: () => ({}),
    classes: same('reversal'),
  },
  {
    kind: 'Automated fuel dispenser reversal',
    scenario: 'afd_reversal',
    pairs: ['0120/D'],
    fields: () => ({}),
    classes: same('reversal'),
  },
  {
    kind: 'Authorisation advice, online financial advice',
    scenario: 'advice',
    pairs: ['0120/J', '0220/Q'],
    fields: () => ({}),
    classes: same('advice'),
  },
  {
    kind: 'Presentment, second presentment, financial reversal, chargeback, chargeback reversal',
    scenario: 'presentment',
    pairs: ['1240/P', '1240/N', '1240/E', '1240/C', '1240/H', '1240/K', '1420/P'],
    fields: () => ({}),
    classes: same('financial'),
  },
  {
    kind: 'Visa clearing record (Base II code in MTID)',
    scenario: 'visa_presentment',
    pairs: ['05/P', '06/P', '07/P', '25/E', '26/E', '27/E'],
    fields: () => ({}),
    classes: same('financial'),
  },
  {
    kind: 'Dummy authorisation advice of an offline transaction',
    scenario: 'presentment',
    pairs: ['1240/A'],
    fields: () => ({}),
    classes: same('financial'),
  },
  {
    kind: 'Load, unload, payment, balance adjustment, expiry, fee',
    scenario: 'load',
    pairs: ['/L', '/U', '/G', '/B', '/Y', '/F'],
    fields: () => ({}),
    classes: same('other'),
  },
  {
    kind: 'Cut_Off (XML and JSON)',
    scenario: 'cutoff',
    pairs: ['Cut_Off'],
    fields: () => ({}),
    classes: same('cutoff'),
  },
]

/** The answer Thredd gets from the gateway when the host is down, by class (default policy). */
export const HOST_DOWN_ANSWER: Readonly<Record<MessageClass, string>> = {
  decision: '502 `host_unreachable` (504 `host_timeout` when slow), no EHI body',
  reversal: '200, `Responsestatus` 96, `Acknowledgement` 0',
  advice: '200, `Acknowledgement` 0',
  financial: '200, `Acknowledgement` 0',
  other: '200, `Acknowledgement` 0',
  cutoff: '200, `Cut_OffResult` 0 (JSON: `{"Acknowledgement":"0"}`), logged as an error',
}

export const CONFORMANCE_TEST = 'test/integration/ehi-conformance.test.ts'

/** What Thredd gets when the host is down or slow, by class, as the document's table says it. */
const WHEN_DOWN: Readonly<Record<MessageClass, string>> = {
  decision:
    "fast `502`/`504`, no EHI body: Thredd applies the mode's default and sends its follow-up (opt-in, mode 1 only: `Responsestatus` 91, `Acknowledgement` 1)",
  reversal: '`Responsestatus` 96, `Acknowledgement` 0: Thredd resends',
  advice: '`Acknowledgement` 0: Thredd resends',
  financial: '`Acknowledgement` 0: Thredd resends',
  other: '`Acknowledgement` 0: Thredd resends',
  cutoff: '`Cut_OffResult` 0 (JSON `{"Acknowledgement":"0"}`), logged as an error: Thredd does not resend',
}

/** The document's table row for a kind: the one docs/ehi-handling.md must carry. */
export function conformanceRow(row: ConformanceRow): string {
  const byClass = new Map<MessageClass, EhiMode[]>()
  for (const mode of MODES) byClass.set(row.classes[mode], [...(byClass.get(row.classes[mode]) ?? []), mode])
  const down =
    byClass.size === 1
      ? WHEN_DOWN[row.classes[1]]
      : [...byClass]
          .map(([cls, modes]) => `mode${modes.length > 1 ? 's' : ''} ${modes.join(', ')}: ${WHEN_DOWN[cls]}`)
          .join('; ')
  const pairs = row.pairs.map((p) => `\`${p}\``).join(', ')
  const classes = MODES.map((mode) => `\`${row.classes[mode]}\``).join(' | ')
  return `| ${row.kind} | ${pairs} | ${classes} | the bytes as sent, \`x-ehi-class\` of its mode | ${down} | \`conformance: ${row.kind}\` |`
}
