/**
 * A traffic generator in a process of its own. A soak runs two generators, the fault host and
 * the gateway at once; in one shared event loop, a pause of one (a GC, a burst of work) stalls
 * the others mid-handshake, and the gateway then rightly answers at the deadline, which would
 * measure the test, not the gateway. Each child also reports its own worst event-loop delay, so
 * a run that still fails says whose pause it was.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { loopDelayMonitor } from './loop-delay.ts'
import {
  runSimulation,
  type SimulationOptions,
  type SimulationReport,
} from '../../src/simulate/run-simulation.ts'

type Wire = Omit<SimulationOptions, 'target' | 'onProgress'> & { target: string }

export interface ChildSimulation {
  report: SimulationReport
  /** The generator's worst event-loop delay during the run, in ms. */
  loopDelayMaxMs: number
}

export function simulateInChild(options: Omit<SimulationOptions, 'onProgress'>): Promise<ChildSimulation> {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    let result: ChildSimulation | undefined
    child.once('message', (m) => (result = m as ChildSimulation))
    child.once('exit', (code) =>
      result ? resolve(result) : reject(new Error(`the generator exited (${code}) without a report`)),
    )
    child.send({ ...options, target: options.target.href } satisfies Wire)
  })
}

if (process.argv.includes('--child') && process.send) {
  process.once('message', (wire: Wire) => {
    const loopDelayMaxMs = loopDelayMonitor()
    void runSimulation({ ...wire, target: new URL(wire.target) }).then((report) =>
      process.send!({ report, loopDelayMaxMs: loopDelayMaxMs() } satisfies ChildSimulation, () =>
        process.exit(0),
      ),
    )
  })
  process.on('disconnect', () => process.exit(0))
}
