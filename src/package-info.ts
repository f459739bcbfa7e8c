import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The folder holding ehi-gateway's package.json, from src/ (dev) or dist/src/ (built). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'package.json')
    if (
      existsSync(candidate) &&
      (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'ehi-gateway'
    ) {
      return dir
    }
    dir = dirname(dir)
  }
  return process.cwd()
}

export function packageVersion(): string {
  const file = join(packageRoot(), 'package.json')
  return existsSync(file)
    ? ((JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0')
    : '0.0.0'
}
