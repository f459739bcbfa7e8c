/**
 * The hardening suite's results: every case appends one JSON line
 * `{ case, category, expected, observed, pass }` to the results file, which
 * `npm run hardening:report` turns into docs/hardening-results.md.
 *
 * The file is EHI_HARDENING_RESULTS, or .test-hardening/results.jsonl (git-ignored). Lines carry
 * the run they belong to (the test PKI's folder, made once per vitest run), so the report reads
 * the latest run only. EHI_HARDENING_PROFILE=long selects the long profile (10-minute soak,
 * longer fuzz runs); anything else is the CI profile.
 */
import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { inject } from 'vitest'
import { ROOT } from '../support/cli.ts'

export const DEFAULT_RESULTS_FILE = join(ROOT, '.test-hardening', 'results.jsonl')

export type Profile = 'ci' | 'long'
export const PROFILE: Profile = process.env.EHI_HARDENING_PROFILE === 'long' ? 'long' : 'ci'

/** Picks the CI or the long value of a setting. */
export function byProfile<T>(ci: T, long: T): T {
  return PROFILE === 'long' ? long : ci
}

export type Category = 'tls' | 'http' | 'message' | 'fuzz' | 'fault' | 'soak'

export interface CaseResult {
  case: string
  category: Category
  expected: string
  observed: string
  pass: boolean
  /** The case is a known gateway bug, reported and marked `it.fails` until src/ is fixed. */
  knownFailure?: boolean
  /** Measurements worth keeping (the soak's throughput, latency, fd and RSS figures). */
  figures?: Record<string, unknown>
}

export interface RecordedResult extends CaseResult {
  run: string
  profile: Profile
  at: string
}

export function resultsFile(): string {
  return process.env.EHI_HARDENING_RESULTS || DEFAULT_RESULTS_FILE
}

function runId(): string {
  try {
    return inject('pki').dir
  } catch {
    return `pid-${process.pid}`
  }
}

export function recordResult(result: CaseResult): void {
  const line: RecordedResult = { ...result, run: runId(), profile: PROFILE, at: new Date().toISOString() }
  const file = resultsFile()
  mkdirSync(dirname(file), { recursive: true })
  appendFileSync(file, `${JSON.stringify(line)}\n`)
}

export interface CaseContext {
  /** What happened, in a few words; call it before the assertions so a failure still says. */
  observe(text: string): void
  /** Adds figures to the recorded result. */
  figures(values: Record<string, unknown>): void
}

/**
 * Wraps a test body so its outcome is recorded: pass when the body returns, fail (with the
 * observation and the assertion message) when it throws. The error is re-thrown for vitest.
 * `knownFailure` marks a case that is run with `it.fails` until the gateway is fixed.
 */
export function hardeningCase(
  category: Category,
  name: string,
  expected: string,
  body: (c: CaseContext) => Promise<void> | void,
  options: { knownFailure?: boolean } = {},
): () => Promise<void> {
  return async () => {
    let observed = ''
    let figures: Record<string, unknown> | undefined
    const context: CaseContext = {
      observe: (text) => {
        observed = observed ? `${observed}; ${text}` : text
      },
      figures: (values) => {
        figures = { ...figures, ...values }
      },
    }
    const result = (pass: boolean, extra = ''): CaseResult => ({
      case: name,
      category,
      expected,
      observed: [observed, extra].filter(Boolean).join(' | ') || '(nothing observed)',
      pass,
      ...(options.knownFailure ? { knownFailure: true } : {}),
      ...(figures ? { figures } : {}),
    })
    try {
      await body(context)
    } catch (error) {
      const message = (error as Error).message.split('\n')[0]!.slice(0, 300)
      recordResult(result(false, `assertion: ${message}`))
      throw error
    }
    recordResult(result(true))
  }
}
