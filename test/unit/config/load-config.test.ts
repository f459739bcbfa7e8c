/**
 * Config loading names every problem in one run (so an operator fixes them all at once), by
 * dotted path, and resolves file paths against the config file's folder, not the process cwd.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { TSchema } from 'typebox'
import { ConfigSchema, PATTERN_MESSAGE } from '../../../src/config/config-schema.ts'
import { hasIssueUnder, loadConfig, validateConfig } from '../../../src/config/load-config.ts'

/** The smallest valid config: only the settings without defaults. */
function minimal(): Record<string, unknown> {
  return {
    tls: { serverCertificates: [{ cert: 'server.pem', key: 'server.key' }], clientCa: ['ca.pem'] },
    upstream: { url: 'http://127.0.0.1:9000/ehi' },
  }
}

function withChanges(changes: Record<string, Record<string, unknown>>): Record<string, unknown> {
  const raw = minimal()
  for (const [section, values] of Object.entries(changes)) {
    raw[section] = { ...(raw[section] as Record<string, unknown> | undefined), ...values }
  }
  return raw
}

describe('validateConfig defaults', () => {
  const { config, issues } = validateConfig(minimal())

  it('accepts the minimal config', () => {
    expect(issues).toEqual([])
  })

  it.each([
    { path: 'listen.port', value: 8443 },
    { path: 'listen.host', value: '0.0.0.0' },
    { path: 'routes.paths', value: ['/ehi'] },
    { path: 'routes.bodyLimitBytes', value: 262144 },
    { path: 'clientAuth.rejectMode', value: 'http' },
    { path: 'clientAuth.requireClientAuthEku', value: true },
    { path: 'clientAuth.pins.spkiSha256', value: [] },
    { path: 'clientAuth.allowedSubjects.ou', value: [] },
    { path: 'network.allowlist', value: [] },
    { path: 'tls.crl.enabled', value: false },
    { path: 'tls.minVersion', value: 'TLSv1.2' },
    { path: 'ehi.deadlineMs.decision', value: 150 },
    { path: 'ehi.defaultMode', value: 1 },
    { path: 'ehi.onHostFailure.acknowledgement', value: 'ack0' },
    { path: 'log.level', value: 'info' },
    { path: 'referenceHost.enabled', value: false },
  ])('defaults $path to $value', ({ path, value }) => {
    const actual = path
      .split('.')
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config)
    expect(actual).toEqual(value)
  })

  it('keeps values that are set', () => {
    expect(validateConfig(withChanges({ listen: { port: 9443 } })).config.listen).toEqual({
      host: '0.0.0.0',
      port: 9443,
    })
  })

  it('does not modify the raw object it is given', () => {
    const raw = minimal()
    const before = structuredClone(raw)
    validateConfig(raw)
    expect(raw).toEqual(before)
  })
})

describe('validateConfig issues', () => {
  const paths = (raw: unknown) => validateConfig(raw).issues.map((i) => i.path)

  it('names each missing required section at its own path', () => {
    const { issues } = validateConfig({})
    expect(issues).toEqual([
      { path: 'tls', message: 'is required' },
      { path: 'upstream', message: 'is required' },
    ])
  })

  it.each([
    {
      name: 'a missing nested required field',
      raw: { ...minimal(), upstream: { connections: 4 } },
      path: 'upstream.url',
      message: 'is required',
    },
    {
      name: 'an unknown top-level key',
      raw: { ...minimal(), extra: true },
      path: 'extra',
      message: 'is not a known setting',
    },
    {
      name: 'an unknown nested key',
      raw: withChanges({ listen: { prot: 1 } }),
      path: 'listen.prot',
      message: 'is not a known setting; did you mean listen.port?',
    },
    {
      name: 'an unknown key in a list item',
      raw: withChanges({
        tls: { serverCertificates: [{ cert: 'a', key: 'b', password: 'x' }], clientCa: ['ca.pem'] },
      }),
      path: 'tls.serverCertificates[0].password',
      message: 'is not a known setting',
    },
    {
      name: 'a string for an integer',
      raw: withChanges({ listen: { port: 'x' } }),
      path: 'listen.port',
      message: 'must be integer (got "x")',
    },
    {
      name: 'an integer out of range',
      raw: withChanges({ listen: { port: 70000 } }),
      path: 'listen.port',
      message: 'must be <= 65535 (got 70000)',
    },
    {
      name: 'a wrong list item type',
      raw: withChanges({ tls: { ...(minimal().tls as object), clientCa: [5] } }),
      path: 'tls.clientCa[0]',
      message: 'must be string (got 5)',
    },
    {
      name: 'a path without leading slash',
      raw: withChanges({ routes: { paths: ['ehi'] } }),
      path: 'routes.paths[0]',
      message: 'must start with / (got "ehi")',
    },
    {
      name: 'an empty CA list',
      raw: withChanges({ tls: { ...(minimal().tls as object), clientCa: [] } }),
      path: 'tls.clientCa',
      message: 'must not have fewer than 1 items',
    },
  ])('reports $name at its path', ({ raw, path, message }) => {
    expect(validateConfig(raw).issues).toEqual([{ path, message }])
  })

  it.each([
    [{ tls: { ...(minimal().tls as object), clientCA: ['ca.pem'] } }, 'tls.clientCA', 'tls.clientCa'],
    [{ clientauth: {} }, 'clientauth', 'clientAuth'],
    [{ tls: { ...(minimal().tls as object), crl: { enable: true } } }, 'tls.crl.enable', 'tls.crl.enabled'],
    [{ listen: { allowlist: ['10.0.0.0/8'] } }, 'listen.allowlist', 'network.allowlist'],
    [{ tls: { ...(minimal().tls as object), crl: { urls: [] } } }, 'tls.crl.urls', 'tls.crl.fetch.urls'],
    [
      { tls: { serverCertificates: [{ cert: 'a', key: 'b', Cert: 'c' }], clientCa: ['ca.pem'] } },
      'tls.serverCertificates[0].Cert',
      'tls.serverCertificates[0].cert',
    ],
  ])('an unknown key %#: %s, did you mean %s?', (changes, path, meant) => {
    expect(validateConfig({ ...minimal(), ...changes }).issues).toEqual([
      { path, message: `is not a known setting; did you mean ${meant}?` },
    ])
  })

  it('names each of several unknown keys in one object at its own path', () => {
    expect(validateConfig({ ...minimal(), lisen: {}, bogus: 1 }).issues).toEqual([
      { path: 'lisen', message: 'is not a known setting; did you mean listen?' },
      { path: 'bogus', message: 'is not a known setting' },
    ])
  })

  it.each([
    {
      path: 'clientAuth.rejectMode',
      raw: withChanges({ clientAuth: { rejectMode: 'tcp' } }),
      allowed: '"http", "handshake"',
    },
    {
      path: 'log.level',
      raw: withChanges({ log: { level: 'loud' } }),
      allowed: '"fatal", "error", "warn", "info", "debug", "trace", "silent"',
    },
    {
      path: 'tls.minVersion',
      raw: withChanges({ tls: { ...(minimal().tls as object), minVersion: 'TLSv1.1' } }),
      allowed: '"TLSv1.2", "TLSv1.3"',
    },
  ])('lists the allowed values of the enum $path', ({ path, raw, allowed }) => {
    const [issue] = validateConfig(raw).issues
    expect(issue?.path).toBe(path)
    expect(issue?.message).toContain(`must be one of ${allowed}`)
  })

  describe('pattern errors are words, not regular expressions', () => {
    /**
     * Every string schema with a pattern, with the key path to it (`[]` for a list item). The key
     * pattern of ehi.productModes (a record) is not walked: nothing checks keys against it.
     */
    function* patterns(node: TSchema, path: string[]): Generator<{ path: string[]; node: TSchema }> {
      const n = node as {
        pattern?: string
        properties?: Record<string, TSchema>
        items?: TSchema
        patternProperties?: Record<string, TSchema>
      }
      if (n.pattern !== undefined) yield { path, node }
      for (const [key, child] of Object.entries(n.properties ?? {})) yield* patterns(child, [...path, key])
      if (n.items) yield* patterns(n.items, [...path, '[]'])
      for (const child of Object.values(n.patternProperties ?? {})) yield* patterns(child, [...path, '{}'])
    }
    const all = [...patterns(ConfigSchema, [])]

    it('finds the patterns it walks', () => {
      expect(all.map((p) => p.path.join('.'))).toEqual(
        expect.arrayContaining(['routes.paths.[]', 'upstream.url', 'ledger.instanceId']),
      )
    })

    it.each(all.map((p) => [p.path.join('.'), p] as const))('%s', (_name, { path, node }) => {
      const words = (node as Record<string, unknown>)[PATTERN_MESSAGE]
      expect(typeof words).toBe('string')
      expect(words).not.toMatch(/[\^$]/)
      // The same value fails every pattern in the schema.
      const raw = minimal()
      let parent = raw
      const keys = path.filter((k) => k !== '[]')
      for (const key of keys.slice(0, -1)) parent = (parent[key] ??= {}) as Record<string, unknown>
      parent[keys.at(-1)!] = path.at(-1) === '[]' ? ['!'] : '!'
      const where = keys.join('.') + (path.at(-1) === '[]' ? '[0]' : '')
      expect(validateConfig(raw).issues).toEqual([{ path: where, message: `${String(words)} (got "!")` }])
    })
  })

  it('gives exactly one issue per wrong field, three fields -> three issues', () => {
    const raw = withChanges({ listen: { port: 'x' }, log: { level: 'loud' }, routes: { bodyLimitBytes: 10 } })
    expect(paths(raw).sort()).toEqual(['listen.port', 'log.level', 'routes.bodyLimitBytes'])
  })

  it('names more than eight bad fields (no early stop)', () => {
    const raw = withChanges({
      listen: { port: 'a', host: 1 },
      log: { level: 'x', pretty: 'y' },
      routes: { bodyLimitBytes: 'z', paths: 'q' },
      referenceHost: { enabled: 'b', host: 2, port: 'c' },
    })
    expect(paths(raw)).toHaveLength(9)
  })

  it('never echoes key material pasted into a field', () => {
    const pem =
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----'
    const { issues } = validateConfig(withChanges({ listen: { port: pem }, log: { level: pem } }))
    expect(issues.map((i) => i.path).sort()).toEqual(['listen.port', 'log.level'])
    for (const issue of issues) expect(issue.message).not.toMatch(/BEGIN|PRIVATE|MIG/)
  })

  it.each([null, [], 'text', 42])('refuses a top level that is not an object (%j)', (raw) => {
    expect(paths(raw)).toEqual(['(top level)'])
  })

  it('tags an issue with the variable its value came from', () => {
    const sources = new Map([['routes.paths', 'EHI_GATEWAY_ROUTES__PATHS']])
    const { issues } = validateConfig(withChanges({ routes: { paths: ['ehi'] } }), sources)
    expect(issues).toEqual([
      expect.objectContaining({ path: 'routes.paths[0]', source: 'EHI_GATEWAY_ROUTES__PATHS' }),
    ])
  })
})

describe('hasIssueUnder', () => {
  const issues = [
    { path: 'tls.clientCa[0]', message: '' },
    { path: 'listenx', message: '' },
  ]

  it.each([
    { prefix: 'tls', under: true },
    { prefix: 'tls.clientCa', under: true },
    { prefix: 'tls.clientCa[0]', under: true },
    { prefix: 'tls.crl', under: false },
    { prefix: 'listen', under: false },
  ])('$prefix -> $under', ({ prefix, under }) => {
    expect(hasIssueUnder(issues, prefix)).toBe(under)
  })
})

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-config-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const yamlFile = join(dir, 'gateway.yaml')
  writeFileSync(
    yamlFile,
    [
      'listen:',
      '  port: 8444',
      'tls:',
      '  serverCertificates:',
      '    - cert: certs/server.pem',
      '      key: certs/server.key',
      '  clientCa: [ca/root.pem, /etc/ehi/issuing.pem]',
      '  crl:',
      '    files: [ca/root.crl]',
      'upstream:',
      '  url: http://127.0.0.1:9000/ehi',
      '',
    ].join('\n'),
  )
  const jsonFile = join(dir, 'gateway.json')
  writeFileSync(jsonFile, JSON.stringify(minimal()))

  it('reads YAML and resolves relative file paths against its folder', () => {
    const { config, issues, file } = loadConfig({ file: yamlFile, env: {} })
    expect(issues).toEqual([])
    expect(file).toBe(yamlFile)
    expect(config.listen.port).toBe(8444)
    expect(config.tls.serverCertificates).toEqual([
      { cert: join(dir, 'certs/server.pem'), key: join(dir, 'certs/server.key') },
    ])
    expect(config.tls.clientCa).toEqual([join(dir, 'ca/root.pem'), '/etc/ehi/issuing.pem'])
    expect(config.tls.crl.files).toEqual([join(dir, 'ca/root.crl')])
    // Only fields marked as file paths are resolved.
    expect(config.upstream.url).toBe('http://127.0.0.1:9000/ehi')
  })

  it('reads JSON with the same parser', () => {
    const { config, issues } = loadConfig({ file: jsonFile, env: {} })
    expect(issues).toEqual([])
    expect(config.tls.clientCa).toEqual([join(dir, 'ca.pem')])
  })

  it('takes the file from EHI_GATEWAY_CONFIG', () => {
    const { config, file } = loadConfig({ env: { EHI_GATEWAY_CONFIG: yamlFile } })
    expect(file).toBe(yamlFile)
    expect(config.listen.port).toBe(8444)
  })

  it('lets an environment variable beat the file', () => {
    const { config, issues } = loadConfig({ file: yamlFile, env: { EHI_GATEWAY_LISTEN__PORT: '9443' } })
    expect(issues).toEqual([])
    expect(config.listen.port).toBe(9443)
  })

  it('resolves file paths from the environment against the config folder too', () => {
    const { config } = loadConfig({ file: yamlFile, env: { EHI_GATEWAY_TLS__CLIENT_CA: 'a.pem,b.pem' } })
    expect(config.tls.clientCa).toEqual([join(dir, 'a.pem'), join(dir, 'b.pem')])
  })

  it('resolves against cwd without a file', () => {
    const { config, issues } = loadConfig({
      cwd: '/srv/ehi',
      env: {
        EHI_GATEWAY_TLS__SERVER_CERTIFICATES: '[{"cert":"s.pem","key":"s.key"}]',
        EHI_GATEWAY_TLS__CLIENT_CA: 'ca.pem',
        EHI_GATEWAY_UPSTREAM__URL: 'http://h/ehi',
      },
    })
    expect(issues).toEqual([])
    expect(config.tls.serverCertificates[0]).toEqual({ cert: '/srv/ehi/s.pem', key: '/srv/ehi/s.key' })
  })

  it('reports a bad value from the environment with the variable named', () => {
    const { issues } = loadConfig({ file: yamlFile, env: { EHI_GATEWAY_ROUTES__PATHS: 'ehi' } })
    expect(issues).toEqual([
      {
        path: 'routes.paths[0]',
        message: 'must start with / (got "ehi")',
        source: 'EHI_GATEWAY_ROUTES__PATHS',
      },
    ])
  })

  it('reports environment and file problems together', () => {
    const { issues } = loadConfig({
      file: jsonFile,
      env: { EHI_GATEWAY_TYPO: '1', EHI_GATEWAY_LOG__LEVEL: 'loud' },
    })
    expect(issues.map((i) => i.path)).toEqual(['EHI_GATEWAY_TYPO', 'log.level'])
  })

  it('freezes the loaded config', () => {
    const { config } = loadConfig({ file: yamlFile, env: {} })
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.tls.clientCa)).toBe(true)
  })

  it('gives one (file) issue for a file it cannot read', () => {
    const missing = join(dir, 'missing.yaml')
    const { issues } = loadConfig({ file: missing, env: { EHI_GATEWAY_TYPO: '1' } })
    expect(issues).toEqual([{ path: '(file)', message: `cannot read ${missing}: ENOENT` }])
  })

  it.each([
    {
      name: 'invalid YAML',
      text: 'tls:\n  clientCa: [a.pem\n  crl: x\n',
      message: /^is not valid YAML or JSON: line 3, column \d+: /,
    },
    { name: 'invalid JSON', text: '{"tls": ', message: /^is not valid YAML or JSON: line 1, column 9: / },
    { name: 'a top-level list', text: '- a\n- b\n', message: /^must contain a mapping/ },
    { name: 'a top-level scalar', text: 'just text\n', message: /^must contain a mapping/ },
  ])('gives one (file) issue for $name', ({ name, text, message }) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`)
    writeFileSync(file, text)
    const { issues } = loadConfig({ file, env: {} })
    expect(issues).toHaveLength(1)
    expect(issues[0]?.path).toBe('(file)')
    expect(issues[0]?.message).toMatch(message)
  })

  it('names where a syntax error is, never what the file holds there', () => {
    const file = join(dir, 'broken-key.yaml')
    const secret = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ'
    writeFileSync(file, `tls:\n  key: "${secret}\\q"\n`)
    const { issues } = loadConfig({ file, env: {} })
    expect(issues).toEqual([
      {
        path: '(file)',
        message:
          'is not valid YAML or JSON: line 2, column 59: an escape sequence that is not valid in a double-quoted string',
      },
    ])
  })

  it('treats an empty file as an empty config', () => {
    const file = join(dir, 'empty.yaml')
    writeFileSync(file, '')
    expect(loadConfig({ file, env: {} }).issues.map((i) => i.path)).toEqual(['tls', 'upstream'])
  })
})
