/**
 * The configuration schema: the single source of truth for the config types, defaults,
 * descriptions and validation. config/ehi-gateway.schema.json and the README's configuration
 * reference are generated from it (`npm run docs`), and tests fail when they drift.
 */
import Type, { type Static, type TSchema } from 'typebox'

/** Marks string fields that name a file, so relative paths resolve against the config file. */
export const FILE_PATH = 'x-file-path'

const FilePath = (description: string) => Type.String({ minLength: 1, description, [FILE_PATH]: true })
const FilePaths = (description: string, options: { minItems?: number; default?: string[] } = {}) =>
  Type.Array(Type.String({ minLength: 1, [FILE_PATH]: true }), { description, ...options })
const Strings = (description: string) =>
  Type.Array(Type.String({ minLength: 1 }), { description, default: [] })
const Millis = (description: string, def: number, minimum = 1) =>
  Type.Integer({ description, default: def, minimum, maximum: 3_600_000 })

/** TLS 1.2 suites: ECDHE key exchange with AEAD only (no CBC, no static RSA, no CCM, no ARIA). */
export const DEFAULT_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':')

/** TLS 1.3 suites are all AEAD; CCM variants are left out. */
export const DEFAULT_TLS13_CIPHERSUITES = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
].join(':')

const ServerCertificate = Type.Object(
  {
    cert: FilePath('PEM file with the server certificate followed by its intermediate(s), leaf first.'),
    key: FilePath('PEM file with the private key of that certificate (unencrypted).'),
  },
  { additionalProperties: false },
)

export const ConfigSchema = Type.Object(
  {
    listen: Type.Object(
      {
        host: Type.String({
          description: 'Address the EHI listener binds to. Use `::` for dual-stack.',
          default: '0.0.0.0',
          minLength: 1,
        }),
        port: Type.Integer({
          description: 'TCP port of the EHI listener (TLS).',
          default: 8443,
          minimum: 0,
          maximum: 65535,
        }),
      },
      { additionalProperties: false, default: {}, description: 'The EHI listener Thredd connects to.' },
    ),

    tls: Type.Object(
      {
        serverCertificates: Type.Array(ServerCertificate, {
          minItems: 1,
          description:
            'Server certificate chains with their keys. Give one RSA and one ECDSA pair to serve both; the client picks by its signature algorithms.',
        }),
        clientCa: FilePaths(
          "PEM files with the CA certificates that issue Thredd's transport certificate: Thredd's Root and Issuing CA (the EHI trust chain from Thredd Portal). Only these are trusted for client certificates: never the system store.",
          { minItems: 1 },
        ),
        crl: Type.Object(
          {
            enabled: Type.Boolean({
              description:
                'Check client certificates against CRLs. When on, every CA in tls.clientCa needs a CRL in tls.crl.files, or the gateway does not start.',
              default: false,
            }),
            files: FilePaths('PEM files with the CRLs of the client CAs (one or more CRLs per file).', {
              default: [],
            }),
          },
          { additionalProperties: false, default: {}, description: 'Revocation of client certificates.' },
        ),
        minVersion: Type.Enum(['TLSv1.2', 'TLSv1.3'], {
          description: 'Lowest TLS version accepted. TLS 1.0 and 1.1 are never accepted.',
          default: 'TLSv1.2',
        }),
        ciphers: Type.String({
          description:
            'OpenSSL cipher list for TLS 1.2. The default allows ECDHE with AES-GCM or ChaCha20-Poly1305 only.',
          default: DEFAULT_TLS12_CIPHERS,
          minLength: 1,
        }),
        ciphersuites: Type.String({
          description: 'TLS 1.3 cipher suites, colon-separated.',
          default: DEFAULT_TLS13_CIPHERSUITES,
          minLength: 1,
        }),
        ecdhCurves: Type.String({
          description: 'Key-exchange groups, in preference order, colon-separated.',
          default: 'X25519:P-256:P-384',
          minLength: 1,
        }),
        handshakeTimeoutMs: Millis(
          'A client that has not completed the TLS handshake after this long is disconnected.',
          5000,
        ),
        sessionTimeoutSeconds: Type.Integer({
          description:
            'Lifetime of TLS sessions and tickets. Resumed sessions skip the certificate exchange, so the gateway re-checks the cached client certificate against the current CRLs, pins and validity on every resumption.',
          default: 300,
          minimum: 1,
          maximum: 86400,
        }),
      },
      { additionalProperties: false, description: 'TLS server settings.' },
    ),

    clientAuth: Type.Object(
      {
        rejectMode: Type.Enum(['http', 'handshake'], {
          description:
            "How a refused client certificate is answered. `http` (default, as Thredd's go-live test expects): the handshake completes, the request gets 400 (no certificate) or 403 with the reason code, then the connection closes. `handshake`: the connection is closed as soon as the handshake completes, before any HTTP byte.",
          default: 'http',
        }),
        requireClientAuthEku: Type.Boolean({
          description:
            'Require the clientAuth extended key usage on the client certificate (a certificate without any EKU extension is refused too).',
          default: true,
        }),
        pins: Type.Object(
          {
            spkiSha256: Strings(
              'Base64 SHA-256 hashes of the client certificate public key (SPKI), as in HPKP and Envoy. List the current and the next key to rotate without an outage. When any pin is set, the certificate must match one of them in addition to chain validation.',
            ),
            certSha256: Strings(
              'SHA-256 fingerprints of the whole client certificate, in hex (colons optional).',
            ),
          },
          { additionalProperties: false, default: {}, description: 'Pins, ANDed with chain validation.' },
        ),
        allowedSubjects: Type.Object(
          {
            cn: Strings('Allowed subject common names. Empty = any.'),
            o: Strings('Allowed subject organisations. Empty = any.'),
            ou: Strings(
              'Allowed subject organisational units; a certificate with several OUs passes if one matches. Empty = any.',
            ),
            sanDns: Strings('Allowed DNS subject alternative names; one match is enough. Empty = any.'),
            sanUri: Strings('Allowed URI subject alternative names; one match is enough. Empty = any.'),
            sanEmail: Strings('Allowed e-mail subject alternative names; one match is enough. Empty = any.'),
          },
          {
            additionalProperties: false,
            default: {},
            description:
              'Allow-lists on the client certificate identity. Every non-empty list must match (AND); within a list one value is enough (OR).',
          },
        ),
      },
      { additionalProperties: false, default: {}, description: 'Client certificate policy.' },
    ),

    network: Type.Object(
      {
        allowlist: Strings(
          "Source CIDRs allowed to connect (IPv4, IPv6; IPv4-mapped IPv6 addresses match IPv4 entries). Checked on TCP accept, before any TLS work. Empty = allow all, with a startup warning; in production list Thredd's egress address.",
        ),
      },
      { additionalProperties: false, default: {}, description: 'Network-level access control.' },
    ),

    routes: Type.Object(
      {
        paths: Type.Array(Type.String({ pattern: '^/' }), {
          description: 'URL paths that accept EHI messages (POST). Other paths answer 404.',
          default: ['/ehi'],
          minItems: 1,
        }),
        bodyLimitBytes: Type.Integer({
          description: 'Largest request body accepted.',
          default: 262144,
          minimum: 1024,
          maximum: 16777216,
        }),
      },
      { additionalProperties: false, default: {}, description: 'The EHI endpoints.' },
    ),

    upstream: Type.Object(
      {
        url: Type.String({
          description: 'URL of the internal EHI host (http or https). Every accepted message is POSTed here.',
          pattern: '^https?://',
        }),
        timeoutMs: Millis(
          "Deadline for the host's whole answer. Past it the gateway answers 504. Keep it below Thredd's budget (200 ms by default) minus network and TLS time.",
          150,
        ),
        connectTimeoutMs: Millis('Deadline for opening a connection to the host.', 1000),
        connections: Type.Integer({
          description: 'Keep-alive connections kept open to the host.',
          default: 16,
          minimum: 1,
          maximum: 1024,
        }),
        keepAliveTimeoutMs: Millis('Idle pooled connections to the host are closed after this long.', 4000),
        maxResponseBytes: Type.Integer({
          description: 'Largest host answer accepted; a larger one is a bad answer (502).',
          default: 1048576,
          minimum: 1024,
          maximum: 16777216,
        }),
      },
      { additionalProperties: false, description: 'The internal host (your EHI endpoint).' },
    ),

    log: Type.Object(
      {
        level: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
          description: 'Log level.',
          default: 'info',
        }),
        pretty: Type.Boolean({
          description: 'Human-readable logs instead of JSON lines (for a terminal, not for production).',
          default: false,
        }),
      },
      { additionalProperties: false, default: {}, description: 'Logging (JSON lines on stdout).' },
    ),

    referenceHost: Type.Object(
      {
        enabled: Type.Boolean({
          description:
            'Run the embedded reference EHI host in the same process (demo and tests only; it approves everything).',
          default: false,
        }),
        host: Type.String({ description: 'Address the reference host binds to.', default: '127.0.0.1' }),
        port: Type.Integer({
          description: 'Port of the reference host (plain HTTP).',
          default: 9000,
          minimum: 0,
          maximum: 65535,
        }),
      },
      { additionalProperties: false, default: {}, description: 'The embedded reference EHI host.' },
    ),
  },
  { additionalProperties: false, title: 'ehi-gateway configuration' },
)

export type GatewayConfig = Static<typeof ConfigSchema>

/** Walks the schema's object properties, depth first, with their dotted key paths. */
export function* schemaFields(
  schema: TSchema = ConfigSchema,
  path: string[] = [],
): Generator<{ path: string[]; schema: TSchema }> {
  const node = schema as { type?: string; properties?: Record<string, TSchema> }
  if (node.type === 'object' && node.properties) {
    for (const [key, child] of Object.entries(node.properties)) {
      const childNode = child as { type?: string; properties?: unknown }
      if (childNode.type === 'object' && childNode.properties) yield* schemaFields(child, [...path, key])
      else yield { path: [...path, key], schema: child }
    }
  }
}
