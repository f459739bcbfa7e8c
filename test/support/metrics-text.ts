/** Prometheus text exposition (an admin server's /metrics) as the tests read it. */

/** The sum of a metric's samples, or of those whose labels include every one of `labels`. */
export function sumMetric(text: string, name: string, labels?: Record<string, string>): number {
  let total = 0
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue
    if (labels && !Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue
    total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}
