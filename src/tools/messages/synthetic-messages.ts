/**
 * Synthetic EHI messages in the shape of Thredd's documented examples, for the fixtures
 * (test/fixtures/ehi/, `npm run fixtures`), the tests, the bench, the reference host and the
 * simulator. The element names and their order are those of Thredd's example messages (the
 * source page of each scenario is in test/fixtures/ehi/README.md); every value is made up: no
 * real card, merchant, person or identifier.
 *
 * XML carries every element, empty ones as `<X />`, in Thredd's order: the original block
 * (mostly alphabetical), then the blocks each interface version appended. JSON leaves blank
 * fields out, puts the later fields first as Thredd's JSON examples do, and writes as numbers
 * what Thredd sends as numbers (amounts with their 4 decimals, TXn_ID, Token, ProductID,
 * SubBIN...). A Cut_Off in JSON uses Thredd's JSON names (CutOffId, ProductId...).
 */
import { CUT_OFF_COUNTERS, JSON_CUT_OFF_NAMES, type EhiFormat } from '../../plane/ehi/ehi-message.ts'

export type Scenario =
  | 'auth'
  | 'auth_visa'
  | 'auth_sms'
  | 'auth_followup'
  | 'stip_advice'
  | 'token_activation'
  | 'reversal'
  | 'afd_reversal'
  | 'advice'
  | 'presentment'
  | 'visa_presentment'
  | 'load'
  | 'balance_adjustment'
  | 'cutoff'
export const SCENARIOS: readonly Scenario[] = [
  'auth',
  'auth_visa',
  'auth_sms',
  'auth_followup',
  'stip_advice',
  'token_activation',
  'reversal',
  'afd_reversal',
  'advice',
  'presentment',
  'visa_presentment',
  'load',
  'balance_adjustment',
  'cutoff',
]

export type Fields = ReadonlyArray<readonly [name: string, value: string]>

/**
 * The GetTransaction elements in the order of Thredd's Mastercard authorisation example, which
 * carries the fullest list, with EHIVersion where the 5.2 WSDL puts it and ClearingFileID where
 * the financial notification examples put it.
 */
const GET_TRANSACTION_ORDER = [
  // The original interface, as Thredd lists it.
  'Acquirer_id_DE32',
  'ActBal',
  'Additional_Amt_DE54',
  'Amt_Tran_Fee_DE28',
  'Auth_Code_DE38',
  'Avl_Bal',
  'Bill_Amt',
  'Bill_Ccy',
  'BlkAmt',
  'Cust_Ref',
  'FX_Pad',
  'Fee_Fixed',
  'Fee_Rate',
  'LoadSRC',
  'LoadType',
  'MCC_Code',
  'MCC_Desc',
  'MCC_Pad',
  'Merch_ID_DE42',
  'Merch_Name_DE43',
  'Note',
  'POS_Data_DE22',
  'POS_Data_DE61',
  'POS_Termnl_DE41',
  'POS_Time_DE12',
  'Proc_Code',
  'Resp_Code_DE39',
  'Ret_Ref_No_DE37',
  'Settle_Amt',
  'Settle_Ccy',
  'Status_Code',
  'Token',
  'Trans_link',
  'Txn_Amt',
  'Txn_CCy',
  'Txn_Ctry',
  'Txn_Desc',
  'Txn_GPS_Date',
  'TXn_ID',
  'Txn_Stat_Code',
  'TXN_Time_DE07',
  'Txn_Type',
  // Appended blocks, in the order each version added them.
  'Additional_Data_DE48',
  'Authorised_by_GPS',
  'AVS_Result',
  'CU_Group',
  'InstCode',
  'MTID',
  'ProductID',
  'Record_Data_DE120',
  'SubBIN',
  'TLogIDOrg',
  'VL_Group',
  'EHIVersion',
  'Dom_Fee_Fixed',
  'Non_Dom_Fee_Fixed',
  'Fx_Fee_Fixed',
  'Other_Fee_Amt',
  'Fx_Fee_Rate',
  'Dom_Fee_Rate',
  'Non_Dom_Fee_Rate',
  'Additional_Data_DE124',
  'CVV2',
  'Expiry_Date',
  'PAN_Sequence_Number',
  'PIN',
  'PIN_Enc_Algorithm',
  'PIN_Format',
  'PIN_Key_Index',
  'SendingAttemptCount',
  'source_bank_ctry',
  'source_bank_account_format',
  'source_bank_account',
  'dest_bank_ctry',
  'dest_bank_account_format',
  'dest_bank_account',
  'GPS_POS_Capability',
  'GPS_POS_Data',
  'Acquirer_Reference_Data_031',
  'Response_Source',
  'Response_Source_Why',
  'Message_Source',
  'Message_Why',
  'traceid_lifecycle',
  'Balance_Sequence',
  'Balance_Sequence_Exthost',
  'PaymentToken_id',
  'PaymentToken_creator',
  'PaymentToken_expdate',
  'PaymentToken_type',
  'PaymentToken_status',
  'PaymentToken_creatorStatus',
  'PaymentToken_wallet',
  'PaymentToken_deviceType',
  'PaymentToken_lang',
  'PaymentToken_deviceTelNum',
  'PaymentToken_deviceIp',
  'PaymentToken_deviceId',
  'PaymentToken_deviceName',
  'PaymentToken_activationCode',
  'PaymentToken_activationExpiry',
  'PaymentToken_activationMethodData',
  'PaymentToken_activationMethod',
  'ICC_System_Related_Data_DE55',
  'Merch_Name',
  'Merch_Street',
  'Merch_City',
  'Merch_Region',
  'Merch_Postcode',
  'Merch_Country',
  'Merch_Tel',
  'Merch_URL',
  'Merch_Name_Other',
  'Merch_Net_id',
  'Merch_Tax_id',
  'Merch_Contact',
  'auth_type',
  'auth_expdate_utc',
  'Matching_Txn_ID',
  'Reason_ID',
  'Dispute_Condition',
  'Network_Chargeback_Reference_Id',
  'Acquirer_Forwarder_ID',
  'Currency_Code_Fee',
  'Currency_Code_Fee_Settlement',
  'Interchange_Amount_Fee',
  'Interchange_Amount_Fee_Settlement',
  'Clearing_Process_Date',
  'Settlement_Date',
  'DCC_Indicator',
  'multi_part_txn',
  'multi_part_txn_final',
  'multi_part_number',
  'multi_part_count',
  'SettlementIndicator',
  'Network_TxnAmt_To_BillAmt_Rate',
  'Network_TxnAmt_To_BaseAmt_Rate',
  'Network_BaseAmt_To_BillAmt_Rate',
  'POS_Date_DE13',
  'Traceid_Message',
  'Traceid_Original',
  'Network_Currency_Conversion_Date',
  'Mastercard_AdviceReasonCode_DE60',
  'Network_Original_Data_Elements_DE90',
  'Visa_ResponseInfo_DE44',
  'Visa_STIP_Reason_Code',
  'Network_Issuer_Settle_ID',
  'Network_Replacement_Amounts_DE95',
  'Visa_POS_Data_DE60',
  'Network_Transaction_ID',
  'Misc_TLV_Data',
  'ClearingFileID',
  'Acquirer_Country',
  'Network_Fraud_Data',
  'SenderData',
  'ReceiverData',
  'AuthenticationAmountUpper',
  'AuthenticationCurrency',
  'AuthenticationMerchantHash',
  'FxProviderCardholderRate',
  'SchemeTransactionIdentifier',
  'TokenUniqueReference',
] as const

/** The Cut_Off elements, in the order of Thredd's Cut_Off field table. */
const CUT_OFF_ORDER = [
  'CutoffID',
  'ProductID',
  'CutoffDate',
  'FirstTxn_ID',
  'LastTxn_ID',
  // Thredd's table lists the counters after the range, in the order the parser knows them.
  ...CUT_OFF_COUNTERS,
] as const

/**
 * JSON: Thredd's JSON examples put the fields of later versions first (in this order, those a
 * message carries), then the original block and the appended blocks, SendingAttemptCount last.
 */
const JSON_LEADING = [
  'ClearingFileID',
  'Acquirer_Country',
  'AuthenticationAmountUpper',
  'FxProviderCardholderRate',
  'Network_TxnAmt_To_BillAmt_Rate',
  'POS_Date_DE13',
  'Traceid_Message',
  'Traceid_Original',
  'Network_Currency_Conversion_Date',
  'Network_Issuer_Settle_ID',
  'Visa_POS_Data_DE60',
  'Visa_STIP_Reason_Code',
  'Network_Transaction_ID',
  'Acquirer_Forwarder_ID',
  'Currency_Code_Fee',
  'Currency_Code_Fee_Settlement',
  'Interchange_Amount_Fee',
  'Interchange_Amount_Fee_Settlement',
  'Clearing_Process_Date',
  'Settlement_Date',
  'DCC_Indicator',
  'multi_part_txn',
  'multi_part_txn_final',
  'multi_part_number',
  'multi_part_count',
  'SettlementIndicator',
  'auth_type',
  'auth_expdate_utc',
  'Matching_Txn_ID',
  'Reason_ID',
  'Merch_Name',
  'Merch_Street',
  'Merch_City',
  'Merch_Region',
  'Merch_Postcode',
  'Merch_Country',
  'Merch_Tel',
  'Merch_Tax_id',
  'GPS_POS_Capability',
  'GPS_POS_Data',
  'Acquirer_Reference_Data_031',
  'Response_Source',
  'Response_Source_Why',
  'Message_Source',
  'Message_Why',
  'traceid_lifecycle',
  'Balance_Sequence',
  'Balance_Sequence_Exthost',
  'PaymentToken_id',
  'PaymentToken_creator',
  'PaymentToken_type',
  'PaymentToken_status',
  'PaymentToken_wallet',
  'PaymentToken_activationMethod',
]

/** What Thredd's JSON examples write as numbers (JSON guide, data types; the examples). */
const JSON_NUMBER_FIELDS = new Set([
  'ActBal',
  'Avl_Bal',
  'Bill_Amt',
  'BlkAmt',
  'FX_Pad',
  'Fee_Fixed',
  'Fee_Rate',
  'MCC_Pad',
  'Settle_Amt',
  'Txn_Amt',
  'Token',
  'TXn_ID',
  'ProductID',
  'SubBIN',
  'TLogIDOrg',
  'Dom_Fee_Fixed',
  'Non_Dom_Fee_Fixed',
  'Fx_Fee_Fixed',
  'Other_Fee_Amt',
  'Fx_Fee_Rate',
  'Dom_Fee_Rate',
  'Non_Dom_Fee_Rate',
  'SendingAttemptCount',
  'Response_Source_Why',
  'Message_Why',
  'Balance_Sequence',
  'Balance_Sequence_Exthost',
  'DCC_Indicator',
  'multi_part_txn',
  'multi_part_txn_final',
  'multi_part_number',
  'multi_part_count',
  'Matching_Txn_ID',
  'Reason_ID',
  'FxProviderCardholderRate',
  'AuthenticationAmountUpper',
  'Interchange_Amount_Fee',
  'Interchange_Amount_Fee_Settlement',
  'PaymentToken_id',
  'PaymentToken_activationMethod',
  // Cut_Off: every id and counter.
  ...CUT_OFF_ORDER.filter((name) => name !== 'CutoffDate'),
])

/** A Mastercard authorisation request (0100/A), the base of every GetTransaction scenario. */
const AUTH: Readonly<Record<string, string>> = {
  Acquirer_id_DE32: '0800012345',
  ActBal: '150.0000',
  Auth_Code_DE38: '100001',
  Avl_Bal: '137.5000',
  Bill_Amt: '-12.5000',
  Bill_Ccy: '826',
  BlkAmt: '-12.5000',
  FX_Pad: '0.0000',
  Fee_Fixed: '0.0000',
  Fee_Rate: '0.0000',
  MCC_Code: '5411',
  MCC_Desc: 'Grocery Stores, Supermarkets',
  MCC_Pad: '0.0000',
  Merch_ID_DE42: 'SYNTHMERCH00001',
  Merch_Name_DE43: 'SYNTHETIC GROCER      LONDON       GB',
  POS_Data_DE22: '051',
  POS_Data_DE61: '0000000000000826',
  POS_Termnl_DE41: 'SYNT0001',
  POS_Time_DE12: '103000',
  Proc_Code: '000000',
  Resp_Code_DE39: '00',
  Ret_Ref_No_DE37: '733110000001',
  Settle_Amt: '12.5000',
  Settle_Ccy: '826',
  Status_Code: '00',
  Token: '900000001',
  Trans_link: '261127000001012345',
  Txn_Amt: '12.5000',
  Txn_CCy: '826',
  Txn_Ctry: 'GBR',
  Txn_Desc: 'SYNTHETIC GROCER      LONDON       GB',
  Txn_GPS_Date: '2026-11-27 10:30:00.123',
  TXn_ID: '4000000001',
  Txn_Stat_Code: 'A',
  TXN_Time_DE07: '1127103000',
  Txn_Type: 'A',
  Authorised_by_GPS: 'N',
  CU_Group: 'SYN-CU-001',
  InstCode: 'SYN',
  MTID: '0100',
  ProductID: '9001',
  SubBIN: '99999901',
  TLogIDOrg: '0',
  VL_Group: 'SYN-VL-001',
  EHIVersion: '5.2',
  Dom_Fee_Fixed: '0.0000',
  Non_Dom_Fee_Fixed: '0.0000',
  Fx_Fee_Fixed: '0.0000',
  Other_Fee_Amt: '0.0000',
  Fx_Fee_Rate: '0.0000',
  Dom_Fee_Rate: '0.0000',
  Non_Dom_Fee_Rate: '0.0000',
  SendingAttemptCount: '0',
  GPS_POS_Capability: '0000000010000000000000000000000000100000000001016',
  GPS_POS_Data: '0000000800000Nx000',
  Response_Source_Why: '0',
  Message_Why: '0',
  traceid_lifecycle: 'BNET-20261127-MCS000001',
  Balance_Sequence: '1',
  Balance_Sequence_Exthost: '0',
  PaymentToken_activationMethod: '0',
  Merch_Name: 'SYNTHETIC GROCER',
  Merch_City: 'LONDON',
  Merch_Country: 'GBR',
  Merch_Tax_id: '0',
  auth_type: '0',
  auth_expdate_utc: '2026-12-04 10:30:00.123',
  DCC_Indicator: '0',
  multi_part_txn: '0',
  multi_part_txn_final: '0',
  Network_TxnAmt_To_BillAmt_Rate: '1000000:6',
  POS_Date_DE13: '2026-11-27',
  Traceid_Message: 'BNET-20261127-MCS000001',
  Network_Currency_Conversion_Date: '2026-11-27',
  Network_Transaction_ID: 'MCS0000011127',
  FxProviderCardholderRate: '0.0',
}

/** Visa: the network's trace ids (VIS1-date-15 digits) and Visa's own fields. */
const VISA: Readonly<Record<string, string>> = {
  Acquirer_id_DE32: '06000001',
  POS_Data_DE22: '0510',
  POS_Data_DE61: '',
  traceid_lifecycle: 'VIS1-20261127-000000000000001',
  Traceid_Message: 'VIS1-20261127-000000000000001',
  Network_Transaction_ID: '000000000000001',
  Visa_POS_Data_DE60: '020000000000',
  Network_TxnAmt_To_BillAmt_Rate: '',
}

/** A clearing record: no authorisation data, the clearing and interchange fields instead. */
const CLEARING: Readonly<Record<string, string>> = {
  Auth_Code_DE38: '100001',
  POS_Data_DE22: '100990090000',
  POS_Time_DE12: '',
  Resp_Code_DE39: '',
  Ret_Ref_No_DE37: '',
  Avl_Bal: '150.0000',
  BlkAmt: '0.0000',
  Txn_Stat_Code: 'S',
  TXN_Time_DE07: '',
  auth_expdate_utc: '',
  Acquirer_Reference_Data_031: '74000000000000000000001',
  Matching_Txn_ID: '4000000001',
  Reason_ID: '0',
  Acquirer_Forwarder_ID: '800012345',
  Currency_Code_Fee: '826',
  Currency_Code_Fee_Settlement: '826',
  Interchange_Amount_Fee: '0.020000',
  Interchange_Amount_Fee_Settlement: '0.020000',
  Clearing_Process_Date: '2026-11-28',
  Settlement_Date: '2026-11-28',
  multi_part_number: '0',
  multi_part_count: '0',
  SettlementIndicator: '0',
  Network_Issuer_Settle_ID: '800012345',
  ClearingFileID: 'T112.0012611280000000000000001',
  Balance_Sequence: '',
  Balance_Sequence_Exthost: '',
  PaymentToken_id: '0',
}

/** A load, unload or balance adjustment: made through Thredd's API, no card network data. */
const API_MOVEMENT: Readonly<Record<string, string>> = {
  Acquirer_id_DE32: '',
  Auth_Code_DE38: '',
  Txn_Stat_Code: 'S',
  MCC_Code: '',
  MCC_Desc: '',
  Merch_ID_DE42: '',
  Merch_Name_DE43: '',
  POS_Data_DE22: '',
  POS_Data_DE61: '',
  POS_Termnl_DE41: '',
  POS_Time_DE12: '',
  Resp_Code_DE39: '',
  Ret_Ref_No_DE37: '',
  TXN_Time_DE07: '',
  MTID: '',
  BlkAmt: '0.0000',
  GPS_POS_Capability: '',
  GPS_POS_Data: '',
  traceid_lifecycle: '',
  Traceid_Message: '',
  Network_Transaction_ID: '',
  Network_TxnAmt_To_BillAmt_Rate: '',
  POS_Date_DE13: '',
  Network_Currency_Conversion_Date: '',
  Merch_Name: '',
  Merch_City: '',
  auth_type: '',
  auth_expdate_utc: '',
  Matching_Txn_ID: '0',
  Reason_ID: '0',
  PaymentToken_id: '0',
}

const CUT_OFF: Readonly<Record<string, string>> = {
  CutoffID: '7000000001',
  ProductID: '9001',
  CutoffDate: '2026-11-27 13:00:01.837',
  FirstTxn_ID: '4000000001',
  LastTxn_ID: '4000009999',
  Auths_Acknowledged: '9876',
  Auths_NotAcknowledged: '0',
  Financials_Acknowledged: '4321',
  Financials_NotAcknowledged: '2',
  LoadsUnloads_Acknowledged: '12',
  LoadsUnloads_NotAcknowledged: '0',
  BalanceAdjustExpiry_Acknowledged: '3',
  BalanceAdjustExpiry_NotAcknowledged: '0',
}

const SCENARIO_VALUES: Record<
  Scenario,
  { root: 'GetTransaction' | 'Cut_Off'; values: Record<string, string> }
> = {
  auth: { root: 'GetTransaction', values: { ...AUTH } },
  auth_visa: {
    root: 'GetTransaction',
    values: { ...AUTH, ...VISA, TXn_ID: '4000000007', Trans_link: '261127000007006000' },
  },
  auth_sms: {
    root: 'GetTransaction',
    values: { ...AUTH, MTID: '0200', Txn_Type: 'M', TXn_ID: '4000000008', Proc_Code: '000000' },
  },
  // Mode 1: the host did not answer in time, Thredd declined and says so (same TXn_ID).
  auth_followup: {
    root: 'GetTransaction',
    values: {
      ...AUTH,
      Authorised_by_GPS: 'Y',
      SendingAttemptCount: '1',
      Txn_Stat_Code: 'I',
      Resp_Code_DE39: '05',
      Avl_Bal: '150.0000',
      BlkAmt: '0.0000',
    },
  },
  // Mode 4: the host did not answer in time, Thredd's stand-in approved (SendingAttemptCount 0).
  stip_advice: {
    root: 'GetTransaction',
    values: { ...AUTH, Authorised_by_GPS: 'Y', Response_Source: 'GPS-STIP', Message_Source: 'GPS-STIP' },
  },
  // A wallet token activation request: 0100/A with processing code 330000, decided by Thredd.
  token_activation: {
    root: 'GetTransaction',
    values: {
      ...AUTH,
      TXn_ID: '4000000009',
      Proc_Code: '330000',
      Authorised_by_GPS: 'Y',
      ActBal: '0.0000',
      Avl_Bal: '0.0000',
      Bill_Amt: '0.0000',
      BlkAmt: '0.0000',
      Settle_Amt: '0.0000',
      Txn_Amt: '0.0000',
      MCC_Code: '5969',
      MCC_Desc: 'Direct Marketing - Other',
      Merch_ID_DE42: 'SYNTH TOKEN SVC',
      Merch_Name_DE43: 'SYNTHETIC TOKEN SERVICE              GB',
      Txn_Desc: 'SYNTHETIC TOKEN SERVICE              GB',
      Merch_Name: 'SYNTHETIC TOKEN SERVICE',
      PaymentToken_id: '70000001',
      PaymentToken_creator: 'MC-MDES',
      PaymentToken_type: 'SE',
      PaymentToken_status: '00',
      PaymentToken_wallet: 'SYNWALLET',
    },
  },
  reversal: {
    root: 'GetTransaction',
    values: {
      ...AUTH,
      MTID: '0400',
      Txn_Type: 'D',
      TXn_ID: '4000000002',
      Bill_Amt: '12.5000',
      Avl_Bal: '150.0000',
      BlkAmt: '0.0000',
    },
  },
  // An automated fuel dispenser's completion: 0120/D, a reversal of the unused amount.
  afd_reversal: {
    root: 'GetTransaction',
    values: {
      ...AUTH,
      MTID: '0120',
      Txn_Type: 'D',
      TXn_ID: '4000000010',
      MCC_Code: '5542',
      MCC_Desc: 'Automated Fuel Dispensers',
      Merch_Name_DE43: 'SYNTHETIC FUEL STATION                GB',
      Txn_Desc: 'SYNTHETIC FUEL STATION                GB',
      Merch_Name: 'SYNTHETIC FUEL STATION',
      Note: 'Reversal due to AFD Advice with different amount. (AFD Amount=1.0000)',
      Bill_Amt: '11.5000',
      Resp_Code_DE39: '',
      Auth_Code_DE38: '',
      Mastercard_AdviceReasonCode_DE60: '4020000',
    },
  },
  // An authorisation advice the scheme's stand-in approved: acknowledgement only.
  advice: {
    root: 'GetTransaction',
    values: {
      ...AUTH,
      MTID: '0120',
      Txn_Type: 'J',
      TXn_ID: '4000000003',
      Response_Source: 'MC-STIP',
      Response_Source_Why: '5',
      Message_Source: 'MC-STIP',
      Message_Why: '5',
    },
  },
  presentment: {
    root: 'GetTransaction',
    values: { ...AUTH, ...CLEARING, MTID: '1240', Txn_Type: 'P', TXn_ID: '4000000004' },
  },
  // Visa Base II: the transaction code in MTID, two spaces after it.
  visa_presentment: {
    root: 'GetTransaction',
    values: {
      ...AUTH,
      ...VISA,
      ...CLEARING,
      MTID: '05  ',
      Txn_Type: 'P',
      TXn_ID: '4000000005',
      ClearingFileID: '',
      Acquirer_Reference_Data_031: '24000000000000000000001',
    },
  },
  load: {
    root: 'GetTransaction',
    values: {
      ...AUTH,
      ...API_MOVEMENT,
      Txn_Type: 'L',
      TXn_ID: '4000000006',
      Trans_link: '4000000006',
      Proc_Code: '220000',
      LoadSRC: '33',
      LoadType: '3',
      Note: 'Synthetic load for tests',
      Bill_Amt: '50.0000',
      Settle_Amt: '50.0000',
      Txn_Amt: '50.0000',
      Txn_Desc: 'Load',
    },
  },
  balance_adjustment: {
    root: 'GetTransaction',
    values: {
      ...AUTH,
      ...API_MOVEMENT,
      Txn_Type: 'B',
      TXn_ID: '4000000011',
      Trans_link: '4000000011',
      Proc_Code: '190000',
      LoadSRC: '0',
      LoadType: '0',
      Note: 'Synthetic balance adjustment for tests',
      Bill_Amt: '-2.0000',
      Settle_Amt: '2.0000',
      Txn_Amt: '2.0000',
      Txn_Desc: 'Balance adjustment',
    },
  },
  cutoff: { root: 'Cut_Off', values: { ...CUT_OFF } },
}

/**
 * The scenario's fields in Thredd's order, with overrides applied: an override replaces a field
 * in place, and a name Thredd's examples do not carry is appended at the end.
 */
export function scenarioFields(scenario: Scenario, overrides: Record<string, string> = {}): Fields {
  const { root, values } = SCENARIO_VALUES[scenario]
  const order: readonly string[] = root === 'Cut_Off' ? CUT_OFF_ORDER : GET_TRANSACTION_ORDER
  const out = new Map<string, string>(order.map((name) => [name, values[name] ?? '']))
  for (const [name, value] of Object.entries(overrides)) out.set(name, value)
  return [...out.entries()]
}

export function rootOf(scenario: Scenario): 'GetTransaction' | 'Cut_Off' {
  return SCENARIO_VALUES[scenario].root
}

export function buildMessage(
  scenario: Scenario,
  format: EhiFormat,
  overrides: Record<string, string> = {},
): string {
  const root = rootOf(scenario)
  const fields = scenarioFields(scenario, overrides)
  return format === 'xml' ? toXml(root, fields) : toJson(root, fields)
}

/** The Content-Type Thredd sends (its HTTP message format: application/xml or application/json). */
export function contentTypeOf(format: EhiFormat): string {
  return format === 'xml' ? 'application/xml' : 'application/json'
}

/** The soapaction Thredd sends with each root (the value varies by EHI version; never routed on). */
export function soapActionOf(scenario: Scenario): string {
  return rootOf(scenario) === 'Cut_Off'
    ? '"http://tempuri.org/Cut_Off"'
    : '"http://tempuri.org/IEndpointVersion52/GetTransaction"'
}

function toXml(root: string, fields: Fields): string {
  const body = fields
    .map(([name, value]) =>
      value === '' ? `      <${name} />` : `      <${name}>${escapeXml(value)}</${name}>`,
    )
    .join('\n')
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

const JSON_NAME_OF_CUT_OFF: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(JSON_CUT_OFF_NAMES).map(([json, xml]) => [xml, json]),
)

function toJson(root: string, fields: Fields): string {
  const present = fields.filter(([, value]) => value !== '')
  let ordered: Fields
  if (root === 'Cut_Off') ordered = present
  else {
    const byName = new Map(present)
    const leading = JSON_LEADING.filter((name) => byName.has(name))
    const rest = present.map(([name]) => name).filter((name) => !leading.includes(name))
    const names = [...leading, ...rest.filter((n) => n !== 'SendingAttemptCount')]
    if (byName.has('SendingAttemptCount')) names.push('SendingAttemptCount')
    ordered = names.map((name) => [name, byName.get(name)!] as const)
  }
  const parts = ordered.map(([name, value]) => {
    const key = root === 'Cut_Off' ? (JSON_NAME_OF_CUT_OFF[name] ?? name) : name
    const literal =
      JSON_NUMBER_FIELDS.has(name) && /^-?\d+(\.\d+)?$/.test(value) ? value : JSON.stringify(value)
    return `${JSON.stringify(key)}:${literal}`
  })
  return `{${parts.join(',')}}`
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
