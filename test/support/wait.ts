/**
 * Waiting in tests and the bench: a pause, and polling a condition with a bound. Every wait is
 * bounded; what a test asserts stays in the test (`until` says whether the condition came).
 */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Calls `probe` every 50 ms until `ok` holds for its value or `timeoutMs` passes; gives the
 * last value either way.
 */
export async function poll<T>(
  probe: () => T | Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (ok(value) || Date.now() >= deadline) return value
    await sleep(50)
  }
}

/**
 * Polls `check` until it is true or `timeoutMs` passes, and says which. A check that throws
 * counts as not yet (a process still starting refuses connections).
 */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  return poll(
    () =>
      Promise.resolve()
        .then(check)
        .catch(() => false),
    (held) => held,
    timeoutMs,
  )
}

/** Like `until`, but throws (naming `what` and the check's last error) when the check never holds. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'the condition',
): Promise<void> {
  let lastError: unknown
  const held = await until(async () => {
    try {
      return await check()
    } catch (error) {
      lastError = error
      return false
    }
  }, timeoutMs)
  if (!held) {
    const why = lastError === undefined ? '' : ` (last error: ${String(lastError)})`
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
  }
}
