/**
 * Realistic synthetic EHI messages (no real data), built from the field lists in
 * ehi-domain.md §2-3, for the fixtures, the tests, the reference host and the simulator.
 * XML always carries every element (empty ones too, as Thredd sends them); JSON leaves blank
 * fields out and writes amounts and ids as numbers, as Thredd's JSON guide describes.
 */
import type { EhiFormat } from './ehi-message.ts'

export type Scenario =
  'auth' | 'auth_sms' | 'reversal' | 'advice' | 'presentment' | 'visa_presentment' | 'load' | 'cutoff'
export const SCENARIOS: readonly Scenario[] = [
  'auth',
  'auth_sms',
  'reversal',
  'advice',
  'presentment',
  'visa_presentment',
  'load',
  'cutoff',
]

export type Fields = ReadonlyArray<readonly [name: string, value: string]>

/** Written as JSON numbers (Thredd suggests BigInt in JavaScript for the long ids). */
const JSON_NUMBER_FIELDS = new Set([
  'TXn_ID',
  'Token',
  'Matching_Txn_ID',
  'SendingAttemptCount',
  'Txn_Amt',
  'Bill_Amt',
  'Settle_Amt',
  'ActBal',
  'Avl_Bal',
  'BlkAmt',
  'Fee_Fixed',
  'Fee_Rate',
  'CutoffID',
  'FirstTxn_ID',
  'LastTxn_ID',
])

const COMMON: Fields = [
  ['ActBal', '150.00'],
  ['Acquirer_id_DE32', '012345'],
  ['Additional_Amt_DE54', ''],
  ['Additional_Data_DE124', ''],
  ['Additional_Data_DE48', ''],
  ['Auth_Code_DE38', ''],
  ['Authorised_by_GPS', 'N'],
  ['Avl_Bal', '150.00'],
  ['Bill_Amt', '-12.50'],
  ['Bill_Ccy', '826'],
  ['BlkAmt', '0.00'],
  ['CVV2', ''],
  ['Cust_Ref', ''],
  ['EHIVersion', '5.2'],
  ['Expiry_Date', ''],
  ['FX_Pad', '0.00'],
  ['Fee_Fixed', '0.00'],
  ['Fee_Rate', '0.00'],
  ['GPS_POS_Capability', '000000000000'],
  ['GPS_POS_Data', '0000000000000000'],
  ['ICC_System_Related_Data_DE55', ''],
  ['InstCode', 'SYN'],
  ['MCC_Code', '5411'],
  ['MCC_Desc', 'Grocery Stores, Supermarkets'],
  ['Merch_ID_DE42', 'SYNTHMERCH00001'],
  ['Merch_Name_DE43', 'SYNTHETIC GROCER      LONDON       GB'],
  ['Misc_TLV_Data', ''],
  ['PAN_Sequence_Number', ''],
  ['POS_Data_DE22', '051'],
  ['POS_Termnl_DE41', 'SYNT0001'],
  ['POS_Time_DE12', '103000'],
  ['POS_Time_DE7', '1127103000'],
  ['PaymentTokenPan', ''],
  ['ProductID', '9001'],
  ['Proc_Code', '000000'],
  ['Resp_Code_DE39', '00'],
  ['Ret_Ref_No_DE37', '733110000001'],
  ['SendingAttemptCount', '0'],
  ['Settle_Amt', '12.50'],
  ['Settle_Ccy', '826'],
  ['Status_Code', '00'],
  ['SubBIN', '99999901'],
  ['TXn_ID', '4000000001'],
  ['Token', '900000001'],
  ['Trans_link', '733110000001'],
  ['Txn_Amt', '12.50'],
  ['Txn_CCy', '826'],
  ['Txn_Ctry', 'GBR'],
  ['Txn_Desc', 'SYNTHETIC GROCER'],
  ['Txn_GPS_Date', '2026-11-27 10:30:00.000'],
  ['Txn_Stat_Code', 'A'],
  ['Traceid_Message', '00000000-0000-4000-8000-000000000002'],
  ['traceid_lifecycle', '00000000-0000-4000-8000-000000000001'],
]

/** Extra fields of a first presentment: a clearing record is bigger (about 5-6 KB in XML). */
const CLEARING: Fields = [
  ['Acquirer_Reference_Data_031', '74000000000000000000001'],
  ['Clearing_Process_Date', '2026-11-28'],
  ['Interchange_Fee', '0.02'],
  ['Interchange_Fee_Ccy', '826'],
  ['Matching_Txn_ID', '4000000001'],
  ['Network_Transaction_ID', '000000000000001'],
  ['Record_Data_DE120', ''],
  ['Settlement_Date', '2026-11-28'],
  ...Array.from(
    { length: 60 },
    (_, i) => [`Clearing_Data_${String(i + 1).padStart(3, '0')}`, 'SYNTHETIC CLEARING DETAIL'] as const,
  ),
]

/** Cut_Off counters. Illustrative names: take the real ones from Thredd's Cut_Off WSDL. */
const CUTOFF: Fields = [
  ['CutoffID', '7000000001'],
  ['ProductID', '9001'],
  ['CutoffDate', '2026-11-27'],
  ['FirstTxn_ID', '4000000001'],
  ['LastTxn_ID', '4000009999'],
  ['Auth_Ack_Count', '9876'],
  ['Auth_NotAck_Count', '0'],
  ['Financial_Ack_Count', '4321'],
  ['Financial_NotAck_Count', '2'],
  ['LoadUnload_Ack_Count', '12'],
  ['LoadUnload_NotAck_Count', '0'],
  ['BalAdjExpiry_Ack_Count', '3'],
  ['BalAdjExpiry_NotAck_Count', '0'],
]

const SCENARIO_FIELDS: Record<Scenario, { root: 'GetTransaction' | 'Cut_Off'; fields: Fields }> = {
  auth: { root: 'GetTransaction', fields: with_(COMMON, { MTID: '0100', Txn_Type: 'A' }) },
  auth_sms: {
    root: 'GetTransaction',
    fields: with_(COMMON, { MTID: '0200', Txn_Type: 'M', Proc_Code: '000000' }),
  },
  reversal: {
    root: 'GetTransaction',
    fields: with_(COMMON, {
      MTID: '0400',
      Txn_Type: 'D',
      Bill_Amt: '12.50',
      TXn_ID: '4000000002',
      Txn_Stat_Code: 'A',
    }),
  },
  advice: {
    root: 'GetTransaction',
    fields: with_(COMMON, {
      MTID: '0120',
      Txn_Type: 'J',
      Authorised_by_GPS: 'Y',
      SendingAttemptCount: '1',
      TXn_ID: '4000000003',
    }),
  },
  presentment: {
    root: 'GetTransaction',
    fields: with_([...COMMON, ...CLEARING], {
      MTID: '1240',
      Txn_Type: 'P',
      TXn_ID: '4000000004',
      Txn_Stat_Code: 'S',
    }),
  },
  visa_presentment: {
    root: 'GetTransaction',
    fields: with_([...COMMON, ...CLEARING], {
      MTID: '05  ',
      Txn_Type: 'P',
      TXn_ID: '4000000005',
      Txn_Stat_Code: 'S',
    }),
  },
  load: {
    root: 'GetTransaction',
    fields: with_(COMMON, {
      MTID: '',
      Txn_Type: 'L',
      MCC_Code: '',
      Bill_Amt: '50.00',
      TXn_ID: '4000000006',
      Merch_Name_DE43: '',
    }),
  },
  cutoff: { root: 'Cut_Off', fields: CUTOFF },
}

/** The scenario's fields with overrides applied (new names are added, sorted as Thredd sends them). */
export function scenarioFields(scenario: Scenario, overrides: Record<string, string> = {}): Fields {
  return with_(SCENARIO_FIELDS[scenario].fields, overrides)
}

export function buildMessage(
  scenario: Scenario,
  format: EhiFormat,
  overrides: Record<string, string> = {},
): string {
  const { root } = SCENARIO_FIELDS[scenario]
  const fields = scenarioFields(scenario, overrides)
  return format === 'xml' ? toXml(root, fields) : toJson(fields)
}

export function contentTypeOf(format: EhiFormat): string {
  return format === 'xml' ? 'text/xml; charset=utf-8' : 'application/json'
}

/** The soapaction Thredd sends with each root (the value varies by EHI version; never routed on). */
export function soapActionOf(scenario: Scenario): string {
  return SCENARIO_FIELDS[scenario].root === 'Cut_Off'
    ? '"http://tempuri.org/Cut_Off"'
    : '"http://tempuri.org/IEndpointVersion52/GetTransaction"'
}

function toXml(root: string, fields: Fields): string {
  const body = fields.map(([name, value]) => `      <${name}>${escapeXml(value)}</${name}>`).join('\n')
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">',
    '  <s:Body>',
    `    <${root} xmlns="http://tempuri.org/">`,
    body,
    `    </${root}>`,
    '  </s:Body>',
    '</s:Envelope>',
    '',
  ].join('\n')
}

function toJson(fields: Fields): string {
  const parts: string[] = []
  for (const [name, value] of fields) {
    if (value === '') continue
    const literal =
      JSON_NUMBER_FIELDS.has(name) && /^-?\d+(\.\d+)?$/.test(value) ? value : JSON.stringify(value)
    parts.push(`${JSON.stringify(name)}:${literal}`)
  }
  return `{${parts.join(',')}}`
}

function with_(fields: Fields, overrides: Record<string, string>): Fields {
  const out = new Map<string, string>(fields.map(([name, value]) => [name, value]))
  for (const [name, value] of Object.entries(overrides)) out.set(name, value)
  return [...out.entries()].sort(([a], [b]) => a.toLowerCase().localeCompare(b.toLowerCase()))
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
