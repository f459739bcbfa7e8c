/**
 * `ehi-gateway certs`: `dev` (the demo PKI, also used by the tests and the bench), `inspect`
 * (what a certificate/CRL file or a live server holds, with the values the config takes) and
 * `csr` (a key and a CSR for the public CA that issues the server certificate).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
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
import { packageRoot } from '../package-info.ts'
import { defineCommand, parseCommand, usageError } from './command-line.ts'

export function certsDev(args: string[]): number {
  const { values } = parseCommand(CERTS_DEV, args)
  process.stdout.write(devPki(values.out ?? join(packageRoot(), 'certs', 'dev'), values.force === true))
  return 0
}

function devPki(out: string, force: boolean): string {
  const dir = resolve(out)
  const result = ensureDevPki(dir, { force })
  const files = Object.values(DEV_PKI_FILES)
    .map((f) => `  ${f}`)
    .join('\n')
  return result.generated
    ? `Generated the dev PKI in ${dir} (${result.reason}):\n${files}\nPrivate keys (*.key) are git-ignored; never use them outside a demo.\n`
    : `The dev PKI in ${dir} is ${result.reason}; use --force to regenerate it.\n`
}

export const CERTS_DEV = defineCommand({
  name: 'certs dev',
  synopsis: '[--out DIR] [--force]',
  summary: "Generate the dev PKI (the demo's CAs, certificates, keys and CRLs).",
  description: `Generate the dev PKI the demo, the tests and the bench use: stand-ins for Thredd's CAs
and transport certificate, a server chain (RSA and ECDSA), and CRLs. An existing, still valid dev
PKI is kept. Never use these keys outside a demo.`,
  options: {
    out: { type: 'string', value: 'DIR', help: 'Where to write it. Default: certs/dev in the package.' },
    force: { type: 'boolean', help: 'Regenerate it even when the existing one is valid.' },
  },
})

export const CERTS_INSPECT = defineCommand({
  name: 'certs inspect',
  synopsis: 'FILE|https://host:port [--json] [--timeout MS]',
  summary: 'Show the certificates and CRLs of a file or of a live server, with pins.',
  description: `Show the certificates (and CRLs) of a PEM/DER file or those a live server presents: chain
tree, names, key, validity, SPKI pin and SHA-256 fingerprint ready for clientAuth.pins, and a
server's acceptable client certificate CA names.`,
  options: {
    json: { type: 'boolean', help: 'JSON instead of text.' },
    timeout: {
      type: 'string',
      value: 'MS',
      default: '5000',
      help: 'How long to wait for a live server, in milliseconds (at least 100).',
    },
  },
  maxPositionals: 1,
  notes: 'Exit codes: 0 shown, 1 nothing readable (or the server could not be read), 2 usage.',
})

export const CERTS_CSR = defineCommand({
  name: 'certs csr',
  synopsis: '--cn NAME [--san DNS|IP ...] [--key-type ec|rsa] [--out DIR] [--force]',
  summary: "Write a private key and a CSR for the public CA's server certificate.",
  description: `Write a private key (ECDSA P-256 by default, or RSA 2048; mode 0600) and a certificate
signing request for the public CA that issues the gateway's server certificate. An existing key
is never replaced without --force.`,
  options: {
    cn: { type: 'string', value: 'NAME', help: 'The host name Thredd connects to (required); also a SAN.' },
    san: {
      type: 'string',
      multiple: true,
      default: [],
      value: 'DNS|IP',
      help: 'A further subject alternative name; repeat for each.',
    },
    'key-type': { type: 'string', value: 'ec|rsa', default: 'ec', help: 'The key: ECDSA P-256 or RSA 2048.' },
    out: { type: 'string', value: 'DIR', default: '.', help: 'Where to write NAME.key and NAME.csr.' },
    force: { type: 'boolean', help: 'Replace an existing key.' },
  },
})

export async function certsInspect(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CERTS_INSPECT, args)
  if (positionals.length !== 1) throw usageError(CERTS_INSPECT, 'give one file or https://host:port')
  const timeoutMs = Number(values.timeout)
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100)
    throw usageError(CERTS_INSPECT, '--timeout must be a number of milliseconds (>= 100)')
  const input = positionals[0]!
  const now = new Date()
  if (/^https:\/\//i.test(input)) {
    let target
    try {
      target = parseTarget(input)
    } catch (error) {
      if (error instanceof TargetError) throw usageError(CERTS_INSPECT, error.message)
      throw error
    }
    const { views, notes } = await readServerViews(
      {
        target,
        ca: undefined,
        timeoutMs,
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

export function certsCsr(args: string[]): number {
  const { values } = parseCommand(CERTS_CSR, args)
  const usage = (problem: string) => usageError(CERTS_CSR, problem)
  if (!values.cn) throw usage('--cn NAME is required (the host name Thredd connects to)')
  const keyType = values['key-type']
  if (keyType !== 'ec' && keyType !== 'rsa') throw usage('--key-type is ec or rsa')
  let result
  try {
    result = buildServerCsr({ cn: values.cn, sans: values.san, keyType })
  } catch (error) {
    throw usage((error as Error).message)
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
