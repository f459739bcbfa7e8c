/** A problem with one configuration field, reported together with all others before listening. */
export interface ConfigIssue {
  /** Dotted key path with list indexes, for example `tls.serverCertificates[0].key`. */
  path: string
  message: string
  /** The environment variable the value came from, when it did not come from the file. */
  source?: string
}

/** Thrown when the configuration or the material it names is not usable; lists every issue. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[]
  readonly file: string | undefined

  constructor(issues: readonly ConfigIssue[], file?: string) {
    super(formatIssues(issues, file))
    this.name = 'ConfigError'
    this.issues = issues
    this.file = file
  }
}

export function formatIssues(issues: readonly ConfigIssue[], file?: string): string {
  const where = file ? ` (${file})` : ''
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`
  const lines = issues.map((i) => `  - ${i.path}: ${i.message}${i.source ? ` [from ${i.source}]` : ''}`)
  return [`Invalid configuration${where}: ${count}`, ...lines].join('\n')
}

/**
 * True when an issue concerns `field`: at it, below it, or at a section above it (then `field`
 * may be missing or of another type). A check that reads `field` cannot trust it then; every
 * other check still runs, so one pass names every bad field it can.
 */
export function hasIssueAt(issues: readonly ConfigIssue[], field: string): boolean {
  return issues.some((i) => i.path === '(top level)' || isWithin(i.path, field) || isWithin(field, i.path))
}

/**
 * True when an issue is at `field` or at a section above it: the value at `field` itself is in
 * doubt (missing, or of another type), though its parts may not be.
 */
export function hasIssueOver(issues: readonly ConfigIssue[], field: string): boolean {
  return issues.some((i) => i.path === '(top level)' || isWithin(field, i.path))
}

/** True when `path` is `outer` or a field or list item below it. */
function isWithin(path: string, outer: string): boolean {
  return path === outer || path.startsWith(`${outer}.`) || path.startsWith(`${outer}[`)
}

/** `/tls/serverCertificates/0/key` -> `tls.serverCertificates[0].key` */
export function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (acc, segment) => (/^\d+$/.test(segment) ? `${acc}[${segment}]` : acc ? `${acc}.${segment}` : segment),
      '',
    )
}

/**
 * Shows a rejected value in an error message only when that is safe: short scalars that do not
 * look like key material. Private key contents must never reach the output.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return ` (got ${String(value)})`
  if (typeof value === 'string' && value.length <= 80 && !/-----BEGIN|PRIVATE/i.test(value)) {
    return ` (got ${JSON.stringify(value)})`
  }
  return ''
}
