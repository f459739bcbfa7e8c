/** The facts every bench figure comes with: machine, versions, date and the load around the run. */
import { cpus, loadavg, release, totalmem } from 'node:os'
import type { MachineFacts } from './types.ts'

export function machineFacts(nginx: string): MachineFacts {
  const list = cpus()
  return {
    cpus: list.length,
    model: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    openssl: process.versions.openssl,
    nginx,
    date: new Date().toISOString(),
    loadBefore: loadNow(),
    loadAfter: [],
  }
}

export function loadNow(): number[] {
  return loadavg().map((n) => Math.round(n * 100) / 100)
}
