/** Builds the test PKI once per run into a fresh temporary folder and hands its path to tests. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { buildTestPki, type TestPki } from './test-pki.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    pki: TestPki
  }
}

export default function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-pki-'))
  project.provide('pki', buildTestPki(dir))
  return () => rmSync(dir, { recursive: true, force: true })
}
