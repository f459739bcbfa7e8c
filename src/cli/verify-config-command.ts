/**
 * `ehi-gateway verify-config FILE`: checks a configuration and everything it names without
 * traffic, like `nginx -t`. Exit 0 when there is no error (warnings are listed), 2 otherwise.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { rootCertificates } from 'node:tls'
import { parseArgs } from 'node:util'
import { renderVerifyText, verifyConfig } from '../tools/verify-config/verify-config.ts'
import { splitPem } from '../plane/tls/pem.ts'

export const VERIFY_CONFIG_USAGE = `  verify-config FILE [--ca FILE] [--json]
                               Check a configuration without traffic (like nginx -t): key matches
                               certificate, chain complete, validity, CRLs, pins, allowlist, TLS
                               policy. --ca adds roots the server chain may build to. Exit 0 when
                               there is no error, 2 otherwise.
`

export function verifyConfigCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, ca: { type: 'string' } },
  })
  if (positionals.length !== 1) {
    process.stderr.write(
      `ehi-gateway verify-config: give one configuration file\nUsage:\n${VERIFY_CONFIG_USAGE}`,
    )
    return 2
  }
  let extraRoots: X509Certificate[] = []
  if (values.ca) {
    try {
      extraRoots = splitPem(readFileSync(values.ca, 'utf8'))
        .filter((b) => b.label === 'CERTIFICATE')
        .map((b) => new X509Certificate(b.der))
    } catch (error) {
      process.stderr.write(
        `ehi-gateway verify-config: cannot read --ca ${values.ca} (${(error as Error).message})\n`,
      )
      return 2
    }
  }
  const report = verifyConfig({
    file: positionals[0]!,
    extraRoots,
    systemRoots: rootCertificates.map((pem) => new X509Certificate(pem)),
  })
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderVerifyText(report))
  return report.ok ? 0 : 2
}
