/**
 * A configuration snapshot: the loaded configuration plus the bytes of every file it names
 * (certificates, keys, CAs, CRLs, the Token HMAC key), read once.
 *
 * The runtime is compiled from a snapshot, never from the disk directly, so the process that
 * validated a configuration can hand exactly what it validated to every data plane: a cluster
 * worker started later, or re-forked after a refused reload, serves the primary's last good
 * state and cannot pick up a file that changed on disk since (a widened trust the reload guard
 * refused, a key half-written). The snapshot is plain JSON, so it crosses the cluster IPC channel
 * as it is; its SHA-256 is the fingerprint every worker reports back.
 */
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs'
import type { TSchema } from 'typebox'
import type { ExtraCrl } from './tls-material.ts'
import { ConfigSchema, FILE_PATH, type GatewayConfig } from '../config/config-schema.ts'

export interface ConfigSnapshot {
  /** Validated, defaulted, with file paths resolved. */
  readonly config: GatewayConfig
  /**
   * Every file the config names: its bytes (base64) and permission bits (`mode`, where the
   * platform has them: secrets must not be readable by every user), or the error code reading it
   * failed with.
   */
  readonly files: Readonly<Record<string, SnapshotFile>>
  /**
   * The Token HMAC key made when audit.tokenHmacKeyFile is unset (base64): made once per start
   * and kept across reloads, so every worker hashes Token alike.
   */
  readonly generatedTokenKey: string
  /** CRLs fetched over HTTP (tls.crl.fetch), in addition to the files: the control plane's last good set. */
  readonly extraCrls: readonly ExtraCrl[]
}

export type SnapshotFile = { data: string; mode?: number } | { error: string }

/** Reads a file of the snapshot; throws like readFileSync (with `code`) when it could not be read. */
export type FileReader = (file: string) => Buffer

/** Reads every file `config` names from the disk, once. */
export function takeSnapshot(
  config: GatewayConfig,
  previous?: ConfigSnapshot,
  extraCrls: readonly ExtraCrl[] = [],
): ConfigSnapshot {
  const files: Record<string, SnapshotFile> = {}
  for (const file of namedFiles(config)) {
    try {
      files[file] = readWithMode(file)
    } catch (error) {
      files[file] = { error: (error as NodeJS.ErrnoException).code ?? 'EIO' }
    }
  }
  return {
    config,
    files,
    generatedTokenKey: previous?.generatedTokenKey ?? randomBytes(32).toString('base64'),
    extraCrls,
  }
}

/** The bytes and the permission bits of one open file, so both describe the same file. */
function readWithMode(file: string): SnapshotFile {
  const fd = openSync(file, 'r')
  try {
    const data = readFileSync(fd).toString('base64')
    // Windows has no permission bits to speak of: nothing to check there.
    return process.platform === 'win32' ? { data } : { data, mode: fstatSync(fd).mode & 0o777 }
  } finally {
    closeSync(fd)
  }
}

/** The permission bits of a file of the snapshot, when it was read and the platform has them. */
export function snapshotFileMode(snapshot: ConfigSnapshot, file: string): number | undefined {
  const entry = snapshot.files[file]
  return entry && 'data' in entry ? entry.mode : undefined
}

export function snapshotReader(snapshot: ConfigSnapshot): FileReader {
  return (file) => {
    const entry = snapshot.files[file]
    if (entry && 'data' in entry) return Buffer.from(entry.data, 'base64')
    const error = new Error(`cannot read ${file}`) as NodeJS.ErrnoException
    // A path the snapshot does not hold was never named by its config: as if it did not exist.
    error.code = entry?.error ?? 'ENOENT'
    throw error
  }
}

/** SHA-256 of the whole snapshot: equal exactly when two processes compile the same input. */
export function snapshotFingerprint(snapshot: ConfigSnapshot): string {
  return createHash('sha256').update(JSON.stringify(snapshot)).digest('hex')
}

/** The file paths a config names (every schema field marked FILE_PATH), in schema order. */
export function namedFiles(config: GatewayConfig): string[] {
  const files = new Set<string>()
  collect(config, ConfigSchema, files)
  return [...files]
}

function collect(value: unknown, schema: TSchema, out: Set<string>): void {
  const node = schema as {
    type?: string
    properties?: Record<string, TSchema>
    items?: TSchema
    [FILE_PATH]?: boolean
  }
  if (node[FILE_PATH] && typeof value === 'string') out.add(value)
  else if (node.type === 'array' && node.items && Array.isArray(value))
    for (const item of value) collect(item, node.items, out)
  else if (node.type === 'object' && node.properties && value && typeof value === 'object') {
    for (const [key, child] of Object.entries(node.properties))
      collect((value as Record<string, unknown>)[key], child, out)
  }
}
