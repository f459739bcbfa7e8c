import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import {
  namedFiles,
  snapshotFingerprint,
  snapshotReader,
  takeSnapshot,
} from '../../../src/runtime/config-snapshot.ts'
import { validateConfig } from '../../../src/config/load-config.ts'
import { compileSnapshot } from '../../../src/runtime/compile-runtime.ts'
import { baseConfig } from '../../support/harness.ts'

const pki = inject('pki')

function config(extra: Record<string, unknown> = {}) {
  const { config, issues } = validateConfig({ ...baseConfig(pki, 'http://127.0.0.1:1'), ...extra })
  expect(issues).toEqual([])
  return config
}

describe('config snapshot', () => {
  it('holds every file the config names, and nothing else', () => {
    const snapshot = takeSnapshot(config())
    expect(Object.keys(snapshot.files).sort()).toEqual(namedFiles(snapshot.config).sort())
    expect(namedFiles(snapshot.config)).toContain(pki.files['server.key'])
    expect(namedFiles(snapshot.config)).toContain(pki.files['thredd-issuing-ca.crl.pem'])
  })

  it('reads a file as it was when the snapshot was taken, not as it is now', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-snapshot-'))
    const keyFile = join(dir, 'token.key')
    writeFileSync(keyFile, 'first key, sixteen bytes or more')
    const snapshot = takeSnapshot(config({ audit: { tokenHmacKeyFile: keyFile } }))
    writeFileSync(keyFile, 'second key, also long enough')
    expect(snapshotReader(snapshot)(keyFile).toString()).toBe('first key, sixteen bytes or more')
  })

  it('reports a file that could not be read with its error code, and an unnamed one as missing', () => {
    const missing = join(tmpdir(), 'ehi-gateway-no-such-file.key')
    const snapshot = takeSnapshot(config({ audit: { tokenHmacKeyFile: missing } }))
    const read = snapshotReader(snapshot)
    expect(() => read(missing)).toThrow(expect.objectContaining({ code: 'ENOENT' }))
    expect(() => read('/etc/passwd')).toThrow(expect.objectContaining({ code: 'ENOENT' }))
  })

  it('compiles to the same fingerprint after a trip through JSON (the cluster IPC channel)', () => {
    const snapshot = takeSnapshot(config())
    const copy = JSON.parse(JSON.stringify(snapshot)) as typeof snapshot
    expect(compileSnapshot(copy).fingerprint).toBe(compileSnapshot(snapshot).fingerprint)
    expect(snapshotFingerprint(copy)).toBe(snapshotFingerprint(snapshot))
  })

  it('keeps the generated Token key across snapshots of one process, and makes a new one per start', () => {
    const first = takeSnapshot(config())
    expect(takeSnapshot(config(), first).generatedTokenKey).toBe(first.generatedTokenKey)
    expect(takeSnapshot(config()).generatedTokenKey).not.toBe(first.generatedTokenKey)
  })
})
