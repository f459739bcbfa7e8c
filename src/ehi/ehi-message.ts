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
  // Cut_Off
  'CutoffID',
  'CutoffDate',
  'FirstTxn_ID',
  'LastTxn_ID',
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

export interface EhiMessage {
  format: EhiFormat
  root: EhiRoot
  /** Extracted fields as text (numbers keep their exact digits); MTID trimmed. */
  fields: EhiFields
}
