/**
 * The README is the front door: at most 12 KB, every page of docs/ reachable from it, every
 * relative link in every markdown file pointing at a file (and heading) of the repository, and
 * nothing pointing outside it but public https pages.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '..', '..')

/** Folders that are not part of the repository's documentation (dependencies, build output, scratch). */
const SKIP = new Set(['node_modules', 'dist', 'coverage', join('bench', 'results')])

function markdownFiles(dir = root): string[] {
  const files: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.name.startsWith('.') || SKIP.has(relative(root, path))) continue
    if (entry.isDirectory()) files.push(...markdownFiles(path))
    else if (entry.name.endsWith('.md')) files.push(relative(root, path))
  }
  return files.sort()
}

/** The text outside fenced code blocks and inline code: what renders as links and headings. */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '')
}

interface Link {
  file: string
  target: string
}

function linksOf(file: string): Link[] {
  const text = prose(readFileSync(join(root, file), 'utf8'))
  return [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => ({
    file,
    target: m[1]!,
  }))
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(file: string): Set<string> {
  const text = readFileSync(join(root, file), 'utf8').replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
  const seen = new Map<string, number>()
  const anchors = new Set<string>()
  for (const [, heading] of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    anchors.add(n === 0 ? base : `${base}-${n}`)
  }
  return anchors
}

const files = markdownFiles()
const links = files.flatMap(linksOf)
const external = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target)

/** Where a relative link lands: the repository path and the anchor, or undefined if it leaves. */
function resolveLink(link: Link): { path: string; anchor: string | undefined } {
  const [pathPart, anchor] = link.target.split('#', 2) as [string, string | undefined]
  const path =
    pathPart === '' ? link.file : relative(root, resolve(root, dirname(link.file), decodeURI(pathPart)))
  return { path, anchor }
}

describe('README.md', () => {
  it('is at most 12 KB', () => {
    expect(statSync(join(root, 'README.md')).size).toBeLessThanOrEqual(12 * 1024)
  })

  it('links every page of docs/, directly or through a page it links', () => {
    const linkedFrom = (file: string) =>
      linksOf(file)
        .filter((link) => !external(link.target))
        .map((link) => resolveLink(link).path)
        .filter((path) => path.endsWith('.md') && existsSync(join(root, path)))
    const direct = linkedFrom('README.md')
    const reached = new Set([...direct, ...direct.flatMap(linkedFrom)])
    const pages = files.filter((file) => file.startsWith(`docs${sep}`))
    expect(pages.length).toBeGreaterThan(10)
    expect(pages.filter((page) => !reached.has(page))).toEqual([])
  })
})

describe('links in every markdown file', () => {
  it('finds the markdown files and their links', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', join('docs', 'architecture.md')]))
    expect(links.length).toBeGreaterThan(100)
  })

  it('resolve to a file or folder of the repository', () => {
    const broken = links
      .filter((link) => !external(link.target))
      .filter((link) => {
        const { path } = resolveLink(link)
        return path.startsWith('..') || !existsSync(join(root, path))
      })
      .map((link) => `${link.file}: ${link.target}`)
    expect(broken).toEqual([])
  })

  it('name a heading that exists where they give an anchor', () => {
    const broken = links
      .filter((link) => !external(link.target) && link.target.includes('#'))
      .filter((link) => {
        const { path, anchor } = resolveLink(link)
        return path.endsWith('.md') && existsSync(join(root, path)) && !anchorsOf(path).has(anchor!)
      })
      .map((link) => `${link.file}: ${link.target}`)
    expect(broken).toEqual([])
  })

  it('leave the repository only for public https pages', () => {
    const leaving = links
      .filter((link) => external(link.target) && !/^https:\/\//.test(link.target))
      .map((link) => `${link.file}: ${link.target}`)
    expect(leaving).toEqual([])
  })

  it('never point at the shared folder users do not have', () => {
    expect(links.filter((link) => link.target.includes('/shared/')).map((l) => l.target)).toEqual([])
    const naming = files.filter((file) =>
      /\.\.\/shared\b|\/work\/(shared|main)\b/.test(readFileSync(join(root, file), 'utf8')),
    )
    expect(naming).toEqual([])
  })
})
