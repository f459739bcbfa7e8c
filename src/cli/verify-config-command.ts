/**
 * `ehi-gateway verify-config FILE` (or --config FILE, or EHI_GATEWAY_CONFIG as for serve): checks a configuration and everything it names without
 * traffic, like `nginx -t`. Exit 0 when there is no error (warnings are listed), 2 otherwise.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { rootCertificates } from 'node:tls'
import { renderVerifyText, verifyConfig } from '../tools/verify-config/verify-config.ts'
import { splitPem } from '../plane/tls/pem.ts'
import { CONFIG_FILE_ENV } from '../config/env-overrides.ts'
import { defineCommand, parseCommand, usageError } from './command-line.ts'

export const VERIFY_CONFIG = defineCommand({
  name: 'verify-config',
  synopsis: '[FILE | --config FILE] [--ca FILE] [--json]',
  summary: 'Check a configuration and every file it names, without traffic (like nginx -t).',
  description: `Check a configuration without traffic, like nginx -t: everything that stops serve
(through the same loaders, EHI_GATEWAY_* variables included), plus what a start accepts but
Thredd's go-live check or traffic would hit: key matches certificate, chain complete, validity,
CRLs, pins, allowlist, TLS policy.`,
  options: {
    config: {
      type: 'string',
      short: 'c',
      value: 'FILE',
      help: `The configuration, as for serve (or give FILE alone). Default: the file ${CONFIG_FILE_ENV} names.`,
    },
    ca: {
      type: 'string',
      value: 'FILE',
      help: 'More roots the server chain may build to (PEM), besides the system roots.',
    },
    json: { type: 'boolean', help: 'The report as JSON.' },
  },
  maxPositionals: 1,
  notes: 'Exit codes: 0 no error (warnings are listed), 2 an error or a usage problem.',
})

export function verifyConfigCommand(args: string[]): number {
  const { values, positionals } = parseCommand(VERIFY_CONFIG, args)
  const given = [...new Set([...positionals, ...(values.config ? [values.config] : [])])]
  if (given.length > 1)
    throw usageError(VERIFY_CONFIG, 'give one configuration file, as FILE or as --config FILE')
  const file = given[0] ?? process.env[CONFIG_FILE_ENV]
  if (!file)
    throw usageError(
      VERIFY_CONFIG,
      `give one configuration file: FILE, --config FILE or ${CONFIG_FILE_ENV}=FILE`,
    )
  let extraRoots: X509Certificate[] = []
  if (values.ca) {
    try {
      extraRoots = splitPem(readFileSync(values.ca, 'utf8'))
        .filter((b) => b.label === 'CERTIFICATE')
        .map((b) => new X509Certificate(b.der))
    } catch (error) {
      throw usageError(VERIFY_CONFIG, `cannot read --ca ${values.ca} (${(error as Error).message})`)
    }
  }
  const report = verifyConfig({
    file,
    extraRoots,
    systemRoots: rootCertificates.map((pem) => new X509Certificate(pem)),
  })
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderVerifyText(report))
  return report.ok ? 0 : 2
}
