/** Runs `ehi-gateway check --json` and returns the parsed report with the exit code. */
import type { CheckReport } from '../../src/tools/go-live/rules/report.ts'
import { runCli } from './cli.ts'
import type { TestPki } from './test-pki.ts'

export interface CheckRun {
  code: number | null
  report: CheckReport
  status: Record<string, string>
  /** Ids of the checks that did not pass (fail, warn, skip), with their status. */
  notPassing: Record<string, string>
  stderr: string
}

export async function runCheck(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CheckRun> {
  const run = runCli(['check', ...args, '--json'], env)
  const code = await run.exited
  let report: CheckReport
  try {
    report = JSON.parse(run.stdout()) as CheckReport
  } catch {
    throw new Error(
      `check printed no JSON (exit ${code})\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`,
    )
  }
  const status = Object.fromEntries(report.checks.map((c) => [c.id, c.status]))
  return {
    code,
    report,
    status,
    notPassing: Object.fromEntries(Object.entries(status).filter(([, s]) => s !== 'pass')),
    stderr: run.stderr(),
  }
}

/** The arguments of a check as Thredd: the test transport certificate, the test server root. */
export function asThredd(pki: TestPki, url: string, extra: string[] = []): string[] {
  return [
    url,
    '--cert',
    pki.clients.good.cert,
    '--key',
    pki.clients.good.key,
    '--ca',
    pki.files['server-root-ca.pem']!,
    '--expect-client-ca',
    'Test Thredd Root CA',
    '--expect-client-ca',
    'Test Thredd Issuing CA',
    ...extra,
  ]
}

/** Evidence lines of one check, joined, for assertions and failure messages. */
export function evidenceOf(run: CheckRun, id: string): string {
  return run.report.checks.find((c) => c.id === id)?.evidence.join('\n') ?? ''
}
