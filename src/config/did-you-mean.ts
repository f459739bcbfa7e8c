/**
 * "Did you mean": the known name a mistyped one most likely stands for. Pure; used for unknown
 * configuration keys, EHI_GATEWAY_* variables, commands and options.
 */

/**
 * The candidate closest to `given`, or undefined when none is close enough to be a likely typo.
 * Case, `_`, `-` and `.` are ignored (`clientCA` is `clientCa`, `ALLOW_LIST` is `ALLOWLIST`); then
 * up to one edit (insert, delete, replace or swap two neighbours) per four characters, at most two.
 */
export function closestName(given: string, candidates: Iterable<string>): string | undefined {
  const target = normalise(given)
  if (target === '') return undefined
  const limit = Math.min(2, Math.max(1, Math.floor(target.length / 4)))
  let best: { name: string; distance: number } | undefined
  for (const name of candidates) {
    if (name === given) continue
    const distance = editDistance(target, normalise(name))
    if (distance <= limit && (!best || distance < best.distance)) best = { name, distance }
  }
  return best?.name
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_.]/g, '')
}

/** Optimal string alignment distance: Levenshtein plus the swap of two neighbouring characters. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, d[i - 2]![j - 2]! + 1)
      d[i]![j] = value
    }
  }
  return d[rows - 1]![cols - 1]!
}
