/**
 * Environment overrides follow one mechanical naming rule, so every config key has exactly one
 * variable, and a mistyped EHI_GATEWAY_ variable is an error rather than a silently kept default.
 */
import { describe, expect, it } from 'vitest'
import { schemaFields } from '../../../src/config/config-schema.ts'
import { applyEnvOverrides, CONFIG_FILE_ENV, envNameFor } from '../../../src/config/env-overrides.ts'

describe('envNameFor', () => {
  it.each([
    { path: ['listen', 'port'], name: 'EHI_GATEWAY_LISTEN__PORT' },
    { path: ['tls', 'crl', 'enabled'], name: 'EHI_GATEWAY_TLS__CRL__ENABLED' },
    { path: ['clientAuth', 'pins', 'spkiSha256'], name: 'EHI_GATEWAY_CLIENT_AUTH__PINS__SPKI_SHA256' },
    {
      path: ['clientAuth', 'allowedSubjects', 'sanDns'],
      name: 'EHI_GATEWAY_CLIENT_AUTH__ALLOWED_SUBJECTS__SAN_DNS',
    },
    { path: ['upstream', 'keepAliveTimeoutMs'], name: 'EHI_GATEWAY_UPSTREAM__KEEP_ALIVE_TIMEOUT_MS' },
    { path: ['tls', 'ecdhCurves'], name: 'EHI_GATEWAY_TLS__ECDH_CURVES' },
    { path: ['referenceHost', 'enabled'], name: 'EHI_GATEWAY_REFERENCE_HOST__ENABLED' },
  ])('$path -> $name', ({ path, name }) => {
    expect(envNameFor(path)).toBe(name)
  })
})

describe('every schema field', () => {
  const fields = [...schemaFields()]

  it('has a unique environment variable name', () => {
    const names = fields.map((f) => envNameFor(f.path))
    expect(fields.length).toBeGreaterThan(30)
    expect(new Set(names).size).toBe(names.length)
    expect(names).not.toContain(CONFIG_FILE_ENV)
    for (const name of names) expect(name).toMatch(/^EHI_GATEWAY_[A-Z0-9]+(_{1,2}[A-Z0-9]+)*$/)
  })

  it.each(fields.map((f) => ({ dotted: f.path.join('.'), field: f })))(
    '$dotted can be set from its variable',
    ({ dotted, field }) => {
      const node = field.schema as { type?: string; items?: { type?: string } }
      const sample =
        node.type === 'integer'
          ? '7'
          : node.type === 'boolean'
            ? 'true'
            : node.type === 'array'
              ? '[]'
              : node.type === 'object'
                ? '{}'
                : 'text'
      const target: Record<string, unknown> = {}
      const { sources, issues } = applyEnvOverrides(target, { [envNameFor(field.path)]: sample })
      expect(issues).toEqual([])
      expect(sources.get(dotted)).toBe(envNameFor(field.path))
      const value = field.path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], target)
      expect(value).toEqual(
        node.type === 'integer'
          ? 7
          : node.type === 'boolean'
            ? true
            : node.type === 'array'
              ? []
              : node.type === 'object'
                ? {}
                : 'text',
      )
    },
  )
})

describe('applyEnvOverrides conversions', () => {
  const apply = (env: Record<string, string | undefined>, target: Record<string, unknown> = {}) => {
    const result = applyEnvOverrides(target, env)
    return { target, ...result }
  }

  it.each([
    { name: 'an integer', env: 'EHI_GATEWAY_LISTEN__PORT', at: 'listen.port', raw: '9443', value: 9443 },
    {
      name: 'an integer with spaces',
      env: 'EHI_GATEWAY_LISTEN__PORT',
      at: 'listen.port',
      raw: ' 9443 ',
      value: 9443,
    },
    {
      name: 'boolean true',
      env: 'EHI_GATEWAY_TLS__CRL__ENABLED',
      at: 'tls.crl.enabled',
      raw: 'true',
      value: true,
    },
    {
      name: 'boolean TRUE',
      env: 'EHI_GATEWAY_TLS__CRL__ENABLED',
      at: 'tls.crl.enabled',
      raw: 'TRUE',
      value: true,
    },
    { name: 'boolean 1', env: 'EHI_GATEWAY_TLS__CRL__ENABLED', at: 'tls.crl.enabled', raw: '1', value: true },
    {
      name: 'boolean false',
      env: 'EHI_GATEWAY_TLS__CRL__ENABLED',
      at: 'tls.crl.enabled',
      raw: 'false',
      value: false,
    },
    {
      name: 'boolean 0',
      env: 'EHI_GATEWAY_TLS__CRL__ENABLED',
      at: 'tls.crl.enabled',
      raw: '0',
      value: false,
    },
    {
      name: 'a string',
      env: 'EHI_GATEWAY_UPSTREAM__URL',
      at: 'upstream.url',
      raw: 'http://h:9000/ehi',
      value: 'http://h:9000/ehi',
    },
    { name: 'an enum', env: 'EHI_GATEWAY_LOG__LEVEL', at: 'log.level', raw: 'debug', value: 'debug' },
    {
      name: 'a comma list',
      env: 'EHI_GATEWAY_NETWORK__ALLOWLIST',
      at: 'network.allowlist',
      raw: '10.0.0.0/8, 192.0.2.1 ,2001:db8::/32',
      value: ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32'],
    },
    {
      name: 'a one-item list',
      env: 'EHI_GATEWAY_TLS__CLIENT_CA',
      at: 'tls.clientCa',
      raw: 'ca.pem',
      value: ['ca.pem'],
    },
    {
      name: 'an empty list',
      env: 'EHI_GATEWAY_NETWORK__ALLOWLIST',
      at: 'network.allowlist',
      raw: '',
      value: [],
    },
    // JSON keeps commas inside an item.
    {
      name: 'a JSON list',
      env: 'EHI_GATEWAY_CLIENT_AUTH__ALLOWED_SUBJECTS__CN',
      at: 'clientAuth.allowedSubjects.cn',
      raw: '["Thredd, Ltd", "b"]',
      value: ['Thredd, Ltd', 'b'],
    },
    {
      name: 'a JSON list of objects',
      env: 'EHI_GATEWAY_TLS__SERVER_CERTIFICATES',
      at: 'tls.serverCertificates',
      raw: '[{"cert":"rsa.pem","key":"rsa.key"},{"cert":"ec.pem","key":"ec.key"}]',
      value: [
        { cert: 'rsa.pem', key: 'rsa.key' },
        { cert: 'ec.pem', key: 'ec.key' },
      ],
    },
  ])('converts $name', ({ env, at, raw, value }) => {
    const { target, issues } = apply({ [env]: raw })
    expect(issues).toEqual([])
    const leaf = at.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], target)
    expect(leaf).toEqual(value)
  })

  it.each([
    {
      name: 'a non-number integer',
      env: 'EHI_GATEWAY_UPSTREAM__CONNECT_TIMEOUT_MS',
      raw: 'abc',
      path: 'upstream.connectTimeoutMs',
      message: 'must be a number',
    },
    {
      name: 'an empty integer',
      env: 'EHI_GATEWAY_UPSTREAM__CONNECTIONS',
      raw: ' ',
      path: 'upstream.connections',
      message: 'must be a number',
    },
    {
      name: 'a yes/no boolean',
      env: 'EHI_GATEWAY_REFERENCE_HOST__ENABLED',
      raw: 'yes',
      path: 'referenceHost.enabled',
      message: 'must be true or false',
    },
    {
      name: 'broken JSON',
      env: 'EHI_GATEWAY_CLIENT_AUTH__PINS__CERT_SHA256',
      raw: '[bad',
      path: 'clientAuth.pins.certSha256',
      message: 'is not a valid JSON array',
    },
    {
      name: 'a comma list for a list of objects',
      env: 'EHI_GATEWAY_TLS__SERVER_CERTIFICATES',
      raw: 'a.pem,a.key',
      path: 'tls.serverCertificates',
      message: 'must be a JSON array of objects',
    },
  ])(
    'reports $name with the variable as source and leaves the target alone',
    ({ env, raw, path, message }) => {
      const { target, issues, sources } = apply({ [env]: raw })
      expect(issues).toEqual([{ path, source: env, message }])
      expect(target).toEqual({})
      expect(sources.size).toBe(0)
    },
  )

  it.each(['EHI_GATEWAY_LISTEN__PROT', 'EHI_GATEWAY_LISTEN_PORT', 'EHI_GATEWAY_TLS', 'EHI_GATEWAY_'])(
    'reports the unknown variable %s',
    (name) => {
      const { issues } = apply({ [name]: '1' })
      expect(issues).toHaveLength(1)
      expect(issues[0]?.path).toBe(name)
    },
  )

  it.each([
    ['EHI_GATEWAY_LISTEN__PROT', 'EHI_GATEWAY_LISTEN__PORT (listen.port)'],
    ['EHI_GATEWAY_NETWORK__ALLOW_LIST', 'EHI_GATEWAY_NETWORK__ALLOWLIST (network.allowlist)'],
    ['EHI_GATEWAY_TLS__CLIENTCA', 'EHI_GATEWAY_TLS__CLIENT_CA (tls.clientCa)'],
    ['EHI_GATEWAY_LISTEN_PORT', 'EHI_GATEWAY_LISTEN__PORT (listen.port)'],
    ['EHI_GATEWAY_UPSTREAM__URI', 'EHI_GATEWAY_UPSTREAM__URL (upstream.url)'],
  ])('suggests the variable %s was meant to be %s', (name, meant) => {
    expect(apply({ [name]: '1' }).issues).toEqual([
      { path: name, message: `is not a configuration key; did you mean ${meant}?` },
    ])
  })

  it('guesses nothing for a name far from every key', () => {
    expect(apply({ EHI_GATEWAY_BANANAS: '1' }).issues).toEqual([
      {
        path: 'EHI_GATEWAY_BANANAS',
        message: 'is not a configuration key (see the configuration reference)',
      },
    ])
  })

  it('ignores EHI_GATEWAY_CONFIG, other variables and unset values', () => {
    const { target, issues, sources } = apply({
      [CONFIG_FILE_ENV]: 'gateway.yaml',
      PATH: '/usr/bin',
      ehi_gateway_listen__port: '1',
      EHI_GATEWAY_LISTEN__PORT: undefined,
    })
    expect(issues).toEqual([])
    expect(sources.size).toBe(0)
    expect(target).toEqual({})
  })

  it('overrides one key and keeps its siblings from the file', () => {
    const { target, sources } = apply(
      { EHI_GATEWAY_LISTEN__PORT: '9443' },
      { listen: { host: '::', port: 8443 }, log: { level: 'warn' } },
    )
    expect(target).toEqual({ listen: { host: '::', port: 9443 }, log: { level: 'warn' } })
    expect([...sources]).toEqual([['listen.port', 'EHI_GATEWAY_LISTEN__PORT']])
  })

  it('creates the parent objects a nested key needs', () => {
    const { target } = apply({ EHI_GATEWAY_CLIENT_AUTH__PINS__SPKI_SHA256: 'a,b' }, { clientAuth: 'oops' })
    expect(target).toEqual({ clientAuth: { pins: { spkiSha256: ['a', 'b'] } } })
  })

  it('collects every problem in one pass', () => {
    const { issues, sources } = apply({
      EHI_GATEWAY_LISTEN__PORT: 'x',
      EHI_GATEWAY_LOG__PRETTY: 'maybe',
      EHI_GATEWAY_TYPO: '1',
      EHI_GATEWAY_LOG__LEVEL: 'debug',
    })
    expect(issues.map((i) => i.path).sort()).toEqual(['EHI_GATEWAY_TYPO', 'listen.port', 'log.pretty'])
    expect([...sources.keys()]).toEqual(['log.level'])
  })
})
