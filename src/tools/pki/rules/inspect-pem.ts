/**
 * `certs inspect`: what a PEM (or DER) file or a server's chain holds, for people and for the
 * config: each certificate's names, key, validity, SPKI pin and SHA-256 fingerprint (the two
 * `clientAuth.pins` formats), how the certificates chain to each other, and for CRLs the
 * issuer, update window and revoked count. Pure: bytes in, a model and its text out.
 */
import { X509Certificate } from 'node:crypto'
import { certificateSubjectDer, parseCrl, verifyCrlSignature } from '../../../plane/tls/crl.ts'
import { splitPem } from '../../../plane/tls/pem.ts'
import { certificateInfo, issuedBy, isSelfSigned, type CertificateInfo } from './certificate-info.ts'
import { formatNameDer } from './x509-name.ts'

const DAY = 86_400_000

export interface CrlInfoView {
  index: number
  issuer: string
  thisUpdate: Date
  nextUpdate: Date | undefined
  daysLeft: number | undefined
  /** nextUpdate has passed. */
  expired: boolean
  revoked: number
  /** Index of the certificate in the same input that issued it. */
  issuedBy: number | undefined
  /** The signature verifies with that certificate's key. */
  signatureOk: boolean | undefined
}

export interface Inspection {
  source: string
  certificates: (CertificateInfo & { extKeyUsage: string[] | undefined; parent: number | undefined })[]
  crls: CrlInfoView[]
  /** PEM blocks that are neither (a private key is named, never shown). */
  others: string[]
  problems: string[]
}

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
}

/** Inspects PEM text (any number of certificates and CRLs) or a single DER certificate or CRL. */
export function inspectBytes(bytes: Buffer, source: string, now: Date): Inspection {
  const text = bytes.toString('latin1')
  const certDers: Buffer[] = []
  const crlDers: Buffer[] = []
  const others: string[] = []
  const problems: string[] = []
  if (text.includes('-----BEGIN ')) {
    for (const block of splitPem(text)) {
      if (block.label === 'CERTIFICATE' || block.label === 'TRUSTED CERTIFICATE') certDers.push(block.der)
      else if (block.label === 'X509 CRL') crlDers.push(block.der)
      else others.push(block.label)
    }
  } else {
    try {
      new X509Certificate(bytes)
      certDers.push(bytes)
    } catch {
      crlDers.push(bytes)
    }
  }
  return inspectDers(certDers, crlDers, source, now, others, problems)
}

export function inspectDers(
  certDers: readonly Buffer[],
  crlDers: readonly Buffer[],
  source: string,
  now: Date,
  others: string[] = [],
  problems: string[] = [],
): Inspection {
  const certs: X509Certificate[] = []
  certDers.forEach((der, i) => {
    try {
      certs.push(new X509Certificate(der))
    } catch {
      problems.push(`certificate #${i + 1} cannot be parsed`)
    }
  })
  const certificates = certs.map((cert, i) => {
    const parent = isSelfSigned(cert) ? undefined : certs.findIndex((p, j) => j !== i && issuedBy(cert, p))
    return {
      ...certificateInfo(cert, i + 1, now),
      extKeyUsage: cert.keyUsage?.map((oid) => EKU_NAMES[oid] ?? oid),
      parent: parent === undefined || parent < 0 ? undefined : parent + 1,
    }
  })
  const crls: CrlInfoView[] = []
  crlDers.forEach((der, i) => {
    try {
      const crl = parseCrl(der)
      const issuerIndex = certs.findIndex((c) => certificateSubjectDer(c.raw).equals(crl.issuerDer))
      crls.push({
        index: i + 1,
        issuer: formatNameDer(crl.issuerDer),
        thisUpdate: crl.thisUpdate,
        nextUpdate: crl.nextUpdate,
        daysLeft: crl.nextUpdate ? Math.trunc((crl.nextUpdate.getTime() - now.getTime()) / DAY) : undefined,
        expired: crl.nextUpdate !== undefined && crl.nextUpdate < now,
        revoked: crl.revokedSerials.size,
        issuedBy: issuerIndex < 0 ? undefined : issuerIndex + 1,
        signatureOk: issuerIndex < 0 ? undefined : verifyCrlSignature(crl, certs[issuerIndex]!.publicKey),
      })
    } catch (error) {
      problems.push(`CRL #${i + 1} cannot be parsed: ${(error as Error).message}`)
    }
  })
  if (certificates.length === 0 && crls.length === 0 && problems.length === 0) {
    problems.push('no certificate or CRL found')
  }
  return { source, certificates, crls, others, problems }
}

export function renderInspection(inspection: Inspection): string {
  const lines: string[] = [`${inspection.source}:`]
  const { certificates, crls } = inspection
  lines.push(`  ${plural(certificates.length, 'certificate')}, ${plural(crls.length, 'CRL')}`)
  for (const c of certificates) {
    const v = c.validity
    lines.push('')
    lines.push(
      `  Certificate #${c.index}${c.parent ? ` (issued by #${c.parent})` : c.selfSigned ? ' (self-signed root)' : ''}`,
    )
    lines.push(`    subject      ${c.subject}`)
    lines.push(`    issuer       ${c.issuer}`)
    lines.push(`    serial       ${c.serial}`)
    lines.push(`    key          ${c.key}`)
    lines.push(
      `    type         ${c.ca ? 'CA' : 'end entity'}${c.extKeyUsage ? `; EKU ${c.extKeyUsage.join(', ')}` : ''}`,
    )
    if (c.subjectAltName) lines.push(`    SAN          ${c.subjectAltName}`)
    lines.push(`    valid        ${v.notBefore.toISOString()} .. ${v.notAfter.toISOString()}`)
    lines.push(
      `                 ${v.state === 'expired' ? `EXPIRED ${plural(-v.daysLeft, 'day')} ago` : v.state === 'not-yet-valid' ? 'NOT YET VALID' : `${plural(v.daysLeft, 'day')} left${v.state === 'expiring' ? ' (under 30)' : ''}`}`,
    )
    lines.push(`    SPKI pin     ${c.spkiSha256}`)
    lines.push(`    SHA-256      ${c.sha256}`)
  }
  for (const crl of crls) {
    lines.push('')
    const signed = crl.issuedBy
      ? ` (issued by certificate #${crl.issuedBy}, signature ${crl.signatureOk ? 'ok' : 'INVALID'})`
      : ''
    lines.push(`  CRL #${crl.index}${signed}`)
    lines.push(`    issuer       ${crl.issuer}`)
    lines.push(`    thisUpdate   ${crl.thisUpdate.toISOString()}`)
    lines.push(
      `    nextUpdate   ${crl.nextUpdate ? `${crl.nextUpdate.toISOString()} (${crl.expired ? `EXPIRED ${plural(-crl.daysLeft!, 'day')} ago` : `${plural(crl.daysLeft!, 'day')} left`})` : '(none)'}`,
    )
    lines.push(`    revoked      ${crl.revoked}`)
  }
  if (certificates.length > 1) {
    lines.push('', '  Chain:')
    lines.push(...chainTree(certificates).map((l) => `    ${l}`))
  }
  // Pins are for Thredd's transport (client) certificate; a server certificate gets none.
  const leaves = certificates.filter((c) => !c.ca && (!c.extKeyUsage || c.extKeyUsage.includes('clientAuth')))
  if (leaves.length > 0) {
    lines.push('', '  For the config (pin a client certificate; list the next key too before a rotation):')
    lines.push('    clientAuth:', '      pins:', '        spkiSha256:')
    for (const c of leaves) lines.push(`          - "${c.spkiSha256}"  # #${c.index} ${c.subject}`)
    lines.push('        certSha256:')
    for (const c of leaves) lines.push(`          - "${c.sha256}"`)
  }
  for (const other of inspection.others) {
    lines.push(
      '',
      `  ${other} block${/PRIVATE KEY/.test(other) ? ' (private key: not shown; keep this file out of shared folders)' : ' (not inspected)'}`,
    )
  }
  for (const problem of inspection.problems) lines.push('', `  problem: ${problem}`)
  return `${lines.join('\n')}\n`
}

/** Roots first, each certificate under its issuer; issuers not in the input are named. */
export function chainTree(certs: Inspection['certificates']): string[] {
  const lines: string[] = []
  const walk = (index: number, prefix: string, last: boolean, top: boolean) => {
    const c = certs[index - 1]!
    lines.push(`${top ? prefix : `${prefix}${last ? '└─ ' : '├─ '}`}#${c.index} ${c.subject}`)
    const children = certs.filter((k) => k.parent === index && k.index !== index)
    children.forEach((child, i) =>
      walk(child.index, top ? prefix : `${prefix}${last ? '   ' : '│  '}`, i === children.length - 1, false),
    )
  }
  const tops = certs.filter((c) => c.parent === undefined)
  const byMissingIssuer = new Map<string, typeof tops>()
  for (const c of tops) {
    if (c.selfSigned) walk(c.index, '', true, true)
    else byMissingIssuer.set(c.issuer, [...(byMissingIssuer.get(c.issuer) ?? []), c])
  }
  for (const [issuer, children] of byMissingIssuer) {
    lines.push(`${issuer} (not in this input)`)
    children.forEach((c, i) => walk(c.index, '', i === children.length - 1, false))
  }
  return lines
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`
}
