/**
 * The Kubernetes manifests (deploy/k8s, kustomize base and overlays) are checked for what would
 * break a rollout or weaken the deployment: every file parses, every path a kustomization names
 * exists, the probes hit the admin port of every environment's configuration, the grace period
 * outlasts the preStop delay plus the drain, the pods run non-root on a read-only root with no
 * capabilities, every file the configuration names is on a Secret or ConfigMap folder mount
 * (never subPath, so rotations reach the gateway's file watcher), the Service keeps the client
 * address, and each configuration validates against the schema. The NetworkPolicy admits the admin
 * port from Prometheus only and the EHI port from Thredd's addresses in each overlay; the optional
 * ServiceMonitor scrapes the admin Service under the job the alerts select; the image tag follows
 * package.json's version. With kubectl (kustomize) on the machine, every overlay is also built and
 * its output checked; without it that part is skipped.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { compileIpAllowlist } from '../../src/plane/accept/ip-allowlist.ts'
import type { GatewayConfig } from '../../src/config/config-schema.ts'
import { validateConfig } from '../../src/config/load-config.ts'
import { filePathsOf, isUnder } from '../support/config-files.ts'

const root = join(import.meta.dirname, '..', '..')
const k8s = join(root, 'deploy', 'k8s')
const OVERLAYS = ['sandbox', 'production'] as const
const COMPONENT = join(k8s, 'components', 'prometheus-operator')
const VERSION = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version
/** Kubernetes reads manifests as YAML 1.1 (0440 is octal there). */
const YAML_OPTIONS = { version: '1.1' } as const

type Obj = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = join(dir, name)
    if (statSync(file).isDirectory()) return yamlFiles(file)
    return /\.ya?ml$/.test(name) ? [file] : []
  })
}

function docsOf(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8'), YAML_OPTIONS).map((doc) => {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`)
    return doc.toJS() as Obj
  })
}

const kustomization = (dir: string) => docsOf(join(dir, 'kustomization.yaml'))[0]!
const baseDir = join(k8s, 'base')
const base = kustomization(baseDir)
/** The base's objects by kind, from the files its kustomization lists. */
const baseObjects = (base.resources as string[]).flatMap((r) => docsOf(join(baseDir, r)))
const byKind = (objects: Obj[], kind: string) => objects.filter((o) => o.kind === kind)
const one = (objects: Obj[], kind: string) => {
  const found = byKind(objects, kind)
  expect(found, kind).toHaveLength(1)
  return found[0]!
}

/** The configuration file of a kustomization's ConfigMap generator (the overlay's or the base's). */
function configFileOf(dir: string): string {
  const generator = (kustomization(dir).configMapGenerator as Obj[]).find(
    (g) => g.name === 'ehi-gateway-config',
  )!
  expect(
    generator.options?.disableNameSuffixHash,
    'a hashed name would restart pods instead of a reload',
  ).toBe(true)
  return join(dir, (generator.files as string[])[0]!)
}

const configs: { name: string; file: string; config: GatewayConfig; issues: unknown[] }[] = [
  { name: 'base', dir: baseDir },
  ...OVERLAYS.map((o) => ({ name: o, dir: join(k8s, 'overlays', o) })),
].map(({ name, dir }) => {
  const file = configFileOf(dir)
  const { config, issues } = validateConfig(parse(readFileSync(file, 'utf8')))
  return { name, file, config, issues }
})

const deployment = one(baseObjects, 'Deployment')
const podSpec = deployment.spec.template.spec as Obj
const container = (podSpec.containers as Obj[])[0]!
const portByName = (name: string | number) =>
  typeof name === 'number' ? name : (container.ports as Obj[]).find((p) => p.name === name)?.containerPort
const envOf = (name: string) =>
  (container.env as Obj[]).find((e) => e.name === name)?.value as string | undefined

describe('deploy/k8s files', () => {
  it('every YAML file parses', () => {
    const files = yamlFiles(k8s)
    expect(files.length).toBeGreaterThanOrEqual(15)
    for (const file of files) expect(() => docsOf(file), relative(root, file)).not.toThrow()
  })

  it('every resource, patch and generator file a kustomization names exists', () => {
    const dirs = [baseDir, ...OVERLAYS.map((o) => join(k8s, 'overlays', o)), COMPONENT]
    for (const dir of dirs) {
      const k = kustomization(dir)
      expect(k.kind).toBe(dir === COMPONENT ? 'Component' : 'Kustomization')
      const paths = [
        ...((k.resources as string[] | undefined) ?? []),
        ...((k.patches as Obj[] | undefined) ?? []).flatMap((p) => (p.path ? [p.path as string] : [])),
        ...((k.configMapGenerator as Obj[] | undefined) ?? []).flatMap((g) => g.files as string[]),
      ]
      for (const path of paths) {
        const target = join(dir, path)
        const ok =
          existsSync(target) &&
          (!statSync(target).isDirectory() || existsSync(join(target, 'kustomization.yaml')))
        expect(ok, `${relative(root, dir)}: ${path}`).toBe(true)
      }
      // Inline patches name an object the base defines.
      for (const patch of ((k.patches as Obj[] | undefined) ?? []).filter((p) => p.target)) {
        expect(byKind(baseObjects, patch.target.kind).map((o) => o.metadata.name)).toContain(
          patch.target.name,
        )
      }
    }
  })

  it('every gateway configuration validates against the schema', () => {
    for (const { name, issues } of configs) expect(issues, name).toEqual([])
  })
})

describe('Deployment', () => {
  it('probes the admin port of every configuration: startup and liveness on /livez, readiness on /readyz', () => {
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
      expect(container[probe], probe).toBeDefined()
    expect(container.readinessProbe.httpGet.path).toBe('/readyz')
    expect(container.livenessProbe.httpGet.path).toBe('/livez')
    expect(container.startupProbe.httpGet.path).toBe('/livez')
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      for (const { name, config } of configs)
        expect(portByName(probe.httpGet.port), name).toBe(config.admin.port)
    }
    for (const { name, config } of configs) {
      expect(portByName('ehi'), name).toBe(config.listen.port)
      // The kubelet probes the pod address, not loopback.
      expect(config.admin.host, name).toBe('0.0.0.0')
    }
    expect(envOf('EHI_GATEWAY_ADMIN__HOST')).toBe('0.0.0.0')
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(
      String(portByName('admin')),
    )
  })

  it('gives a stopping pod the preStop delay and the whole drain before SIGKILL', () => {
    const preStop = container.lifecycle.preStop.exec.command as string[]
    expect(preStop[0]).toBe('sleep')
    const preStopMs = Number(preStop[1]) * 1000
    expect(preStopMs).toBeGreaterThanOrEqual(3000)
    for (const { name, config } of configs) {
      expect(podSpec.terminationGracePeriodSeconds * 1000, name).toBeGreaterThan(
        preStopMs + config.shutdown.drainTimeoutMs,
      )
    }
  })

  it('sets resource requests and limits', () => {
    for (const kind of ['requests', 'limits']) {
      expect(container.resources[kind].cpu, kind).toBeDefined()
      expect(container.resources[kind].memory, kind).toBeDefined()
    }
  })

  it('runs non-root (the image user, uid 1000), read-only, without privilege escalation or capabilities', () => {
    expect(podSpec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    })
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    })
    expect(container.securityContext.capabilities.add).toBeUndefined()
    expect(podSpec.automountServiceAccountToken).toBe(false)
    expect(one(baseObjects, 'ServiceAccount').automountServiceAccountToken).toBe(false)
  })

  it('spreads pods over zones and nodes', () => {
    const spread = podSpec.topologySpreadConstraints as Obj[]
    expect(spread.map((s) => s.topologyKey).sort()).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ])
    for (const s of spread) expect(s.labelSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels)
  })

  it('mounts the config and every certificate, key, CA, CRL and key file as folders (no subPath), read-only', () => {
    const volumes = new Map<string, Obj>((podSpec.volumes as Obj[]).map((v) => [v.name as string, v]))
    const mounts = container.volumeMounts as Obj[]
    for (const mount of mounts) {
      expect(mount.subPath, `${mount.name}: subPath would stop updates reaching the pod`).toBeUndefined()
      expect(mount.readOnly, mount.name).toBe(true)
      const volume = volumes.get(mount.name as string)!
      expect(volume.secret ?? volume.configMap, mount.name).toBeDefined()
      if (volume.secret) expect(volume.secret.defaultMode, mount.name).toBe(0o440)
    }
    const configPath = envOf('EHI_GATEWAY_CONFIG')!
    const configMount = mounts.find((m) => isUnder(configPath, m.mountPath))!
    expect(volumes.get(configMount.name as string)!.configMap.name).toBe('ehi-gateway-config')
    for (const { name, file, config } of configs) {
      expect(posix.basename(configPath), name).toBe(posix.basename(file))
      const files = filePathsOf(config)
      expect(files.length, name).toBeGreaterThan(4)
      for (const { path, file: named } of files) {
        const mount = mounts.find((m) => isUnder(named, m.mountPath))
        expect(mount, `${name} ${path}: ${named}`).toBeDefined()
        expect(volumes.get(mount!.name as string)!.secret, `${name} ${path}: from a Secret`).toBeDefined()
      }
    }
  })

  it('runs one data-plane process per pod and leaves the count to the autoscaler', () => {
    for (const { name, config } of configs) expect(config.workers, name).toBe(1)
    expect(deployment.spec.replicas).toBeUndefined()
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0)
  })
})

describe('Service, PodDisruptionBudget, HorizontalPodAutoscaler', () => {
  const selector = deployment.spec.selector.matchLabels
  const services = byKind(baseObjects, 'Service')

  it("a LoadBalancer with externalTrafficPolicy Local, so the allowlist sees Thredd's address", () => {
    const lb = services.find((s) => s.spec.type === 'LoadBalancer')!
    expect(lb.spec.externalTrafficPolicy).toBe('Local')
    expect(lb.spec.selector).toEqual(selector)
    expect(lb.spec.ports.map((p: Obj) => portByName(p.targetPort))).toEqual([portByName('ehi')])
    // The address is preserved, so PROXY protocol stays off.
    for (const { name, config } of configs) expect(config.proxyProtocol.enabled, name).toBe(false)
  })

  it('the admin port is a ClusterIP Service only', () => {
    const admin = services.find((s) =>
      s.spec.ports.some((p: Obj) => portByName(p.targetPort) === portByName('admin')),
    )!
    expect(admin.spec.type).toBe('ClusterIP')
    expect(admin.spec.selector).toEqual(selector)
  })

  it('the budget and the autoscaler select the Deployment, and the budget lets a drain proceed', () => {
    const pdb = one(baseObjects, 'PodDisruptionBudget')
    const hpa = one(baseObjects, 'HorizontalPodAutoscaler')
    expect(pdb.spec.selector.matchLabels).toEqual(selector)
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'ehi-gateway',
    })
    expect(hpa.spec.minReplicas).toBeGreaterThan(pdb.spec.minAvailable)
    expect(hpa.spec.maxReplicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas)
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu')
  })
})

const ports = (rule: Obj) => ((rule.ports as Obj[] | undefined) ?? []).map((p) => portByName(p.port))

describe('NetworkPolicy', () => {
  const policy = one(baseObjects, 'NetworkPolicy')
  const rules = policy.spec.ingress as Obj[]
  const ehiRules = rules.filter((r) => ports(r).includes(portByName('ehi')))

  it('selects the gateway pods and restricts their ingress, port by port', () => {
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels)
    expect(policy.spec.policyTypes).toContain('Ingress')
    for (const rule of rules) {
      // A rule without ports would open every port of the pod to its sources.
      expect(ports(rule).length, JSON.stringify(rule)).toBeGreaterThan(0)
      for (const port of ports(rule)) expect([portByName('ehi'), portByName('admin')]).toContain(port)
    }
  })

  it('admits the admin port (no authentication) only from pods chosen by label, never from anywhere or an address block', () => {
    const adminRules = rules.filter((r) => ports(r).includes(portByName('admin')))
    expect(adminRules).toHaveLength(1)
    for (const rule of adminRules) {
      const peers = (rule.from as Obj[] | undefined) ?? []
      expect(peers.length, 'a rule without `from` admits every source').toBeGreaterThan(0)
      for (const peer of peers) {
        expect(peer.ipBlock).toBeUndefined()
        expect(Object.keys(peer.podSelector?.matchLabels ?? {}).length).toBeGreaterThan(0)
        expect(Object.keys(peer.namespaceSelector?.matchLabels ?? {}).length).toBeGreaterThan(0)
      }
      expect(ports(rule)).toEqual([portByName('admin')])
    }
  })

  it('admits the EHI port from anywhere in the base (the overlays narrow it)', () => {
    expect(ehiRules).toHaveLength(1)
    expect(rules.indexOf(ehiRules[0]!)).toBe(0)
    expect(ehiRules[0]!.from).toBeUndefined()
  })

  it("narrows the EHI port to Thredd's addresses in each overlay: the load balancer's source ranges, within the allowlist", () => {
    for (const o of OVERLAYS) {
      const dir = join(k8s, 'overlays', o)
      const entry = (kustomization(dir).patches as Obj[]).find((p) => p.target?.kind === 'NetworkPolicy')!
      expect(entry.target.name, o).toBe(policy.metadata.name)
      const ops = docsOf(join(dir, entry.path as string))[0] as unknown as Obj[]
      expect(
        ops.map((op) => [op.op, op.path]),
        o,
      ).toEqual([['add', '/spec/ingress/0/from']])
      const cidrs = (ops[0]!.value as Obj[]).map((peer) => peer.ipBlock?.cidr as string)
      const ranges = docsOf(join(dir, 'service-source-ranges.yaml'))[0]!.spec
        .loadBalancerSourceRanges as string[]
      expect([...cidrs].sort(), o).toEqual([...ranges].sort())
      const { allow } = compileIpAllowlist(configs.find((c) => c.name === o)!.config.network.allowlist)
      for (const cidr of cidrs) expect(allow(cidr.split('/')[0]), `${o}: ${cidr}`).toBe(true)
    }
  })
})

describe('ServiceMonitor (components/prometheus-operator, optional)', () => {
  const monitor = docsOf(join(COMPONENT, 'servicemonitor.yaml'))[0]!
  const services = byKind(baseObjects, 'Service')
  const adminService = services.find((s) => s.metadata.name === 'ehi-gateway-admin')!
  const selects = (service: Obj) =>
    Object.entries(monitor.spec.selector.matchLabels as Record<string, string>).every(
      ([k, v]) => service.metadata.labels?.[k] === v,
    )

  it('is a Prometheus Operator ServiceMonitor in a kustomize Component no overlay includes by default', () => {
    expect(monitor).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' })
    expect(kustomization(COMPONENT).resources).toEqual(['servicemonitor.yaml'])
    for (const o of OVERLAYS) expect(kustomization(join(k8s, 'overlays', o)).components, o).toBeUndefined()
  })

  it('scrapes /metrics on the admin Service only', () => {
    expect(services.filter(selects).map((s) => s.metadata.name)).toEqual(['ehi-gateway-admin'])
    const endpoints = monitor.spec.endpoints as Obj[]
    expect(endpoints).toHaveLength(1)
    expect(endpoints[0]!.path).toBe('/metrics')
    expect((adminService.spec.ports as Obj[]).map((p) => p.name)).toContain(endpoints[0]!.port)
  })

  it('names the job as the alerting rules select it (up{job="ehi-gateway"})', () => {
    const rules = parse(
      readFileSync(join(root, 'deploy', 'monitoring', 'prometheus-alerts.yaml'), 'utf8'),
    ) as {
      groups: { rules: { alert?: string; expr: string }[] }[]
    }
    const down = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === 'EhiGatewayDown')!
    const job = /up\{job="([^"]+)"\}/.exec(down.expr)?.[1]
    expect(adminService.metadata.labels[monitor.spec.jobLabel as string]).toBe(job)
  })
})

describe('the image tag', () => {
  it("is package.json's version in every overlay, and the base names no tag", () => {
    expect(container.image).toBe('ehi-gateway')
    for (const o of OVERLAYS) {
      const images = kustomization(join(k8s, 'overlays', o)).images as Obj[]
      expect(images, o).toEqual([{ name: 'ehi-gateway', newName: expect.any(String), newTag: VERSION }])
    }
  })
})

describe('overlays', () => {
  it("keep each environment's Thredd CA bundle and addresses apart", () => {
    const secretNames = OVERLAYS.map((o) => {
      const patch = docsOf(join(k8s, 'overlays', o, `thredd-ca-${o}.yaml`))[0]!
      const volume = (patch.spec.template.spec.volumes as Obj[]).find((v) => v.name === 'thredd-ca')!
      return volume.secret.secretName as string
    })
    expect(secretNames).toEqual(['thredd-ca-sandbox', 'thredd-ca-production'])
    const namespaces = OVERLAYS.map((o) => kustomization(join(k8s, 'overlays', o)).namespace)
    expect(new Set(namespaces).size).toBe(2)
    const allowlists = OVERLAYS.map((o) => configs.find((c) => c.name === o)!.config.network.allowlist)
    expect(allowlists[0]!.some((a) => allowlists[1]!.includes(a))).toBe(false)
  })

  it("the load balancer's source ranges are within the gateway's allowlist", () => {
    for (const o of OVERLAYS) {
      const ranges = docsOf(join(k8s, 'overlays', o, 'service-source-ranges.yaml'))[0]!.spec
        .loadBalancerSourceRanges as string[]
      const { allow, allowAll } = compileIpAllowlist(
        configs.find((c) => c.name === o)!.config.network.allowlist,
      )
      expect(allowAll, o).toBe(false)
      for (const range of ranges) expect(allow(range.split('/')[0]), `${o}: ${range}`).toBe(true)
    }
  })
})

function findKustomize(): string[] | undefined {
  if (spawnSync('kustomize', ['version'], { stdio: 'ignore' }).status === 0) return ['kustomize', 'build']
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0)
    return ['kubectl', 'kustomize']
  return undefined
}
const kustomize = findKustomize()

describe.skipIf(!kustomize)(`kustomize build (${kustomize?.join(' ') ?? 'not installed'})`, () => {
  const build = (dir: string): Obj[] => {
    const [command, ...args] = kustomize!
    const result = spawnSync(command!, [...args, dir], { encoding: 'utf8', timeout: 30_000 })
    if (result.status !== 0) throw new Error(`${kustomize!.join(' ')} ${dir}: ${result.stderr}`)
    return parseAllDocuments(result.stdout, YAML_OPTIONS).map((d) => d.toJS() as Obj)
  }

  it('builds the base', () => {
    const objects = build(baseDir)
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        'Service',
        'ServiceAccount',
      ].sort(),
    )
  })

  it.each(OVERLAYS)('builds %s: namespace, CA bundle, image, replicas and the configuration', (overlay) => {
    const dir = join(k8s, 'overlays', overlay)
    const objects = build(dir)
    const namespace = kustomization(dir).namespace as string
    for (const o of objects.filter((o) => o.kind !== 'Namespace'))
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(namespace)
    expect(one(objects, 'Namespace').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted')
    const spec = one(objects, 'Deployment').spec.template.spec
    const secrets = Object.fromEntries(
      (spec.volumes as Obj[]).filter((v) => v.secret).map((v) => [v.name, v.secret.secretName]),
    )
    expect(secrets).toEqual({
      'server-tls': 'ehi-gateway-server-tls',
      'thredd-ca': `thredd-ca-${overlay}`,
      'audit-key': 'ehi-gateway-audit',
    })
    expect(spec.containers[0].image).toBe(`registry.example.com/ehi-gateway:${VERSION}`)
    const policy = one(objects, 'NetworkPolicy')
    const ehiPort = (policy.spec.ingress as Obj[])[0]!
    expect(ehiPort.ports).toEqual([{ port: 'ehi', protocol: 'TCP' }])
    expect((ehiPort.from as Obj[]).map((peer) => peer.ipBlock.cidr).sort()).toEqual(
      [
        ...(one(
          objects.filter((o) => o.spec?.type === 'LoadBalancer'),
          'Service',
        ).spec.loadBalancerSourceRanges as string[]),
      ].sort(),
    )
    const hpa = one(objects, 'HorizontalPodAutoscaler')
    expect(hpa.spec.minReplicas).toBeGreaterThan(one(objects, 'PodDisruptionBudget').spec.minAvailable)
    const configMap = one(objects, 'ConfigMap')
    expect(configMap.metadata.name).toBe('ehi-gateway-config')
    const entry = configs.find((c) => c.name === overlay)!
    expect(configMap.data[posix.basename(entry.file)]).toBe(readFileSync(entry.file, 'utf8'))
    expect(validateConfig(parse(configMap.data[posix.basename(entry.file)] as string)).issues).toEqual([])
    const lb = objects.find((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer')!
    expect(lb.spec.loadBalancerSourceRanges.length).toBeGreaterThan(0)
  })

  it('builds an overlay with the ServiceMonitor component: the monitor lands in the namespace', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ehi-kustomize-'))
    try {
      const overlay = join(k8s, 'overlays', 'sandbox')
      const namespace = kustomization(overlay).namespace as string
      // kustomize wants relative paths to other kustomization roots.
      writeFileSync(
        join(tmp, 'kustomization.yaml'),
        `namespace: ${namespace}\nresources:\n  - ${relative(tmp, overlay)}\ncomponents:\n  - ${relative(tmp, COMPONENT)}\n`,
      )
      const objects = build(tmp)
      const monitor = one(objects, 'ServiceMonitor')
      expect(monitor.metadata.namespace).toBe(namespace)
      const admin = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'ehi-gateway-admin')!
      for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels as Record<string, string>))
        expect(admin.metadata.labels[k], k).toBe(v)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })
})
