/**
 * `ehi-gateway check URL`: connects to an EHI endpoint as Thredd would and reports each go-live
 * check with its evidence. Works against any endpoint (ehi-gateway, nginx, anything else).
 * Exit code 0 only when every required check passes, 1 otherwise, 2 for bad usage.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { rootCertificates } from 'node:tls'
import { candidateTrustCheck, type AdminObservation } from '../tools/go-live/rules/candidate-trust-check.ts'
import { evaluateChecks } from '../tools/go-live/evaluate-checks.ts'
import { findExecutable, runProbes } from '../tools/go-live/probes.ts'
import { buildReport, renderJson, renderText } from '../tools/go-live/rules/report.ts'
import { SAMPLE_GET_TRANSACTION_XML } from '../tools/go-live/rules/sample-get-transaction.ts'
import { parseTarget, TargetError } from '../tools/go-live/target.ts'
import { issuerOf } from '../tools/pki/rules/certificate-info.ts'
import { certificateIssuerDer } from '../tools/pki/rules/x509-name.ts'
import { splitPem } from '../plane/tls/pem.ts'
import { defineCommand, parseCommand, usageError } from './command-line.ts'

export const CHECK = defineCommand({
  name: 'check',
  synopsis: 'URL [options]',
  summary: "Run Thredd's go-live checks against an EHI endpoint (ours or any other).",
  description: `Connect to an EHI endpoint as Thredd would (a new TLS connection per probe) and run the
go-live checks: protocols, cipher suites, the chain sent and its trust, expiry and host name,
the client CA names asked for, 400/403 without a client certificate, 200 and an EHI answer with
it, and HSTS. Works against any endpoint: the gateway, an nginx, a load balancer.`,
  options: {
    cert: {
      type: 'string',
      value: 'FILE',
      help: "A client certificate to present, as Thredd's transport certificate (with --key). Without it the check with a client certificate is skipped.",
    },
    key: { type: 'string', value: 'FILE', help: 'The private key of --cert.' },
    ca: {
      type: 'string',
      value: 'FILE',
      help: 'Trust anchors for the server chain (PEM). Default: the system roots, as Thredd and SSL Labs use.',
    },
    'expect-client-ca': {
      type: 'string',
      multiple: true,
      default: [],
      value: 'NAME',
      help: 'A CA name the server must ask for (a part of the name, any case); repeat for each. Without it, and with --cert, the issuer of the client certificate must be asked for.',
    },
    sample: {
      type: 'string',
      value: 'FILE',
      help: 'The message to POST (XML or JSON). Default: a synthetic 0100 authorisation built into the command.',
    },
    admin: {
      type: 'string',
      value: 'URL',
      help: "The gateway's admin server (http://HOST:PORT): adds an informational check, the candidate trust's differences from the live trust (would_refuse, would_allow by reason).",
    },
    json: { type: 'boolean', help: 'The report as JSON (same content).' },
    timeout: {
      type: 'string',
      value: 'MS',
      default: '5000',
      help: 'How long each probe may take, in milliseconds (at least 100).',
    },
  },
  maxPositionals: 1,
  notes:
    'Exit codes: 0 every required check passed, 1 one did not (or the server cannot be reached), 2 usage.',
})

export async function checkCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(CHECK, args)
  const usage = (problem: string) => usageError(CHECK, problem)
  if (positionals.length !== 1) throw usage('give exactly one URL, for example https://127.0.0.1:8443/ehi')
  if (Boolean(values.cert) !== Boolean(values.key)) throw usage('--cert and --key go together')
  const timeoutMs = Number(values.timeout)
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100)
    throw usage('--timeout must be a number of milliseconds (>= 100)')

  let admin: string | undefined
  if (values.admin !== undefined) {
    const url = URL.parse(values.admin)
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw usage('--admin must be the admin server URL, for example http://127.0.0.1:8442')
    admin = url.origin
  }

  let target
  try {
    target = parseTarget(positionals[0]!)
  } catch (error) {
    if (error instanceof TargetError) throw usage(error.message)
    throw error
  }

  const read = (file: string, what: string): string | undefined => {
    try {
      return readFileSync(file, 'utf8')
    } catch (error) {
      process.stderr.write(
        `ehi-gateway check: cannot read ${what} ${file} (${(error as NodeJS.ErrnoException).code})\n`,
      )
      return undefined
    }
  }
  const ca = values.ca ? read(values.ca, 'the CA file') : undefined
  const cert = values.cert ? read(values.cert, 'the client certificate') : undefined
  const key = values.key ? read(values.key, 'the client key') : undefined
  const sampleText = values.sample ? read(values.sample, 'the sample message') : SAMPLE_GET_TRANSACTION_XML
  if (
    (values.ca && ca === undefined) ||
    (values.cert && (cert === undefined || key === undefined)) ||
    sampleText === undefined
  ) {
    return 2
  }

  const anchorPems = ca
    ? splitPem(ca)
        .filter((b) => b.label === 'CERTIFICATE')
        .map((b) => b.der)
    : rootCertificates
  if (ca && anchorPems.length === 0) throw usage(`${values.ca} holds no PEM certificate`)
  const anchors = anchorPems.map((pem) => new X509Certificate(pem))

  let clientIssuer: { text: string; der: Buffer } | undefined
  if (cert) {
    const first = splitPem(cert).find((b) => b.label === 'CERTIFICATE')
    if (!first) throw usage(`${values.cert} holds no PEM certificate`)
    const leaf = new X509Certificate(first.der)
    clientIssuer = { text: issuerOf(leaf), der: certificateIssuerDer(leaf.raw) }
  }

  const openssl = findExecutable('openssl')
  const sampleFormat = sampleText.trimStart().startsWith('{') ? 'json' : 'xml'
  const probes = await runProbes({
    target,
    ca,
    client: cert && key ? { cert, key } : undefined,
    sample: { body: sampleText, format: sampleFormat },
    timeoutMs,
    concurrency: 8,
    openssl,
  })
  const now = new Date()
  const checks = evaluateChecks(probes, {
    now,
    anchors,
    anchorsLabel: values.ca ? `--ca ${values.ca}` : 'the system roots',
    hostname: target.hostname,
    expectedCaNames: values['expect-client-ca'],
    clientIssuer,
  })
  if (admin) checks.push(candidateTrustCheck(admin, await observeAdmin(admin, timeoutMs)))
  const notes: string[] = []
  if (!openssl) {
    notes.push(
      'openssl was not found on PATH: client CA names of a TLS 1.3-only server cannot be read (TLS 1.2 servers are read directly)',
    )
  }
  const report = buildReport(target.url, checks, now, notes)
  process.stdout.write(values.json ? renderJson(report) : renderText(report))
  return report.ok ? 0 : 1
}

/** Reads the gateway's /metrics and the candidate_trust check of its /readyz (503 has it too). */
async function observeAdmin(admin: string, timeoutMs: number): Promise<AdminObservation> {
  try {
    const metrics = await fetch(`${admin}/metrics`, { signal: AbortSignal.timeout(timeoutMs) })
    if (!metrics.ok) return { ok: false, problem: `GET /metrics answered ${metrics.status}` }
    const metricsText = await metrics.text()
    const ready = await fetch(`${admin}/readyz`, { signal: AbortSignal.timeout(timeoutMs) })
    const body = (await ready.json().catch(() => undefined)) as
      { checks?: { name?: string; ok?: boolean; detail?: string }[] } | undefined
    const check = body?.checks?.find((c) => c.name === 'candidate_trust')
    return {
      ok: true,
      metricsText,
      readiness: check ? { ok: check.ok === true, detail: String(check.detail ?? '') } : undefined,
    }
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code
    return { ok: false, problem: cause ?? (error as Error).message }
  }
}
