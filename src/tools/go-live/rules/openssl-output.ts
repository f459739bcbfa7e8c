/**
 * Reads `openssl s_client -showcerts -msg` output: the chain as sent, whether a
 * CertificateRequest arrived, and the "Acceptable client certificate CA names". Used for
 * servers that only speak TLS 1.3, where the handshake is encrypted and our own TLS 1.2 reader
 * cannot see it. Pure.
 */
import { splitPem } from '../../../plane/tls/pem.ts'

export interface OpensslView {
  certificates: Buffer[]
  certificateRequested: boolean
  caNames: string[]
  protocol: string | undefined
}

export function parseSClientOutput(output: string): OpensslView {
  const chainStart = output.indexOf('Certificate chain')
  const chainEnd = output.indexOf('\n---\n', chainStart)
  const chainText = chainStart < 0 ? '' : output.slice(chainStart, chainEnd < 0 ? undefined : chainEnd)
  const certificates = splitPem(chainText)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => b.der)
  const caNames: string[] = []
  const lines = output.split('\n')
  const at = lines.findIndex((l) => l.trim() === 'Acceptable client certificate CA names')
  if (at >= 0) {
    for (const line of lines.slice(at + 1)) {
      if (
        /^(---|Requested Signature|Client Certificate Types|Shared Requested|Peer sign|Server Temp Key)/.test(
          line,
        )
      )
        break
      // "C = GB, O = Thredd" -> "C=GB, O=Thredd", the form used everywhere else.
      if (line.trim()) caNames.push(line.trim().replace(/\s+=\s+/g, '='))
    }
  }
  const protocol = /^New, (TLSv[\d.]+),/m.exec(output)?.[1]
  return {
    certificates,
    // -msg prints every handshake message, so the request shows even when it names no CA.
    certificateRequested: /Handshake \[length [0-9a-f]+\], CertificateRequest/.test(output) || at >= 0,
    caNames,
    protocol,
  }
}
