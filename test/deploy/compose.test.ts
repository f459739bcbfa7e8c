/**
 * The container image and the compose stack cannot run here (no container engine in the test
 * suite; docker/smoke-test.sh builds and runs the image with podman), so their files are checked
 * for what would break `docker compose up` or a deployment: the Dockerfile's stages, user,
 * healthcheck, stop signal and ports agree with the gateway's defaults; .dockerignore keeps keys
 * and build output out; every compose service runs an image built from docker/Dockerfile or a
 * pinned official one; every file a service mounts exists; the gateway's configuration validates
 * against the schema and every file it names is on a read-only mount; ports, Prometheus' scrape
 * target and rules, and Grafana's provisioning point at what the other services serve.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, posix, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { validateConfig } from '../../src/config/load-config.ts'
import { DEV_PKI_FILES } from '../../src/tools/pki/dev-pki.ts'
import { filePathsOf, isUnder } from '../support/config-files.ts'
import { imageLaunch, parseDockerfile } from '../support/dockerfile.ts'

const root = join(import.meta.dirname, '..', '..')
const dockerDir = join(root, 'docker')
const read = (file: string) => readFileSync(file, 'utf8')

// ---------------------------------------------------------------------------------------------
// Dockerfile

const dockerfile = parseDockerfile(read(join(dockerDir, 'Dockerfile')))
const defaults = validateConfig({
  tls: { serverCertificates: [{ cert: 'a', key: 'b' }], clientCa: ['c'] },
  upstream: { url: 'http://h/' },
}).config
const stageOf = (n: number) => dockerfile.filter((i) => i.stage === n)
const finalStage = Math.max(...dockerfile.map((i) => i.stage))

describe('docker/Dockerfile', () => {
  it('is multi-stage, every stage FROM node:24-bookworm-slim', () => {
    const froms = dockerfile.filter((i) => i.keyword === 'FROM')
    expect(froms.length).toBeGreaterThanOrEqual(2)
    for (const from of froms) expect(from.args).toMatch(/^node:24-bookworm-slim( AS \w+)?$/)
  })

  it('builds with npm ci and the TypeScript build, and installs production dependencies only in the runtime', () => {
    const build = stageOf(0)
      .filter((i) => i.keyword === 'RUN')
      .map((i) => i.args)
    expect(build.some((a) => /\bnpm ci\b/.test(a) && !/--omit=dev/.test(a))).toBe(true)
    expect(build.some((a) => /\bnpm run build\b/.test(a))).toBe(true)
    const runtime = stageOf(finalStage)
      .filter((i) => i.keyword === 'RUN')
      .map((i) => i.args)
    const install = runtime.find((a) => /\bnpm ci\b/.test(a))
    expect(install).toMatch(/--omit=dev/)
    expect(install).toMatch(/--ignore-scripts/)
    expect(runtime.some((a) => /npm run build|tsc/.test(a))).toBe(false)
    // Only the compiled output comes from the build stage.
    const copies = stageOf(finalStage).filter((i) => i.keyword === 'COPY' && i.args.includes('--from='))
    expect(copies.map((c) => c.args)).toEqual(['--from=build /app/dist/src ./dist/src'])
  })

  it('runs the built CLI as a non-root user, with the config named by EHI_GATEWAY_CONFIG', () => {
    const runtime = stageOf(finalStage)
    const user = runtime.findLast((i) => i.keyword === 'USER')?.args
    expect(user).toBe('node:node')
    expect(imageLaunch(dockerfile).script).toBe('/app/dist/src/cli/main.js')
    // tsc -p tsconfig.build.json emits src/cli/main.ts as dist/src/cli/main.js.
    expect(existsSync(join(root, 'src', 'cli', 'main.ts'))).toBe(true)
    expect(JSON.parse(read(join(root, 'tsconfig.build.json'))).compilerOptions.outDir).toBe('dist')
    expect(JSON.parse(runtime.find((i) => i.keyword === 'CMD')!.args)).toEqual(['serve'])
    const env = runtime
      .filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ')
    expect(env).toMatch(/EHI_GATEWAY_CONFIG=\/etc\/ehi-gateway\/gateway\.yaml/)
    // Probes reach the admin server from outside the container.
    expect(env).toMatch(/EHI_GATEWAY_ADMIN__HOST=0\.0\.0\.0/)
  })

  it('caps the young generation and the malloc arenas (the memory settings docs/bench.md measured)', () => {
    const launch = imageLaunch(dockerfile)
    expect(launch.nodeOptions).toEqual(['--max-semi-space-size=4'])
    expect(launch.env.MALLOC_ARENA_MAX).toBe('2')
  })

  it('exposes the EHI and admin ports, stops with SIGTERM and checks /livez on the admin port', () => {
    const runtime = stageOf(finalStage)
    const exposed = runtime
      .filter((i) => i.keyword === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/).map(Number))
    expect(exposed).toEqual(expect.arrayContaining([defaults.listen.port, defaults.admin.port]))
    expect(runtime.find((i) => i.keyword === 'STOPSIGNAL')?.args).toBe('SIGTERM')
    const healthcheck = runtime.find((i) => i.keyword === 'HEALTHCHECK')!.args
    expect(healthcheck).toMatch(/--interval=\d+s/)
    expect(healthcheck).toContain('/livez')
    expect(healthcheck).toContain(`EHI_GATEWAY_ADMIN__PORT||${defaults.admin.port}`)
    // No curl in a slim image: node itself fetches.
    expect(healthcheck).toMatch(/CMD \["node", "-e",/)
  })

  it('carries the OCI labels', () => {
    const labels = stageOf(finalStage)
      .filter((i) => i.keyword === 'LABEL')
      .map((i) => i.args)
      .join(' ')
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'base.name'])
      expect(labels).toContain(`org.opencontainers.image.${key}=`)
  })

  it('copies only files that exist and that .dockerignore lets through', () => {
    const ignore = read(join(root, '.dockerignore'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
    for (const needed of [
      '.git',
      'node_modules',
      'dist',
      'certs',
      '**/*.key',
      '.test-results.json',
      '.scratch',
    ])
      expect(ignore).toContain(needed)
    const copied = dockerfile
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
    for (const source of copied) {
      expect(existsSync(join(root, source)), source).toBe(true)
      expect(
        ignore.some((pattern) => source.replace(/\/$/, '') === pattern.replace(/\/$/, '')),
        source,
      ).toBe(false)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// compose.yaml

interface Service {
  build?: { context: string; dockerfile: string }
  image?: string
  user?: string
  command?: string[]
  entrypoint?: string[]
  environment?: Record<string, string>
  volumes?: string[]
  ports?: string[]
  depends_on?: string[] | Record<string, { condition: string }>
  read_only?: boolean
  cap_drop?: string[]
  security_opt?: string[]
  stop_grace_period?: string
  network_mode?: string
  profiles?: string[]
}

const compose = parse(read(join(dockerDir, 'compose.yaml'))) as {
  name: string
  services: Record<string, Service>
  volumes: Record<string, unknown>
}
const services = compose.services
const LOCAL_IMAGE = 'ehi-gateway:local'
/** Official images, or the projects' own images (Prometheus, Grafana), at an exact version. */
const PINNED =
  /^(?:(?:docker\.io\/)?(?:library\/)?[a-z0-9-]+|prom\/prometheus|grafana\/grafana):v?\d+\.\d+\.\d+$/

interface Mount {
  source: string
  target: string
  readOnly: boolean
  /** A bind mount (a host path) rather than a named volume. */
  bind: boolean
}

function mountsOf(service: Service): Mount[] {
  return (service.volumes ?? []).map((spec) => {
    const [source, target, mode] = spec.split(':') as [string, string, string | undefined]
    return { source, target, readOnly: mode === 'ro', bind: source.startsWith('.') || source.startsWith('/') }
  })
}

function seconds(duration: string): number {
  const match = /^(\d+)(s|m)$/.exec(duration)
  if (!match) throw new Error(`unsupported duration ${duration}`)
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1)
}

/** host:port:container or host_ip:host_port:container_port → its parts. */
function portOf(spec: string): { hostIp: string | undefined; host: number; container: number } {
  const parts = spec.split(':')
  if (parts.length === 3) return { hostIp: parts[0], host: Number(parts[1]), container: Number(parts[2]) }
  return { hostIp: undefined, host: Number(parts[0]), container: Number(parts[1]) }
}

const gateway = services.gateway!
const configMount = mountsOf(gateway).find((m) => m.target === gateway.environment?.EHI_GATEWAY_CONFIG)
const gatewayConfigFile = configMount && resolve(dockerDir, configMount.source)
const gatewayConfig = gatewayConfigFile ? validateConfig(parse(read(gatewayConfigFile))) : undefined

describe('docker/compose.yaml', () => {
  it('runs the gateway, the dev PKI maker, Prometheus, Grafana and the optional traffic', () => {
    expect(compose.name).toBe('ehi-gateway')
    expect(Object.keys(services).sort()).toEqual([
      'gateway',
      'grafana',
      'host',
      'pki',
      'prometheus',
      'traffic',
    ])
    expect(services.traffic!.profiles).toEqual(['traffic'])
  })

  it('builds its own image from docker/Dockerfile; every other image is pinned', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) {
        expect(resolve(dockerDir, service.build.context), name).toBe(root)
        expect(service.build.dockerfile, name).toBe('docker/Dockerfile')
        expect(existsSync(join(root, service.build.dockerfile))).toBe(true)
        expect(service.image, name).toBe(LOCAL_IMAGE)
      } else if (service.image === LOCAL_IMAGE) {
        // Built by another service of the stack.
        expect(Object.values(services).some((s) => s.build && s.image === LOCAL_IMAGE)).toBe(true)
      } else {
        expect(service.image, name).toMatch(PINNED)
        expect(service.image, name).not.toMatch(/:latest$/)
      }
    }
  })

  it('mounts only files that exist in the repository and volumes it declares', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const mount of mountsOf(service)) {
        if (mount.bind)
          expect(existsSync(resolve(dockerDir, mount.source)), `${name}: ${mount.source}`).toBe(true)
        else expect(Object.keys(compose.volumes), `${name}: volume ${mount.source}`).toContain(mount.source)
        expect(posix.isAbsolute(mount.target), `${name}: ${mount.target}`).toBe(true)
      }
    }
  })

  it("mounts the gateway's configuration and certificates read-only, on a read-only root, with no capabilities", () => {
    expect(configMount).toMatchObject({ bind: true, readOnly: true })
    expect(gateway.read_only).toBe(true)
    expect(gateway.cap_drop).toEqual(['ALL'])
    expect(gateway.security_opt).toContain('no-new-privileges:true')
    for (const mount of mountsOf(gateway)) expect(mount.readOnly, mount.target).toBe(true)
    expect(gateway.depends_on).toMatchObject({ pki: { condition: 'service_completed_successfully' } })
  })

  it("the gateway's configuration validates against the schema", () => {
    expect(gatewayConfig?.issues).toEqual([])
  })

  it('every file the configuration names is on a mount, from the dev PKI the pki service makes', () => {
    const config = gatewayConfig!.config
    const mounts = mountsOf(gateway)
    const pkiMount = mounts.find((m) => m.source === 'pki')!
    const files = filePathsOf(config)
    expect(files.length).toBeGreaterThan(5)
    for (const { path, file } of files) {
      expect(posix.isAbsolute(file), path).toBe(true)
      expect(isUnder(file, pkiMount.target), `${path}: ${file}`).toBe(true)
      expect(Object.values(DEV_PKI_FILES), `${path}: ${file}`).toContain(posix.basename(file))
    }
    // The pki service writes that volume, and hands it to the gateway's user.
    const pki = services.pki!
    const target = mountsOf(pki).find((m) => m.source === 'pki')!.target
    expect(pki.command!.join(' ')).toContain(`certs dev --out ${target}`)
    expect(pki.command!.join(' ')).toContain(`chown -R 1000:1000 ${target}`)
  })

  it('publishes the EHI and admin ports of the configuration, on the host loopback only', () => {
    const config = gatewayConfig!.config
    const ports = gateway.ports!.map(portOf)
    expect(ports.map((p) => p.container).sort()).toEqual([config.listen.port, config.admin.port].sort())
    for (const service of Object.values(services))
      for (const port of (service.ports ?? []).map(portOf)) expect(port.hostIp).toBe('127.0.0.1')
    const hostPorts = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => portOf(p).host))
    expect(new Set(hostPorts).size).toBe(hostPorts.length)
    // Probes and Prometheus reach the admin server only off loopback.
    expect(config.admin.host).toBe('0.0.0.0')
  })

  it('runs the reference host as its own service behind the gateway, and gives the drain time to finish', () => {
    const config = gatewayConfig!.config
    // `serve` never starts the reference host: the `host` service runs it.
    expect(config.referenceHost.enabled).toBe(false)
    const host = services.host!
    const args = host.command!
    expect(args[0]).toBe('reference-host')
    const upstream = new URL(config.upstream.url)
    expect(upstream.hostname).toBe('host')
    expect(upstream.port).toBe(args[args.indexOf('--port') + 1])
    expect(host.ports ?? []).toEqual([])
    expect(config.workers).toBe(1)
    expect(seconds(gateway.stop_grace_period!) * 1000).toBeGreaterThan(config.shutdown.drainTimeoutMs)
  })

  it('the traffic service targets the gateway from its network namespace with the dev client certificate', () => {
    const config = gatewayConfig!.config
    const traffic = services.traffic!
    expect(traffic.network_mode).toBe('service:gateway')
    const args = traffic.command!
    expect(args[0]).toBe('simulate')
    const arg = (name: string) => args[args.indexOf(name) + 1]!
    expect(new URL(arg('--target')).port).toBe(String(config.listen.port))
    expect(config.routes.paths).toContain(new URL(arg('--target')).pathname)
    const pkiTarget = mountsOf(traffic).find((m) => m.source === 'pki')!.target
    expect(arg('--cert')).toBe(posix.join(pkiTarget, DEV_PKI_FILES.threddClientCert))
    expect(arg('--key')).toBe(posix.join(pkiTarget, DEV_PKI_FILES.threddClientKey))
    expect(arg('--ca')).toBe(posix.join(pkiTarget, DEV_PKI_FILES.serverRootCa))
  })

  it('Prometheus scrapes the admin port with the alerting rules of deploy/monitoring', () => {
    const config = gatewayConfig!.config
    const prometheus = services.prometheus!
    const mounts = mountsOf(prometheus)
    const configFile = mounts.find((m) => m.target === '/etc/prometheus/prometheus.yml')!
    const promConfig = parse(read(resolve(dockerDir, configFile.source))) as {
      rule_files: string[]
      scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[]
    }
    const job = promConfig.scrape_configs.find((j) => j.job_name === 'ehi-gateway')!
    expect(job.metrics_path).toBe('/metrics')
    expect(job.static_configs.flatMap((s) => s.targets)).toEqual([`gateway:${config.admin.port}`])
    expect(prometheus.command).toContain(`--config.file=${configFile.target}`)
    const rules = promConfig.rule_files.map((file) => mounts.find((m) => m.target === file))
    expect(rules.map((m) => m && resolve(dockerDir, m.source))).toEqual([
      join(root, 'deploy', 'monitoring', 'prometheus-alerts.yaml'),
    ])
  })

  it('Grafana is provisioned with the Prometheus data source and the dashboard', () => {
    const grafana = services.grafana!
    const mounts = mountsOf(grafana)
    const file = (target: string) => {
      const mount = mounts.find((m) => m.target === target)
      expect(mount, target).toBeDefined()
      return resolve(dockerDir, mount!.source)
    }
    const datasources = parse(read(file('/etc/grafana/provisioning/datasources/prometheus.yaml'))) as {
      datasources: { type: string; url: string; isDefault: boolean }[]
    }
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true }),
    ])
    const providers = parse(read(file('/etc/grafana/provisioning/dashboards/ehi-gateway.yaml'))) as {
      providers: { type: string; options: { path: string } }[]
    }
    const dashboardDir = providers.providers[0]!.options.path
    const dashboard = mounts.find((m) => posix.dirname(m.target) === dashboardDir)!
    expect(resolve(dockerDir, dashboard.source)).toBe(
      join(root, 'deploy', 'monitoring', 'grafana-dashboard.json'),
    )
    expect(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(dashboard.target)
    expect(
      (JSON.parse(read(join(root, 'deploy', 'monitoring', 'grafana-dashboard.json'))) as { uid: string }).uid,
    ).toBe('ehi-gateway')
  })

  it('the smoke test and its npm script exist', () => {
    const scripts = (JSON.parse(read(join(root, 'package.json'))) as { scripts: Record<string, string> })
      .scripts
    expect(scripts['container:smoke']).toBe('bash docker/smoke-test.sh')
    expect(existsSync(join(dockerDir, 'smoke-test.sh'))).toBe(true)
    // The smoke test runs the compose configuration.
    expect(read(join(dockerDir, 'smoke-test.sh'))).toContain(
      'docker/gateway.compose.yaml:/etc/ehi-gateway/gateway.yaml:ro',
    )
    expect(dirname(gatewayConfigFile!)).toBe(dockerDir)
  })
})
