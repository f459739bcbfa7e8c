/**
 * `ehi-gateway certs`: `dev` (the demo PKI, also used by the tests and the bench), `inspect`
 * (what a certificate/CRL file or a live server holds, with the values the config takes) and
 * `csr` (a key and a CSR for the public CA that issues the server certificate).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { findExecutable, readServerViews } from '../tools/go-live/probes.ts'
import { hostPort, parseTarget, TargetError } from '../tools/go-live/target.ts'
import { DEV_PKI_FILES, ensureDevPki } from '../tools/pki/dev-pki.ts'
import {
  inspectBytes,
  inspectDers,
  renderInspection,
  type Inspection,
} from '../tools/pki/rules/inspect-pem.ts'
import { buildServerCsr, csrFileStem } from '../tools/pki/server-csr.ts'

export function certsDev(out: string, force: boolean): string {
  const dir = resolve(out)
  const result = ensureDevPki(dir, { force })
  const files = Object.values(DEV_PKI_FILES)
    .map((f) => `  ${f}`)
    .join('\n')
  return result.generated
    ? `Generated the dev PKI in ${dir} (${result.reason}):\n${files}\nPrivate keys (*.key) are git-ignored; never use them outside a demo.\n`
    : `The dev PKI in ${dir} is ${result.reason}; use --force to regenerate it.\n`
}

export const CERTS_TOOLS_USAGE = `  certs inspect FILE|https://host:port [--json]
                               Show the certificates (and CRLs) of a PEM/DER file or those a live
                               server presents: chain tree, names, key, validity, SPKI pin and
                               SHA-256 fingerprint ready for clientAuth.pins.
  certs csr --cn NAME [--san DNS|IP ...] [--key-type ec|rsa] [--out DIR] [--force]
                               Write a private key (ECDSA P-256 by default, or RSA 2048; mode 0600)
                               and a CSR for the public CA that issues the server certificate.
                               An existing key is never replaced without --force.
`

/** `certs inspect` and `certs csr`; returns the exit code. */
export async function certsToolCommand(sub: 'inspect' | 'csr', args: string[]): Promise<number> {
  return sub === 'inspect' ? certsInspect(args) : certsCsr(args)
}

function usage(message: string): number {
  process.stderr.write(`ehi-gateway certs: ${message}\nUsage:\n${CERTS_TOOLS_USAGE}`)
  return 2
}

async function certsInspect(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, timeout: { type: 'string', default: '5000' } },
  })
  if (positionals.length !== 1) return usage('give one file or https://host:port')
  const input = positionals[0]!
  const now = new Date()
  if (/^https:\/\//i.test(input)) {
    let target
    try {
      target = parseTarget(input)
    } catch (error) {
      if (error instanceof TargetError) return usage(error.message)
      throw error
    }
    const { views, notes } = await readServerViews(
      {
        target,
        ca: undefined,
        timeoutMs: Number(values.timeout) || 5000,
        openssl: findExecutable('openssl'),
      },
      false,
    )
    if (views.length === 0) {
      process.stderr.write(
        `ehi-gateway certs inspect: could not read the chain of ${hostPort(target)}\n${notes.map((n) => `  ${n}\n`).join('')}`,
      )
      return 1
    }
    const parts = views.map((view) => {
      const label = view.auth ? `${view.auth === 'ecdsa' ? 'ECDSA' : 'RSA'} chain` : 'chain'
      const result = inspectDers(
        view.certificates,
        [],
        `${hostPort(target)} (${label} as sent, ${view.source})`,
        now,
      )
      return {
        result,
        caNames: view.certificateRequested === undefined ? undefined : view.caNames,
        requested: view.certificateRequested,
      }
    })
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify(
          parts.map((p) => ({ ...p.result, clientCaNames: p.caNames, certificateRequested: p.requested })),
          null,
          2,
        )}\n`,
      )
      return 0
    }
    for (const part of parts) {
      process.stdout.write(renderInspection(part.result))
      if (part.requested === false)
        process.stdout.write('  The server does not ask for a client certificate.\n')
      else if (part.caNames) {
        process.stdout.write(`  Acceptable client certificate CA names (${part.caNames.length}):\n`)
        for (const name of part.caNames) process.stdout.write(`    ${name}\n`)
      }
      process.stdout.write('\n')
    }
    return 0
  }
  let bytes: Buffer
  try {
    bytes = readFileSync(input)
  } catch (error) {
    process.stderr.write(
      `ehi-gateway certs inspect: cannot read ${input} (${(error as NodeJS.ErrnoException).code})\n`,
    )
    return 1
  }
  const inspection: Inspection = inspectBytes(bytes, input, now)
  process.stdout.write(
    values.json ? `${JSON.stringify(inspection, null, 2)}\n` : renderInspection(inspection),
  )
  return inspection.problems.length > 0 && inspection.certificates.length + inspection.crls.length === 0
    ? 1
    : 0
}

function certsCsr(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      cn: { type: 'string' },
      san: { type: 'string', multiple: true, default: [] },
      'key-type': { type: 'string', default: 'ec' },
      out: { type: 'string', default: '.' },
      force: { type: 'boolean', default: false },
    },
  })
  if (!values.cn) return usage('--cn NAME is required (the host name Thredd connects to)')
  const keyType = values['key-type']
  if (keyType !== 'ec' && keyType !== 'rsa') return usage('--key-type is ec or rsa')
  let result
  try {
    result = buildServerCsr({ cn: values.cn, sans: values.san, keyType })
  } catch (error) {
    return usage((error as Error).message)
  }
  const dir = resolve(values.out)
  mkdirSync(dir, { recursive: true })
  const stem = csrFileStem(values.cn)
  const keyFile = join(dir, `${stem}.key`)
  const csrFile = join(dir, `${stem}.csr`)
  try {
    // 'wx' fails when the key exists, so a key in use is never replaced by accident.
    writeFileSync(keyFile, result.keyPem, { mode: 0o600, flag: values.force ? 'w' : 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      process.stderr.write(
        `ehi-gateway certs csr: ${keyFile} exists; not replaced (use --force to replace it)\n`,
      )
      return 1
    }
    throw error
  }
  // writeFileSync's mode applies only on creation; --force over an existing file keeps its mode.
  chmodSync(keyFile, 0o600)
  writeFileSync(csrFile, result.csrPem, { mode: 0o644 })
  const sans = [...result.san.dns.map((d) => `DNS:${d}`), ...result.san.ip.map((i) => `IP:${i}`)].join(', ')
  process.stdout.write(
    [
      `Wrote ${keyFile} (${result.keyDescription} private key, mode 0600: keep it on a protected volume)`,
      `Wrote ${csrFile}`,
      `  subject   CN=${values.cn}`,
      `  SANs      ${sans}`,
      `  SPKI pin  ${result.spkiSha256}`,
      '',
      'Send the CSR to the public CA (Thredd needs a publicly trusted chain). Then put the issued',
      'certificate followed by its intermediate(s) in one PEM file for tls.serverCertificates[].cert,',
      `with ${keyFile} as its key, and run \`ehi-gateway verify-config\`.`,
      `Inspect the request with: openssl req -in ${csrFile} -noout -text -verify`,
      '',
    ].join('\n'),
  )
  return 0
}
