/**
 * Builds the test PKI once per run into a fresh temporary folder and hands its path to tests.
 * Also hands out the run's PostgreSQL registry folder: the teardown stops every throwaway cluster
 * (test/support/postgres.ts) a test file started and could not stop itself.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { stopRegisteredClusters } from './postgres.ts'
import { buildTestPki, type TestPki } from './test-pki.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    pki: TestPki
    pgRegistry: string
  }
}

export default function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-pki-'))
  project.provide('pki', buildTestPki(dir))
  const pgRegistry = mkdtempSync(join(tmpdir(), 'ehi-gateway-pg-registry-'))
  project.provide('pgRegistry', pgRegistry)
  return () => {
    rmSync(dir, { recursive: true, force: true })
    stopRegisteredClusters(pgRegistry)
  }
}
