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
} from '../../src/tools/simulate/run-simulation.ts'

type Wire = Omit<SimulationOptions, 'target' | 'onProgress'> & { target: string }

export interface ChildSimulation {
  report: SimulationReport
  /** The generator's worst event-loop delay during the run, in ms. */
  loopDelayMaxMs: number
}

/**
 * Starts a generator in a child and warms it (a few messages, not counted: a cold process's first
 * handshakes run while it is still compiling, and a slow client handshake spends the message's
 * deadline, which starts at connect). `run()` then starts the measured run.
 */
export async function prepareSimulation(
  options: Omit<SimulationOptions, 'onProgress'>,
): Promise<{ run(): Promise<ChildSimulation> }> {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const next = () =>
    Promise.race([
      new Promise<unknown>((resolve) => child.once('message', resolve)),
      exited.then((code) => {
        throw new Error(`the generator exited (${code}) before its report`)
      }),
    ])
  const ready = next()
  child.send({ ...options, target: options.target.href } satisfies Wire)
  await ready
  return {
    async run() {
      const report = next()
      child.send('go')
      return (await report) as ChildSimulation
    },
  }
}

if (process.argv.includes('--child') && process.send) {
  process.once('message', (wire: Wire) => {
    const options = { ...wire, target: new URL(wire.target) }
    void runSimulation({ ...options, rate: Math.min(options.rate, 20), durationS: 1 }).then(() => {
      process.once('message', () => {
        const loopDelayMaxMs = loopDelayMonitor()
        void runSimulation(options).then((report) =>
          process.send!({ report, loopDelayMaxMs: loopDelayMaxMs() } satisfies ChildSimulation, () =>
            process.exit(0),
          ),
        )
      })
      process.send!('ready')
    })
  })
  process.on('disconnect', () => process.exit(0))
}
