/**
 * Release hygiene: the version is written in package.json alone (the image's label, the build
 * scripts and the Kubernetes overlays read or follow it), the packaged files never reach into
 * test/, the container smoke test runs the reference host as its own container, as the compose
 * stack does, since `serve` no longer starts it, and CHANGELOG.md keeps Keep a Changelog's form
 * with package.json's version as its newest release.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const read = (file: string) => readFileSync(join(root, file), 'utf8')
const pkg = JSON.parse(read('package.json')) as {
  version: string
  files: string[]
  scripts: Record<string, string>
}
const FROM_PACKAGE_JSON = `node -p 'require("./package.json").version'`

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(root, path)).isDirectory() ? filesUnder(path) : [path]
  })
}

describe('the version lives in package.json', () => {
  it('is a semantic version', () => {
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('the Dockerfile takes it as a build argument without a default, labels the image with it, and refuses another', () => {
    const dockerfile = read('docker/Dockerfile')
    expect(dockerfile).toMatch(/^ARG VERSION$/m)
    expect(dockerfile).toContain('org.opencontainers.image.version="${VERSION}"')
    expect(dockerfile).toContain(`require("/app/package.json").version`)
    expect(dockerfile).toMatch(/\[ "\$VERSION" != "\$v" \]/)
  })

  it('every build passes it from package.json: npm run container:build and the smoke test', () => {
    expect(pkg.scripts['container:build']).toBe('bash docker/build.sh')
    for (const script of ['docker/build.sh', 'docker/smoke-test.sh']) {
      const text = read(script)
      expect(text, script).toContain(`version=$(${FROM_PACKAGE_JSON})`)
      expect(text, script).toContain('--build-arg "VERSION=$version"')
    }
  })

  it('is written nowhere else in what is built or deployed (the overlays follow it, see kubernetes.test.ts)', () => {
    const version = new RegExp(`(?<![\\d.])${pkg.version.replaceAll('.', '\\.')}(?![\\d.])`)
    const followers = [
      'deploy/k8s/overlays/sandbox/kustomization.yaml',
      'deploy/k8s/overlays/production/kustomization.yaml',
    ]
    const hits = ['src', 'config', 'docker', 'deploy', 'scripts']
      .flatMap(filesUnder)
      .filter((file) => !followers.includes(file) && version.test(read(file)))
    expect(hits).toEqual([])
    for (const file of followers) expect(read(file), file).toContain(`newTag: ${pkg.version}`)
  })
})

describe('the package', () => {
  it('ships the compiled code and the configurations, nothing of test/', () => {
    expect(pkg.files).toEqual(['dist/src', 'config'])
  })

  it('has no code that reads test/ at run time (comments aside), nor a configuration naming it', () => {
    const problems: string[] = []
    for (const file of filesUnder('src').filter((f) => f.endsWith('.ts'))) {
      const code = read(file)
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .split('\n')
        .filter((line) => !/^\s*\/\//.test(line))
        .join('\n')
      if (/test\/(fixtures|support)/.test(code)) problems.push(file)
    }
    for (const file of filesUnder('config')) if (read(file).includes('test/')) problems.push(file)
    expect(problems).toEqual([])
  })
})

describe('docker/smoke-test.sh', () => {
  const script = read('docker/smoke-test.sh')

  it('is valid bash', () => {
    const r = spawnSync('bash', ['-n', join(root, 'docker', 'smoke-test.sh')], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
  })

  it('runs the reference host in its own container and points the gateway at it, as compose does', () => {
    expect(script).toMatch(/"\$IMAGE" reference-host --host 127\.0\.0\.1 --port "\$host_port"/)
    expect(script).toContain('-e "EHI_GATEWAY_UPSTREAM__URL=http://127.0.0.1:$host_port/ehi"')
    // `serve` has no reference host to configure any more.
    expect(script).not.toContain('REFERENCE_HOST')
    expect(read('docker/gateway.compose.yaml')).not.toMatch(/^referenceHost:/m)
    // Both containers removed, each on its own (podman rm stops at a missing name).
    expect(script).toContain('for ctr in "$CTR" "$HOST_CTR"; do podman rm -f -t 0 "$ctr"')
  })

  it('needs nothing from test/ and points at nothing outside the repository', () => {
    expect(script).not.toMatch(/@test\/|test\/fixtures\/ehi\/auth/)
    expect(script).not.toContain('shared/')
  })
})

describe('CHANGELOG.md', () => {
  const changelog = read('CHANGELOG.md')
  const versions = [...changelog.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$/gm)].map((m) => ({
    name: m[1]!,
    date: m[2],
  }))

  it('opens with the coming version, then the released ones, newest first, each dated', () => {
    expect(versions[0]).toEqual({ name: 'Unreleased', date: undefined })
    const released = versions.slice(1)
    expect(released.length).toBeGreaterThan(0)
    for (const v of released) {
      expect(v.name).toMatch(/^\d+\.\d+\.\d+$/)
      expect(v.date, v.name).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    }
    const order = released.map((v) => v.name.split('.').map(Number))
    for (let i = 1; i < order.length; i++) {
      const [a, b] = [order[i - 1]!, order[i]!]
      const newer = a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!
      expect(newer, `${released[i - 1]!.name} before ${released[i]!.name}`).toBeGreaterThan(0)
    }
  })

  it("names package.json's version as the newest release", () => {
    expect(versions[1]?.name).toBe(pkg.version)
  })

  it('uses only Keep a Changelog sections (and Breaking), and lists breaking changes for the coming version', () => {
    const sections = [...changelog.matchAll(/^### (.+)$/gm)].map((m) => m[1])
    for (const s of sections)
      expect(['Breaking', 'Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security']).toContain(s)
    const unreleased = changelog.slice(
      changelog.indexOf('## [Unreleased]'),
      changelog.indexOf(`## [${pkg.version}]`),
    )
    expect(unreleased).toContain('### Breaking')
    for (const topic of [
      'admin.port',
      'admin.readinessChecksHost',
      'reference-host',
      'upstream.forwardHeaders',
    ])
      expect(unreleased, topic).toContain(topic)
  })

  it('links only to files in the repository', () => {
    for (const [, target] of changelog.matchAll(/\]\(([^)\s]+)\)/g)) {
      expect(target, 'no link leaves the repository').not.toMatch(/^[a-z]+:/)
      expect(existsSync(join(root, target!.split('#')[0]!)), target).toBe(true)
    }
  })
})
