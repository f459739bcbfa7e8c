/**
 * Watches the config file and the files it names, and calls back once changes settle. Watches
 * the folders, not the files: certificate rotation usually replaces a file (rename, or a
 * Kubernetes Secret's symlink swap), which a watch on the old file would never see.
 */
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'

export interface FileWatcher {
  /** Replaces the set of watched files (after a reload changed which files the config names). */
  update(files: readonly string[]): void
  close(): void
}

export function watchFiles(
  files: readonly string[],
  debounceMs: number,
  onChange: (changed: string[]) => void,
): FileWatcher {
  let watchers: FSWatcher[] = []
  let timer: NodeJS.Timeout | undefined
  let changed = new Set<string>()

  const fire = () => {
    const list = [...changed]
    changed = new Set()
    onChange(list)
  }
  const start = (list: readonly string[]) => {
    const byDir = new Map<string, Set<string>>()
    for (const file of list) {
      const dir = dirname(file)
      if (!byDir.has(dir)) byDir.set(dir, new Set())
      byDir.get(dir)!.add(basename(file))
    }
    for (const [dir, names] of byDir) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          // Kubernetes swaps a `..data` symlink; any other name must be one of ours.
          const file = name ? String(name) : ''
          if (file !== '' && !names.has(file) && !file.startsWith('..')) return
          changed.add(file ? `${dir}/${file}` : dir)
          if (timer) clearTimeout(timer)
          timer = setTimeout(fire, debounceMs)
          timer.unref()
        })
        watcher.on('error', () => undefined)
        watchers.push(watcher)
      } catch {
        // A folder that does not exist yet cannot be watched; SIGHUP still reloads.
      }
    }
  }
  start(files)
  return {
    update(list) {
      for (const watcher of watchers) watcher.close()
      watchers = []
      start(list)
    },
    close() {
      if (timer) clearTimeout(timer)
      for (const watcher of watchers) watcher.close()
      watchers = []
    },
  }
}
