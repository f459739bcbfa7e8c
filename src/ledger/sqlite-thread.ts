/**
 * A worker thread holding one SQLite connection (sqlite-engine.ts). Messages in: `{ id, method,
 * args }`; out: `{ id, ok: true, value }` or `{ id, ok: false, error }`. Calls run one at a time,
 * in order, so a batch and the next one never interleave.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { errorKind } from './store.ts'
import { SqliteEngine, type SqliteOptions } from './sqlite-engine.ts'

interface Call {
  id: number
  method: string
  args: unknown[]
}

const engine = new SqliteEngine(workerData as SqliteOptions)
const port = parentPort!

// One call at a time, in arrival order (open awaits the module load; nothing may overtake it).
let chain: Promise<void> = Promise.resolve()
port.on('message', (call: Call) => {
  chain = chain.then(() => handle(call))
})

async function handle(call: Call): Promise<void> {
  try {
    let value: unknown
    if (call.method === 'open') value = await engine.open(call.args[0] as boolean)
    else {
      const method = (engine as unknown as Record<string, (...args: unknown[]) => unknown>)[call.method]
      if (typeof method !== 'function') throw new Error(`no method ${call.method}`)
      value = method.apply(engine, call.args)
    }
    port.postMessage({ id: call.id, ok: true, value })
  } catch (error) {
    const e = error as { message?: string; errcode?: number; code?: string }
    port.postMessage({
      id: call.id,
      ok: false,
      error: {
        message: String(e?.message ?? error),
        kind: errorKind(error),
        errcode: e?.errcode,
        code: e?.code,
      },
    })
  }
}
