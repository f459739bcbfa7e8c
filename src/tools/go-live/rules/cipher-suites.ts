/**
 * Cipher suites: which ones the checker probes, and how each is judged. Pure data and
 * functions, table-tested.
 *
 * Names are OpenSSL's for TLS 1.2 and IANA's (TLS_*) for TLS 1.3, as node:tls takes them.
 * The judgement follows what Thredd's go-live check (SSL Labs A) and testssl.sh flag: no
 * static RSA key exchange (no forward secrecy), no CBC, nothing anonymous, NULL, export, RC4,
 * DES/3DES or MD5, and no CCM_8 (64-bit tag).
 */

/**
 * TLS 1.2 suites probed one at a time. PSK and SRP suites are left out: a server can only
 * accept them with a pre-shared secret the checker does not have. Some legacy suites (3DES,
 * RC4, SEED, IDEA, single DES) are listed although Node.js 24's OpenSSL 3.5 cannot offer them;
 * the probe reports those as "not probed" so the gap is visible.
 */
export const TLS12_PROBE_SUITES: readonly string[] = [
  // ECDHE + AEAD: the recommended set.
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  // Forward secret and AEAD, but uncommon or finite-field DH.
  'ECDHE-ECDSA-AES128-CCM',
  'ECDHE-ECDSA-AES256-CCM',
  'ECDHE-ECDSA-ARIA128-GCM-SHA256',
  'ECDHE-ECDSA-ARIA256-GCM-SHA384',
  'ECDHE-ARIA128-GCM-SHA256',
  'ECDHE-ARIA256-GCM-SHA384',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-CCM',
  'DHE-RSA-AES256-CCM',
  'DHE-RSA-ARIA128-GCM-SHA256',
  'DHE-RSA-ARIA256-GCM-SHA384',
  'DHE-DSS-AES128-GCM-SHA256',
  'DHE-DSS-AES256-GCM-SHA384',
  'DHE-DSS-ARIA128-GCM-SHA256',
  'DHE-DSS-ARIA256-GCM-SHA384',
  // CCM_8: AEAD with a 64-bit tag.
  'ECDHE-ECDSA-AES128-CCM8',
  'ECDHE-ECDSA-AES256-CCM8',
  'DHE-RSA-AES128-CCM8',
  'DHE-RSA-AES256-CCM8',
  // Forward secret, CBC.
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
  'ECDHE-ECDSA-CAMELLIA128-SHA256',
  'ECDHE-RSA-CAMELLIA128-SHA256',
  'ECDHE-ECDSA-CAMELLIA256-SHA384',
  'ECDHE-RSA-CAMELLIA256-SHA384',
  'DHE-RSA-AES128-SHA256',
  'DHE-RSA-AES256-SHA256',
  'DHE-RSA-AES128-SHA',
  'DHE-RSA-AES256-SHA',
  'DHE-RSA-CAMELLIA128-SHA256',
  'DHE-RSA-CAMELLIA256-SHA256',
  'DHE-RSA-CAMELLIA128-SHA',
  'DHE-RSA-CAMELLIA256-SHA',
  'DHE-DSS-AES128-SHA256',
  'DHE-DSS-AES256-SHA256',
  'DHE-DSS-AES128-SHA',
  'DHE-DSS-AES256-SHA',
  // Static RSA key exchange: no forward secrecy.
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-CCM',
  'AES256-CCM',
  'AES128-CCM8',
  'AES256-CCM8',
  'ARIA128-GCM-SHA256',
  'ARIA256-GCM-SHA384',
  'AES128-SHA256',
  'AES256-SHA256',
  'AES128-SHA',
  'AES256-SHA',
  'CAMELLIA128-SHA256',
  'CAMELLIA256-SHA256',
  'CAMELLIA128-SHA',
  'CAMELLIA256-SHA',
  // Anonymous (no server authentication).
  'ADH-AES128-GCM-SHA256',
  'ADH-AES256-GCM-SHA384',
  'ADH-AES128-SHA256',
  'ADH-AES256-SHA256',
  'ADH-AES128-SHA',
  'ADH-AES256-SHA',
  'ADH-CAMELLIA128-SHA',
  'ADH-CAMELLIA256-SHA',
  'AECDH-AES128-SHA',
  'AECDH-AES256-SHA',
  // No encryption.
  'ECDHE-ECDSA-NULL-SHA',
  'ECDHE-RSA-NULL-SHA',
  'AECDH-NULL-SHA',
  'NULL-SHA256',
  'NULL-SHA',
  'NULL-MD5',
  // Legacy ciphers (most are not offerable by OpenSSL 3's default provider).
  'ECDHE-ECDSA-DES-CBC3-SHA',
  'ECDHE-RSA-DES-CBC3-SHA',
  'DHE-RSA-DES-CBC3-SHA',
  'DES-CBC3-SHA',
  'ECDHE-ECDSA-RC4-SHA',
  'ECDHE-RSA-RC4-SHA',
  'RC4-SHA',
  'RC4-MD5',
  'SEED-SHA',
  'IDEA-CBC-SHA',
  'DES-CBC-SHA',
]

/** Every TLS 1.3 suite; CCM_8 is the weak one. */
export const TLS13_PROBE_SUITES: readonly string[] = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_CCM_SHA256',
  'TLS_AES_128_CCM_8_SHA256',
]

export type SuiteLevel = 'ok' | 'warn' | 'weak'

export interface SuiteVerdict {
  name: string
  level: SuiteLevel
  forwardSecret: boolean
  aead: boolean
  /** Why the suite is weak or worth a warning; empty when ok. */
  reasons: string[]
}

/** Judges one suite by its name. Unknown shapes are judged by the same name patterns. */
export function classifySuite(name: string): SuiteVerdict {
  const n = name.toUpperCase()
  if (n.startsWith('TLS_')) {
    // TLS 1.3: every suite is ephemeral (EC)DHE and AEAD.
    const ccm8 = n.includes('CCM_8')
    return {
      name,
      level: ccm8 ? 'weak' : n.includes('CCM') ? 'warn' : 'ok',
      forwardSecret: true,
      aead: true,
      reasons: ccm8 ? ['CCM_8 (64-bit authentication tag)'] : n.includes('CCM') ? ['CCM (uncommon)'] : [],
    }
  }
  const weak: string[] = []
  const warn: string[] = []
  const anonymous = /^(ADH|AECDH)-/.test(n)
  const psk = /(^|-)PSK-/.test(n)
  const srp = n.startsWith('SRP-')
  const forwardSecret = /^(ECDHE|DHE|EDH|ADH|AECDH)-/.test(n)
  const nullCipher = /(^|-)NULL-/.test(n)
  const rc4 = n.includes('RC4')
  const aead = /GCM|CHACHA20-POLY1305|CCM/.test(n)
  const ccm8 = n.includes('CCM8')

  if (anonymous) weak.push('anonymous key exchange (no server authentication)')
  if (!forwardSecret) {
    weak.push(
      psk
        ? 'pre-shared key without ephemeral key exchange (no forward secrecy)'
        : srp
          ? 'SRP'
          : 'static RSA key exchange (no forward secrecy)',
    )
  }
  if (nullCipher) weak.push('no encryption (NULL)')
  if (n.includes('EXP')) weak.push('export grade')
  if (rc4) weak.push('RC4')
  if (/DES-CBC3|3DES/.test(n)) weak.push('3DES (64-bit block, Sweet32)')
  else if (/(^|-)DES-CBC-/.test(n)) weak.push('single DES')
  if (/IDEA|SEED/.test(n)) weak.push('IDEA/SEED (legacy block cipher)')
  if (n.endsWith('-MD5')) weak.push('MD5 MAC')
  if (!aead && !nullCipher && !rc4) weak.push('CBC mode (not AEAD)')
  if (ccm8) weak.push('CCM_8 (64-bit authentication tag)')
  if (/^(DHE|EDH)-DSS-/.test(n)) weak.push('DSS authentication (deprecated)')

  if (/^(DHE|EDH)-/.test(n)) warn.push('finite-field DHE (strength depends on the DH group; prefer ECDHE)')
  if (/CAMELLIA|ARIA/.test(n) && weak.length === 0) warn.push('CAMELLIA/ARIA (not in the recommended set)')
  if (n.includes('CCM') && !ccm8 && weak.length === 0) warn.push('CCM (uncommon)')

  return {
    name,
    level: weak.length > 0 ? 'weak' : warn.length > 0 ? 'warn' : 'ok',
    forwardSecret: forwardSecret && !anonymous,
    aead,
    reasons: weak.length > 0 ? weak : warn,
  }
}

/** The suite names of an OpenSSL cipher string that are concrete suites (not aliases or rules). */
export function concreteSuites(cipherString: string): string[] {
  return cipherString
    .split(/[:, ]+/)
    .map((s) => s.trim())
    .filter(
      (s) =>
        s.length > 0 &&
        !/^[!+\-@]/.test(s) &&
        (s.startsWith('TLS_') ||
          TLS12_PROBE_SUITES.includes(s.toUpperCase()) ||
          /-(SHA\d*|MD5|POLY1305|CCM8?)$/i.test(s)),
    )
}
