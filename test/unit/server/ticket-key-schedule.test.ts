import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Runtime } from '../../../src/runtime/compile-runtime.ts'
import { deriveTicketKey, rotationPeriod } from '../../../src/runtime/rules/ticket-keys.ts'
import { scheduleTicketKeys } from '../../../src/server/ticket-key-schedule.ts'

const SECRET = Buffer.alloc(32, 3)
const TRUST = 'c'.repeat(64)

function runtime(ticketSecret: Buffer | undefined, minutes = 60, trustHash = TRUST): Runtime {
  return {
    config: { tls: { ticketKeyRotationMinutes: minutes } },
    material: { trustHash },
    ticketSecret,
  } as unknown as Runtime
}

beforeEach(() => {
  vi.useFakeTimers()
  // 10 minutes into an hour-long period.
  vi.setSystemTime(new Date('2026-03-01T10:10:00Z'))
})
afterEach(() => vi.useRealTimers())

describe('ticket key schedule', () => {
  it('with a key file, installs the key of the current period at start', () => {
    const installed: Buffer[] = []
    const schedule = scheduleTicketKeys({ runtime: () => runtime(SECRET), install: (k) => installed.push(k) })
    expect(installed).toEqual([deriveTicketKey(SECRET, rotationPeriod(Date.now(), 60), TRUST)])
    schedule.stop()
  })

  it('with a key file, changes the key at the period boundary, not a period after the start', () => {
    const installed: Buffer[] = []
    const schedule = scheduleTicketKeys({ runtime: () => runtime(SECRET), install: (k) => installed.push(k) })
    vi.advanceTimersByTime(50 * 60_000 - 1)
    expect(installed).toHaveLength(1)
    vi.advanceTimersByTime(1)
    const boundary = new Date('2026-03-01T11:00:00Z').getTime()
    expect(installed).toHaveLength(2)
    expect(installed[1]).toEqual(deriveTicketKey(SECRET, rotationPeriod(boundary, 60), TRUST))
    vi.advanceTimersByTime(60 * 60_000)
    expect(installed).toHaveLength(3)
    schedule.stop()
  })

  it('keeps the previous key readable at a rotation boundary only, not at the start or a reload', () => {
    const kept: boolean[] = []
    const schedule = scheduleTicketKeys({
      runtime: () => runtime(SECRET),
      install: (_k, keep) => kept.push(keep),
    })
    schedule.refresh()
    vi.advanceTimersByTime(50 * 60_000)
    expect(kept).toEqual([false, false, true])
    schedule.stop()
  })

  it('with a key file, a reload keeps the key when the trust is the same and changes it when not', () => {
    let current = runtime(SECRET)
    const installed: Buffer[] = []
    const schedule = scheduleTicketKeys({ runtime: () => current, install: (k) => installed.push(k) })
    schedule.refresh()
    expect(installed[1]).toEqual(installed[0])
    current = runtime(SECRET, 60, 'd'.repeat(64))
    schedule.refresh()
    expect(installed[2]).not.toEqual(installed[0])
    schedule.stop()
  })

  it('without a key file, installs a new random key at start, at each boundary and at each reload', () => {
    const installed: Buffer[] = []
    const schedule = scheduleTicketKeys({
      runtime: () => runtime(undefined),
      install: (k) => installed.push(k),
    })
    schedule.refresh()
    vi.advanceTimersByTime(50 * 60_000)
    expect(installed).toHaveLength(3)
    expect(new Set(installed.map((k) => k.toString('hex'))).size).toBe(3)
    for (const key of installed) expect(key).toHaveLength(48)
    schedule.stop()
  })

  it('follows a reload to a new rotation period', () => {
    let current = runtime(SECRET, 60)
    const installed: Buffer[] = []
    const schedule = scheduleTicketKeys({ runtime: () => current, install: (k) => installed.push(k) })
    current = runtime(SECRET, 15)
    schedule.refresh()
    // 10:10 -> the next 15-minute boundary is 10:15.
    vi.advanceTimersByTime(5 * 60_000)
    expect(installed).toHaveLength(3)
    expect(installed[2]).toEqual(deriveTicketKey(SECRET, rotationPeriod(Date.now(), 15), TRUST))
    schedule.stop()
  })
})
