/**
 * The time left for the host decides whether a message is forwarded at all: zero or less means
 * Thredd has already given up (ehi-domain.md §5), so it must never round a lapsed deadline up.
 */
import { describe, expect, it } from 'vitest'
import { remainingDeadlineMs } from '../../../../src/plane/ehi/deadline.ts'

describe('remainingDeadlineMs', () => {
  it.each([
    { name: 'nothing spent', deadline: 150, spent: 0, remaining: 150 },
    { name: 'part of the budget spent', deadline: 150, spent: 30, remaining: 120 },
    { name: 'fractional time rounded down', deadline: 150, spent: 20.4, remaining: 129 },
    { name: 'less than 1 ms left counts as none', deadline: 150, spent: 149.5, remaining: 0 },
    { name: 'exactly at the deadline', deadline: 150, spent: 150, remaining: 0 },
    { name: 'a fraction past the deadline', deadline: 150, spent: 150.2, remaining: -1 },
    { name: 'well past the deadline', deadline: 150, spent: 400, remaining: -250 },
    { name: 'a zero deadline', deadline: 0, spent: 0, remaining: 0 },
    { name: "Thredd's 200 ms default less a TLS handshake", deadline: 200, spent: 62.7, remaining: 137 },
  ])('$name: $deadline ms with $spent ms spent leaves $remaining ms', ({ deadline, spent, remaining }) => {
    expect(remainingDeadlineMs(deadline, spent)).toBe(remaining)
  })

  it.each([{ spent: 150 }, { spent: 150.0001 }, { spent: 149.9999 }, { spent: 1e9 }])(
    'never leaves a positive budget once $spent ms of 150 are spent',
    ({ spent }) => {
      expect(remainingDeadlineMs(150, spent)).toBeLessThanOrEqual(0)
    },
  )
})
