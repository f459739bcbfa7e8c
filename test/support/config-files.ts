/** Every file a configuration names (the schema fields marked as file paths), for mount checks. */
import type { TSchema } from 'typebox'
import { ConfigSchema, FILE_PATH } from '../../src/config/config-schema.ts'

export function filePathsOf(
  value: unknown,
  schema: TSchema = ConfigSchema,
  path = '',
): { path: string; file: string }[] {
  const node = schema as {
    type?: string
    properties?: Record<string, TSchema>
    items?: TSchema
    [FILE_PATH]?: boolean
  }
  if (node[FILE_PATH] && typeof value === 'string') return [{ path, file: value }]
  if (node.type === 'array' && node.items && Array.isArray(value))
    return value.flatMap((item, i) => filePathsOf(item, node.items!, `${path}[${i}]`))
  if (node.type === 'object' && node.properties && value && typeof value === 'object') {
    return Object.entries(node.properties).flatMap(([key, child]) =>
      filePathsOf((value as Record<string, unknown>)[key], child, path ? `${path}.${key}` : key),
    )
  }
  return []
}

/** True when `file` is inside the folder `dir` (both absolute POSIX paths). */
export function isUnder(file: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir : `${dir}/`
  return file.startsWith(d)
}
