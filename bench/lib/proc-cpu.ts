/**
 * CPU time of a process tree from /proc: utime + stime of every process that descends from the
 * given roots (nginx master and worker, gateway primary and workers). Children that exit are not
 * counted (none should during a window). The parsing is pure; `treeCpuTicks` reads /proc.
 */
import { readdirSync, readFileSync } from 'node:fs'

export interface ProcStat {
  pid: number
  comm: string
  ppid: number
  /** Clock ticks (see `getconf CLK_TCK`, 100 on Linux). */
  utime: number
  stime: number
}

/** Parses one /proc/<pid>/stat line. The command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) return null
  const pid = Number(text.slice(0, open).trim())
  // Fields after the name, starting at field 3 (state): ppid is field 4, utime 14, stime 15.
  const rest = text
    .slice(close + 2)
    .trim()
    .split(' ')
  const ppid = Number(rest[1])
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  if (![pid, ppid, utime, stime].every(Number.isFinite)) return null
  return { pid, comm: text.slice(open + 1, close), ppid, utime, stime }
}

/** The ticks of every process in `stats` that is a root or descends from one. */
export function sumTreeTicks(stats: readonly ProcStat[], roots: readonly number[]): number {
  const byPid = new Map(stats.map((s) => [s.pid, s]))
  return treePids(stats, roots).reduce((sum, pid) => {
    const s = byPid.get(pid)!
    return sum + s.utime + s.stime
  }, 0)
}

/** The pids in `stats` that are a root or descend from one. */
export function treePids(stats: readonly ProcStat[], roots: readonly number[]): number[] {
  const children = new Map<number, ProcStat[]>()
  const byPid = new Map<number, ProcStat>()
  for (const s of stats) {
    byPid.set(s.pid, s)
    let list = children.get(s.ppid)
    if (!list) children.set(s.ppid, (list = []))
    list.push(s)
  }
  const found: number[] = []
  const seen = new Set<number>()
  const stack = [...roots]
  while (stack.length > 0) {
    const pid = stack.pop()!
    if (seen.has(pid)) continue
    seen.add(pid)
    if (byPid.has(pid)) found.push(pid)
    for (const child of children.get(pid) ?? []) stack.push(child.pid)
  }
  return found
}

/** VmRSS in KiB from a /proc/<pid>/status text (null when absent: a kernel thread, a zombie). */
export function parseVmRssKiB(statusText: string): number | null {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText)
  return match ? Number(match[1]) : null
}

/** The largest resident set (MiB) among the processes of the trees, and how many there were. */
export function treesMaxRss(roots: readonly number[]): { maxMiB: number; processes: number } {
  let maxKiB = 0
  let processes = 0
  for (const pid of treePids(readAllProcStats(), roots)) {
    try {
      const kib = parseVmRssKiB(readFileSync(`/proc/${pid}/status`, 'latin1'))
      if (kib == null) continue
      processes++
      maxKiB = Math.max(maxKiB, kib)
    } catch {
      // gone
    }
  }
  return { maxMiB: Math.round((maxKiB / 1024) * 10) / 10, processes }
}

/** Reads every /proc/<pid>/stat once (a process that ends meanwhile is skipped). */
export function readAllProcStats(): ProcStat[] {
  const stats: ProcStat[] = []
  for (const name of readdirSync('/proc')) {
    const first = name.charCodeAt(0)
    if (first < 48 || first > 57) continue
    try {
      const parsed = parseProcStat(readFileSync(`/proc/${name}/stat`, 'latin1'))
      if (parsed) stats.push(parsed)
    } catch {
      // gone
    }
  }
  return stats
}

/** CPU milliseconds of each tree, read at one instant. */
export function treesCpuMs(trees: readonly (readonly number[])[], clockTicks: number): number[] {
  const stats = readAllProcStats()
  return trees.map((roots) => (roots.length === 0 ? 0 : (sumTreeTicks(stats, roots) * 1000) / clockTicks))
}
