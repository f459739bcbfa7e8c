/**
 * EHI answers in the shapes Thredd documents (docs/ehi-handling.md): a SOAP 1.1 envelope with
 * `GetTransactionResponse xmlns="http://tempuri.org/"` -> `GetTransactionResult`, every
 * minOccurs=1 numeric element present (0 when not applicable), never `null`, no extra
 * namespaces on child elements; or the flat JSON object. Pure.
 */

export type WireFormat = 'xml' | 'json'

export interface GetTransactionAnswer {
  Responsestatus?: string
  Acknowledgement: '0' | '1'
  CurBalance?: number
  AvlBalance?: number
  LoadAmount?: number
  Bill_Amt_Approved?: number
  Update_Balance?: number
  New_Balance_Sequence_Exthost?: number
  CurBalance_GPS_STIP?: number
  AvlBalance_GPS_STIP?: number
  MerchantAdvice?: string
}

const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/'
const EHI_NS = 'http://tempuri.org/'

/** Element order of EndpointResponse52. */
const RESULT_ELEMENTS = [
  'MerchantAdvice',
  'Responsestatus',
  'CurBalance',
  'AvlBalance',
  'Acknowledgement',
  'LoadAmount',
  'Bill_Amt_Approved',
  'Update_Balance',
  'New_Balance_Sequence_Exthost',
  'CurBalance_GPS_STIP',
  'AvlBalance_GPS_STIP',
] as const

/** The numeric elements the XML schema marks minOccurs=1; never `null` in either format. */
export const REQUIRED_NUMERIC = [
  'CurBalance',
  'AvlBalance',
  'LoadAmount',
  'Bill_Amt_Approved',
  'Update_Balance',
  'New_Balance_Sequence_Exthost',
  'CurBalance_GPS_STIP',
  'AvlBalance_GPS_STIP',
] as const

export function getTransactionAnswer(answer: GetTransactionAnswer, format: WireFormat): string {
  const full: Record<string, string | number | undefined> = { ...answer }
  for (const name of REQUIRED_NUMERIC) {
    full[name] ??= 0
    // NaN would become `null` in JSON, which Thredd declines on: a programming error, not data.
    if (typeof full[name] === 'number' && !Number.isFinite(full[name]))
      throw new TypeError(`${name} is not a finite number`)
  }
  if (format === 'json') {
    const out: Record<string, string | number> = {}
    for (const name of RESULT_ELEMENTS) if (full[name] !== undefined) out[name] = full[name]
    return JSON.stringify(out)
  }
  const body = RESULT_ELEMENTS.filter((name) => full[name] !== undefined)
    .map((name) => `<${name}>${escapeXml(String(full[name]))}</${name}>`)
    .join('')
  return envelope(
    `<GetTransactionResponse xmlns="${EHI_NS}"><GetTransactionResult>${body}</GetTransactionResult></GetTransactionResponse>`,
  )
}

/** Thredd's JSON Cut_Off is answered with an Acknowledgement, the XML one with Cut_OffResult. */
export function cutOffAnswer(result: '0' | '1', format: WireFormat): string {
  if (format === 'json') return JSON.stringify({ Acknowledgement: result })
  return envelope(
    `<Cut_OffResponse xmlns="${EHI_NS}"><Cut_OffResult>${result}</Cut_OffResult></Cut_OffResponse>`,
  )
}

/** The Content-Type Thredd's HTTP message format names (both are UTF-8 by definition). */
export function contentTypeFor(format: WireFormat): string {
  return format === 'json' ? 'application/json' : 'application/xml'
}

function envelope(inner: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${SOAP_NS}"><s:Body>${inner}</s:Body></s:Envelope>`
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
