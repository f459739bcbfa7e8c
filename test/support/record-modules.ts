/**
 * Loaded with `node --import` into a child process: appends the URL of every module the process
 * loads (ESM and CommonJS) to the file named by RECORD_MODULES_TO, one per line.
 */
import { appendFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const file = process.env.RECORD_MODULES_TO
if (file) {
  registerHooks({
    load(url, context, nextLoad) {
      appendFileSync(file, `${url}\n`)
      return nextLoad(url, context)
    },
  })
}
