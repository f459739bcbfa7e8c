import { monitorEventLoopDelay } from 'node:perf_hooks'

/** Starts a monitor of this process's event-loop delay; returns its worst delay so far, in ms. */
export function loopDelayMonitor(): () => number {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  return () => Math.round(histogram.max / 1e5) / 10
}
