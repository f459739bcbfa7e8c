/**
 * What the gateway reads from an EHI message. Only the allowlisted routing and audit fields are
 * ever extracted; everything else, including every sensitive field, stays inside the body bytes,
 * which are forwarded unchanged and never logged (ehi-domain.md, "Implications" §6 and §8).
 */

export type EhiFormat = 'xml' | 'json'
export type EhiRoot = 'GetTransaction' | 'Cut_Off'
export type MessageClass = 'decision' | 'reversal' | 'advice' | 'financial' | 'cutoff' | 'other'
export const MESSAGE_CLASSES: readonly MessageClass[] = [
  'decision',
  'reversal',
  'advice',
  'financial',
  'cutoff',
  'other',
]

/** The acknowledged and not-acknowledged counts a Cut_Off carries (XML names). */
export const CUT_OFF_COUNTERS = [
  'Auths_Acknowledged',
  'Auths_NotAcknowledged',
  'Financials_Acknowledged',
  'Financials_NotAcknowledged',
  'LoadsUnloads_Acknowledged',
  'LoadsUnloads_NotAcknowledged',
  'BalanceAdjustExpiry_Acknowledged',
  'BalanceAdjustExpiry_NotAcknowledged',
] as const

/** Fields the gateway extracts, logs and may send to the host as headers. */
export const AUDIT_FIELDS = [
  // identifiers
  'MTID',
  'Txn_Type',
  'TXn_ID',
  'SendingAttemptCount',
  'traceid_lifecycle',
  'Traceid_Message',
  'Traceid_Original',
  'ProductID',
  'InstCode',
  'SubBIN',
  'EHIVersion',
  // status
  'Authorised_by_GPS',
  'Txn_Stat_Code',
  'Status_Code',
  'Resp_Code_DE39',
  'Response_Source',
  'Response_Source_Why',
  'Message_Source',
  'Message_Why',
  // transaction, without amounts or merchant data
  'MCC_Code',
  'Txn_CCy',
  'Bill_Ccy',
  // The processing code: a token activation (33xxxx) needs only an acknowledgement.
  'Proc_Code',
  // Cut_Off (the XML names; JSON_CUT_OFF_NAMES maps the JSON ones onto them)
  'CutoffID',
  'CutoffDate',
  'FirstTxn_ID',
  'LastTxn_ID',
  ...CUT_OFF_COUNTERS,
] as const

/**
 * Extracted only to be logged as a keyed HMAC: a persistent card identifier (pseudonymous
 * personal data), never written in clear.
 */
export const HASHED_FIELDS = ['Token'] as const

/** Fields that must never leave the gateway in logs, errors or metrics (redaction list). */
export const SENSITIVE_FIELDS = [
  'CVV2',
  'PIN',
  'PIN_Enc_Algorithm',
  'PIN_Format',
  'PIN_Key_Index',
  'Expiry_Date',
  'PAN_Sequence_Number',
  'PaymentTokenPan',
  'TokenUniqueReference',
  'ICC_System_Related_Data_DE55',
  'Additional_Data_DE48',
  'Additional_Data_DE124',
  'Misc_TLV_Data',
  'Record_Data_DE120',
  'SenderData',
  'ReceiverData',
  'source_bank_account',
  'dest_bank_account',
  'PaymentToken_deviceTelNum',
  'PaymentToken_deviceIp',
  'PaymentToken_deviceId',
  'PaymentToken_activationCode',
  'PaymentToken_activationMethodData',
  'Cust_Ref',
] as const

export type AuditField = (typeof AUDIT_FIELDS)[number]
export type ExtractedField = AuditField | (typeof HASHED_FIELDS)[number]
export type EhiFields = Partial<Record<ExtractedField, string>>

export const EXTRACTED_FIELDS: ReadonlySet<string> = new Set<string>([...AUDIT_FIELDS, ...HASHED_FIELDS])

/**
 * The fields the gateway routes, classifies or picks the mode by. Each may occur once, as a
 * child of GetTransaction or Cut_Off and nowhere else in the envelope, whatever its namespace:
 * a host that searches descendants (XPath //MTID, ElementTree iter) would otherwise read another
 * one than the gateway did. Their values must be printable ASCII, compared after trimming ASCII
 * whitespace only.
 */
export const ROUTING_FIELDS = [
  'MTID',
  'Txn_Type',
  'TXn_ID',
  'SendingAttemptCount',
  'Authorised_by_GPS',
  'Proc_Code',
  'ProductID',
  'CutoffID',
] as const satisfies readonly ExtractedField[]
export const ROUTING_FIELD_SET: ReadonlySet<string> = new Set<string>(ROUTING_FIELDS)

/**
 * Thredd's JSON Cut_Off names its fields differently from the XML one (EHI JSON guide, "Cut-Off
 * Message Example"); the gateway reads them into the XML names, so the audit line, the host
 * headers and the mode lookup are the same for both formats.
 */
export const JSON_CUT_OFF_NAMES: Readonly<Record<string, ExtractedField>> = {
  CutOffId: 'CutoffID',
  ProductId: 'ProductID',
  CutOffDate: 'CutoffDate',
  FirstTransactionId: 'FirstTxn_ID',
  LastTransactionId: 'LastTxn_ID',
  AuthsAcknowledged: 'Auths_Acknowledged',
  AuthsNotAcknowledged: 'Auths_NotAcknowledged',
  FinancialsAcknowledged: 'Financials_Acknowledged',
  FinancialsNotAcknowledged: 'Financials_NotAcknowledged',
  LoadsUnloadsAcknowledged: 'LoadsUnloads_Acknowledged',
  LoadsUnloadsNotAcknowledged: 'LoadsUnloads_NotAcknowledged',
  BalanceAdjustExpiryAcknowledged: 'BalanceAdjustExpiry_Acknowledged',
  BalanceAdjustExpiryNotAcknowledged: 'BalanceAdjustExpiry_NotAcknowledged',
}

/** Only ASCII whitespace is trimmed: U+00A0 and friends are part of a value, not padding. */
export function asciiTrim(value: string): string {
  return value.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '')
}

export interface EhiMessage {
  format: EhiFormat
  root: EhiRoot
  /** Extracted fields as text (numbers keep their exact digits); MTID trimmed. */
  fields: EhiFields
}
