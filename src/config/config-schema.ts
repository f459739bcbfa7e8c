/**
 * The configuration schema: the single source of truth for the config types, defaults,
 * descriptions and validation. config/ehi-gateway.schema.json and the README's configuration
 * reference are generated from it (`npm run docs`), and tests fail when they drift.
 */
import { Type, type Static, type TSchema } from './config-libraries.ts'

/** Marks string fields that name a file, so relative paths resolve against the config file. */
export const FILE_PATH = 'x-file-path'
/**
 * Marks a URL field whose `sqlite:` form names a file: its relative path resolves against the
 * config file like a FILE_PATH, but the file is the gateway's own data, not an input to read.
 */
export const SQLITE_URL = 'x-sqlite-url'
/**
 * What a value that fails a field's `pattern` is told, in words rather than the regular
 * expression. The key is the one VS Code's and the YAML language server's schema support read.
 */
export const PATTERN_MESSAGE = 'patternErrorMessage'

const HTTP_URL = 'must be an http:// or https:// URL'

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

/**
 * Pins and subject allow-lists, shared by the live client policy (clientAuth) and the candidate
 * trust (candidateTrust), so both read the same settings the same way. `note` is appended to each
 * description (the candidate's says that it only reports).
 */
const Pins = (note = '') =>
  Type.Object(
    {
      spkiSha256: Strings(
        `Base64 SHA-256 hashes of the client certificate public key (SPKI), as in HPKP and Envoy. List the current and the next key to rotate without an outage. When any pin is set, the certificate must match one of them in addition to chain validation.${note}`,
      ),
      certSha256: Strings(
        `SHA-256 fingerprints of the whole client certificate, in hex (colons optional).${note}`,
      ),
    },
    { additionalProperties: false, default: {}, description: `Pins, ANDed with chain validation.${note}` },
  )

const AllowedSubjects = (note = '') =>
  Type.Object(
    {
      cn: Strings(
        `Allowed subject common names, compared exactly. Every CN on the certificate must be listed: one with \`CN=evil, CN=<listed>\` is refused, and so is one without a CN. Empty = any.${note}`,
      ),
      o: Strings(
        `Allowed subject organisations, compared exactly. Every O on the certificate must be listed; one without an O is refused. Empty = any.${note}`,
      ),
      ou: Strings(
        `Allowed subject organisational units, compared exactly. A certificate with several OUs passes if one of them is listed; one without an OU is refused. Empty = any.${note}`,
      ),
      sanDns: Strings(
        `Allowed DNS subject alternative names, compared without regard to case. One listed name on the certificate is enough; one without a DNS name is refused. Empty = any.${note}`,
      ),
      sanUri: Strings(
        `Allowed URI subject alternative names, compared exactly. One listed URI on the certificate is enough; one without a URI is refused. Empty = any.${note}`,
      ),
      sanEmail: Strings(
        `Allowed e-mail subject alternative names, compared exactly. One listed address on the certificate is enough; one without an e-mail name is refused. Empty = any.${note}`,
      ),
    },
    {
      additionalProperties: false,
      default: {},
      description: `Allow-lists on the client certificate identity, checked after chain validation and pins. Every non-empty list must pass (AND). CN and O pass when every value on the certificate is listed; OU and the SANs when one is. A failure is \`subject_not_allowed\`.${note}`,
    },
  )

/** Appended to every candidateTrust description: the candidate decides nothing. */
const CANDIDATE_ONLY =
  ' Candidate trust only: connections are evaluated against it and differences reported; it never admits or refuses a connection.'

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
                'Check client certificates against CRLs. When on, every CA in tls.clientCa needs a CRL (from tls.crl.files, or fetched by tls.crl.fetch), or the gateway does not start.',
              default: false,
            }),
            files: FilePaths(
              'PEM files with the CRLs of the client CAs (one or more CRLs per file). May be empty when tls.crl.fetch fetches them. A reload that would replace the CRL in force for a CA with an older one (lower CRL number, or earlier thisUpdate without numbers) is refused.',
              { default: [] },
            ),
            fetch: Type.Object(
              {
                urls: Type.Array(Type.String({ pattern: '^https?://', [PATTERN_MESSAGE]: HTTP_URL }), {
                  description:
                    "CRL URLs to fetch over HTTP(S), for example Thredd's Issuing CA CRL (its URL is in the CRL Distribution Points of the transport certificate Thredd presents). Each CRL is matched to the CA in tls.clientCa that issued it (name and signature); a CRL from another issuer, with a bad signature, older than the one in force or already expired is refused and the last good one kept. DER or PEM bodies.",
                  default: [],
                }),
                fromDistributionPoints: Type.Boolean({
                  description:
                    "Also fetch the http(s) URLs in the CRL Distribution Points of the CA certificates in tls.clientCa. These locate the CRL of the CA above each one (the Issuing CA's certificate names the Root CA's CRL); the Issuing CA's own CRL is named only in the certificates it issues, so list it in urls.",
                  default: false,
                }),
                cacheDir: Type.Optional(
                  FilePath(
                    'Folder where the last good fetched CRL of each CA is written (atomically) and read back at start, so a restart without network still starts. Without it a restart needs the network or tls.crl.files. A cache file that fails verification is ignored; a folder that cannot be written is logged and fetching goes on.',
                  ),
                ),
                refreshIntervalSeconds: Type.Integer({
                  description:
                    'Fetch every URL at least this often, so revocations arrive before the CRL in force reaches its nextUpdate.',
                  default: 3600,
                  minimum: 1,
                  maximum: 604800,
                }),
                refreshMarginSeconds: Type.Integer({
                  description:
                    "Fetch this long before the nextUpdate of a CA's CRL in force, and while inside this margin without a newer CRL retry with backoff (retryMinSeconds..retryMaxSeconds). Keep it shorter than the CA's CRL validity.",
                  default: 43200,
                  minimum: 0,
                  maximum: 2592000,
                }),
                timeoutMs: Millis(
                  'A fetch (connect, headers and the whole body) that takes longer is abandoned as a timeout; the last good CRL stays.',
                  10000,
                  100,
                ),
                maxBytes: Type.Integer({
                  description:
                    'Largest CRL accepted; a larger body (by Content-Length or while reading) is abandoned as too_large before it is read whole.',
                  default: 8388608,
                  minimum: 1024,
                  maximum: 67108864,
                }),
                retryMinSeconds: Type.Integer({
                  description:
                    'First retry delay after a failed fetch; each further failure doubles it up to retryMaxSeconds, with random jitter.',
                  default: 30,
                  minimum: 1,
                  maximum: 86400,
                }),
                retryMaxSeconds: Type.Integer({
                  description: 'Longest retry delay (never longer than refreshIntervalSeconds).',
                  default: 600,
                  minimum: 1,
                  maximum: 86400,
                }),
              },
              {
                additionalProperties: false,
                default: {},
                description:
                  'Fetch CRLs over HTTP and keep them current (see docs/crl.md). On when urls is not empty or fromDistributionPoints is true. Runs once, in the process that runs the control plane.',
              },
            ),
            readinessMarginSeconds: Type.Integer({
              description:
                "/readyz fails when a CA's current CRL reaches its nextUpdate within this many seconds (0: only once it has passed), naming the CA and the time.",
              default: 0,
              minimum: 0,
              maximum: 2592000,
            }),
          },
          { additionalProperties: false, default: {}, description: 'Revocation of client certificates.' },
        ),
        ocsp: Type.Object(
          {
            enabled: Type.Boolean({
              description:
                "Ask the client certificate's OCSP responder whether it is revoked, in addition to any CRLs. Answers are cached per certificate until their nextUpdate and refreshed in the background, so in steady state no request waits on OCSP. A revoked answer is refused as `revoked`, like a CRL entry.",
              default: false,
            }),
            policy: Type.Enum(['hard', 'soft'], {
              description:
                'Without a current good answer (responder down, slow, answering `unknown`, a bad signature or signer, a stale answer, or no answer yet on first sight): `hard` refuses the client with `ocsp_unavailable`; `soft` admits it, logs a warning and counts it in ehi_gateway_ocsp_soft_admissions_total. Either way a revoked answer refuses.',
              default: 'hard',
            }),
            responderUrl: Type.Optional(
              Type.String({
                description:
                  "OCSP responder URL (http or https) used for every client certificate. Default: the OCSP URL in the certificate's authorityInfoAccess extension; a certificate with neither has no answer (see policy).",
                pattern: '^https?://',
                [PATTERN_MESSAGE]: HTTP_URL,
              }),
            ),
            firstSightTimeoutMs: Millis(
              "How long the first request from a certificate the gateway has no answer for may wait for the responder. The query goes on in the background after this wait gives up (up to requestTimeoutMs), so the next connection finds the answer cached. Keep it inside Thredd's budget (ehi.threddBudgetMs, which also covers the handshake and the host): waiting longer only turns a refusal into a missed deadline.",
              100,
            ),
            requestTimeoutMs: Millis(
              'Deadline for one query to the responder (connect, send, whole answer); past it the query counts as `timeout` and is retried with backoff.',
              5000,
            ),
            refreshMarginSeconds: Type.Integer({
              description:
                'Query again this long before the cached answer expires (nextUpdate), or halfway through its validity if that is later. Failures keep the cached answer until it expires and are retried with jittered backoff meanwhile, so an outage of the responder shorter than this margin costs nothing.',
              default: 3600,
              minimum: 1,
              maximum: 604800,
            }),
            maxAgeSeconds: Type.Integer({
              description:
                'How long an answer without nextUpdate may be used after its thisUpdate. Past it the answer is stale.',
              default: 3600,
              minimum: 1,
              maximum: 604800,
            }),
            clockSkewSeconds: Type.Integer({
              description:
                'Allowed clock difference with the responder: an answer whose thisUpdate is further in the future is refused (`not_yet_valid`). nextUpdate gets no grace.',
              default: 300,
              minimum: 0,
              maximum: 3600,
            }),
            maxResponseBytes: Type.Integer({
              description: 'Largest responder answer read; a larger one is refused (`too_large`).',
              default: 65536,
              minimum: 1024,
              maximum: 1048576,
            }),
            nonce: Type.Boolean({
              description:
                'Send a random nonce with each query and refuse an answer that does not echo it (`nonce_mismatch`), so an answer cannot be replayed. Responders that serve pre-signed answers (most public CAs, RFC 5019) do not echo nonces: turn it on only if yours does.',
              default: false,
            }),
            retryInitialMs: Millis(
              'First retry delay after a failed query; it doubles on each further failure.',
              1000,
            ),
            retryMaxMs: Millis('Longest retry delay between failed queries.', 60000),
            maxCachedCertificates: Type.Integer({
              description:
                'Certificates whose answers are kept per worker; the least recently seen is dropped first. Thredd presents one or two.',
              default: 256,
              minimum: 1,
              maximum: 100000,
            }),
          },
          {
            additionalProperties: false,
            default: {},
            description: 'OCSP for client certificates (docs/ocsp.md).',
          },
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
        sessionTickets: Type.Boolean({
          description:
            'Offer TLS session tickets, so a client that resumes skips the full handshake (about half its CPU). Off: every connection does a full handshake.',
          default: true,
        }),
        ticketKeyRotationMinutes: Type.Integer({
          description:
            'How long one session-ticket key serves: it changes at every multiple of this period in Unix time (aligned, so replicas sharing tls.ticketKeyFile change at the same moment). The key it replaces still reads tickets until the next change, and a resumed session gets a new ticket under the current key. Without tls.ticketKeyFile the key is random, shared by the workers of one process, and a reload also replaces it.',
          default: 60,
          minimum: 1,
          maximum: 1440,
        }),
        ticketKeyFile: Type.Optional(
          FilePath(
            'File with a secret shared by every replica (base64 text of at least 32 bytes, as `openssl rand -base64 48` makes, or at least 32 raw bytes), from which each ticket key is derived (HKDF-SHA256 over the rotation period and the client trust): a TLS session made on one replica resumes on any other with the same secret, the same trust and a synchronised clock. Unset: the key is random, so resumption works within one replica only. Shorter, unreadable, or readable by every user (mode o+r): the gateway does not start.',
          ),
        ),
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
        pins: Pins(),
        allowedSubjects: AllowedSubjects(),
      },
      { additionalProperties: false, default: {}, description: 'Client certificate policy.' },
    ),

    candidateTrust: Type.Object(
      {
        enabled: Type.Boolean({
          description:
            "Evaluate every client certificate against this candidate trust as well as the live one (tls.clientCa, tls.crl, clientAuth), to rehearse a change such as Thredd's CA rotation on live traffic. Each connection on which the two disagree is counted in ehi_gateway_candidate_trust_differences_total (would_refuse: admitted now, refused by the candidate; would_allow: refused now, admitted by the candidate), logged once per certificate (event candidate_trust_difference), and shown by /readyz (check candidate_trust, which never fails readiness) and `ehi-gateway check --admin`. It never admits or refuses a connection: the live trust alone decides. The candidate's chain is built and checked by the gateway itself (signatures, validity, CRLs), not by OpenSSL, which only knows the live CAs. A candidate is checked like the live trust: a bad one (unreadable file, not a CA, a CA without its CRL) is an invalid configuration, so the gateway does not start and a reload keeps the last good state. A reload adds, changes or removes it (it widens nothing).",
          default: false,
        }),
        clientCa: FilePaths(
          `PEM files with the candidate CA certificates (for a rotation: Thredd's new Root and Issuing CA, plus the current ones if both are to be trusted after the switch). Checked like tls.clientCa: CA certificates, unexpired, each leading to a self-signed root in the bundle; required when enabled.${CANDIDATE_ONLY}`,
          { default: [] },
        ),
        crl: Type.Object(
          {
            enabled: Type.Boolean({
              description: `Check certificates against the candidate CRLs. When on, every CA in candidateTrust.clientCa needs a CRL in candidateTrust.crl.files, or the configuration is refused.${CANDIDATE_ONLY}`,
              default: false,
            }),
            files: FilePaths(
              `PEM files with the CRLs of the candidate CAs (one or more CRLs per file).${CANDIDATE_ONLY}`,
              { default: [] },
            ),
          },
          {
            additionalProperties: false,
            default: {},
            description: `Revocation under the candidate trust.${CANDIDATE_ONLY}`,
          },
        ),
        pins: Pins(CANDIDATE_ONLY),
        allowedSubjects: AllowedSubjects(CANDIDATE_ONLY),
      },
      {
        additionalProperties: false,
        default: {},
        description:
          'Shadow trust: a candidate client trust (CAs, CRLs, pins, subject rules) evaluated next to the live one and reported, never enforced. clientAuth.requireClientAuthEku applies to it as to the live trust.',
      },
    ),

    network: Type.Object(
      {
        allowlist: Strings(
          "Source CIDRs allowed to connect (IPv4, IPv6; IPv4-mapped IPv6 addresses match IPv4 entries). Checked on TCP accept, before any TLS work. Empty = allow all, with a startup warning; in production list Thredd's egress address.",
        ),
      },
      { additionalProperties: false, default: {}, description: 'Network-level access control.' },
    ),

    proxyProtocol: Type.Object(
      {
        enabled: Type.Boolean({
          description:
            "Expect a PROXY protocol v1 or v2 header at the start of every EHI connection, from a load balancer that does not preserve the client's address. The header's source address then takes the place of the TCP peer for the allowlist, the per-IP limits, x-forwarded-for and the logs. A connection without a valid header, or from an address not in trustedCidrs, is closed before TLS. Off: a PROXY header is a failed TLS handshake.",
          default: false,
        }),
        trustedCidrs: Strings(
          'Addresses (CIDRs) of the load balancers allowed to send PROXY headers; required when enabled. Every other source is refused, so nobody else can claim an address.',
        ),
        headerTimeoutMs: Millis(
          'A connection that has not sent its complete PROXY header this long after TCP accept is closed.',
          1000,
        ),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'PROXY protocol on the EHI listener (behind a TCP load balancer).',
      },
    ),

    routes: Type.Object(
      {
        paths: Type.Array(Type.String({ pattern: '^/', [PATTERN_MESSAGE]: 'must start with /' }), {
          description: 'URL paths that accept EHI messages (POST). Other paths answer 404.',
          default: ['/ehi'],
          minItems: 1,
        }),
        bodyLimitBytes: Type.Integer({
          description: 'Largest request body accepted; a larger one is refused as ehi_too_large.',
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
          [PATTERN_MESSAGE]: HTTP_URL,
        }),
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
        forwardHeaders: Strings(
          "More request headers to pass from Thredd to the host, by name (any case). Without it the host gets only content-type, soapaction, x-thredd-signature and a valid tracestate from the request, plus the headers the gateway sets. A listed header is still dropped when the request's Connection header names it. Hop-by-hop names, names the gateway sets (host, content-length, expect, traceparent, x-request-id, x-forwarded-*, forwarded, x-forwarded-client-cert, client-cert, x-ehi-*) and names that carry a client identity or address another proxy would vouch for (x-client-cert, x-ssl-*, ssl-*, x-real-ip, true-client-ip, x-envoy-*, ...) are refused at startup. authorization and cookie may be listed, but Thredd does not send them: list them only if your host expects them from Thredd.",
        ),
        clientCertHeaders: Type.Boolean({
          description:
            "Also send the verified client certificate as RFC 9440 headers: Client-Cert (the certificate's DER as a structured-field byte sequence, `:base64:`) and Client-Cert-Chain (the CA certificates of the validated path from tls.clientCa, issuer first, same encoding, comma-separated). Adds 2-8 KB per request, so the host must accept request headers that large. A client's own Client-Cert headers are always dropped.",
          default: false,
        }),
      },
      { additionalProperties: false, description: 'The internal host (your EHI endpoint).' },
    ),

    ehi: Type.Object(
      {
        defaultMode: Type.Enum([1, 2, 3, 4], {
          description:
            "The programme's EHI mode (1 gateway processing, 2 cooperative, 3 full service, 4 gateway with STIP). Decides which messages need a real-time decision and what may be answered when the host fails.",
          default: 1,
        }),
        productModes: Type.Record(
          Type.String({ pattern: '^[0-9A-Za-z_-]+$' }),
          Type.Integer({ minimum: 1, maximum: 4 }),
          {
            description:
              'EHI mode per ProductID, for products that differ from ehi.defaultMode. For example {"9001": 4}.',
            default: {},
          },
        ),
        threddBudgetMs: Type.Integer({
          description:
            "Thredd's answer budget for the whole round trip, TLS handshake included (200 ms by default; confirm your programme's value with Thredd). Every class deadline must be below it.",
          default: 200,
          minimum: 10,
          maximum: 60000,
        }),
        deadlineMs: Type.Object(
          {
            decision: Millis(
              'Host deadline for authorisation requests (0100/0101/0200 needing a decision).',
              150,
            ),
            reversal: Millis('Host deadline for reversals.', 150),
            advice: Millis('Host deadline for advices.', 150),
            financial: Millis('Host deadline for presentments, chargebacks and other clearing records.', 150),
            cutoff: Millis('Host deadline for Cut_Off messages.', 150),
            other: Millis('Host deadline for loads, fees, balance adjustments and other messages.', 150),
          },
          {
            additionalProperties: false,
            default: {},
            description:
              'Deadlines per message class, counted from TCP accept for the first message on a connection (Thredd times the handshake too) and from the request otherwise. Past it the gateway answers without the host; a message whose deadline passed before forwarding is not forwarded.',
          },
        ),
        onHostFailure: Type.Object(
          {
            decision: Type.Enum(['status', 'decline'], {
              description:
                "When the host gives no answer to a decision: `status` (default) answers a fast 502/504 so Thredd applies the mode's default and sends its follow-up advice. `decline` answers a well-formed decline instead, for mode-1 products only (never mode 2 or 4); it suppresses Thredd's follow-up advice, so the host must reconcile from the gateway's audit log.",
              default: 'status',
            }),
            declineResponseStatus: Type.String({
              description: 'Responsestatus of the synthesized decline (91 issuer unavailable, or 96).',
              default: '91',
              pattern: '^[0-9A-Z]{2}$',
              [PATTERN_MESSAGE]: 'must be two digits or capital letters, a Responsestatus such as 91 or 96',
            }),
            acknowledgement: Type.Enum(['ack0', 'status'], {
              description:
                "When the host gives no answer to a reversal, advice, financial or other message: `ack0` (default) answers Acknowledgement 0 (reversals with Responsestatus 96) in the request's format; `status` answers 502/504. Either way Thredd resends; the gateway never acknowledges a message the host did not store.",
              default: 'ack0',
            }),
            cutoff: Type.Enum(['result0', 'status'], {
              description:
                'When the host gives no answer to a Cut_Off: `result0` (default) answers Cut_OffResult 0; `status` answers 502/504. Thredd does not resend Cut_Off, so this is logged as an error.',
              default: 'result0',
            }),
          },
          {
            additionalProperties: false,
            default: {},
            description: 'Answers when the host is down, slow or broken.',
          },
        ),
        hostAnswerCheck: Type.Enum(['pass', 'replace'], {
          description:
            'What to do with a host answer that does not have the shape Thredd expects (it is counted and logged either way): `pass` (default) returns it unchanged; `replace` answers as if the host had failed.',
          default: 'pass',
        }),
        limits: Type.Object(
          {
            maxDepth: Type.Integer({
              description: 'Deepest element (XML) or value (JSON) nesting accepted.',
              default: 16,
              minimum: 4,
              maximum: 64,
            }),
            maxElements: Type.Integer({
              description: 'Most elements (XML) or top-level keys (JSON) accepted.',
              default: 2000,
              minimum: 50,
              maximum: 100000,
            }),
            maxAttributes: Type.Integer({
              description: 'Most attributes on one XML element.',
              default: 32,
              minimum: 4,
              maximum: 1024,
            }),
          },
          {
            additionalProperties: false,
            default: {},
            description: 'Parser limits; a message past them is refused as ehi_malformed.',
          },
        ),
      },
      { additionalProperties: false, default: {}, description: 'EHI message handling.' },
    ),

    audit: Type.Object(
      {
        tokenHmacKeyFile: Type.Optional(
          FilePath(
            'File with the secret key (at least 16 bytes) for the keyed HMAC under which Token is logged. Without it a random key is made at each start, so hashes do not join across restarts.',
          ),
        ),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'The audit log line (one JSON line per message).',
      },
    ),

    admin: Type.Object(
      {
        host: Type.String({
          description:
            'Address of the admin server (plain HTTP: /livez, /readyz, /metrics). Keep it on loopback or a private network; it is never on the EHI port.',
          default: '127.0.0.1',
          minLength: 1,
        }),
        enabled: Type.Boolean({ description: 'Run the admin server.', default: true }),
        port: Type.Integer({
          description:
            "Port of the admin server (0: any free port). 8442 by default: outside the Prometheus ecosystem's ports (the server's 9090, the Pushgateway's 9091, Alertmanager's 9093, exporters from 9100), so Prometheus and node_exporter on the same host do not collide with it.",
          default: 8442,
          minimum: 0,
          maximum: 65535,
        }),
        hostProbeIntervalMs: Millis(
          'How often the gateway checks that the internal host accepts TCP connections (ehi_gateway_host_reachable, the host line of /readyz).',
          5000,
          100,
        ),
        readinessChecksHost: Type.Boolean({
          description:
            'Make /readyz fail while the internal host refuses TCP connections. Off by default: during a host outage the gateway stays ready and keeps answering Thredd at once (502/504 for decisions, so Thredd applies its stand-in; Acknowledgement 0 for acknowledgement-type messages, so Thredd resends). On, every gateway turns unready together, the load balancer stops sending, and Thredd gets connection failures (and stands in after its own timeout) instead of those fast answers; only turn it on when the load balancer can send Thredd to another site whose host is up. Either way the probe runs and ehi_gateway_host_reachable with the EhiGatewayHostUnreachable alert report the host.',
          default: false,
        }),
      },
      { additionalProperties: false, default: {}, description: 'Health, readiness and metrics.' },
    ),

    limits: Type.Object(
      {
        headersTimeoutMs: Millis(
          'A client that has not sent complete request headers this long after the handshake is cut off with 408 (slow-loris).',
          5000,
        ),
        requestTimeoutMs: Millis('Longest time to receive a whole request, body included.', 10000),
        keepAliveTimeoutMs: Millis('Idle kept-alive connections are closed after this long.', 5000),
        maxRequestsPerConnection: Type.Integer({
          description:
            'Requests one kept-alive connection may carry; the last one is answered with `Connection: close` (as nginx keepalive_requests). Thredd sends one message per connection, so this only bounds other clients.',
          default: 1000,
          minimum: 1,
          maximum: 1000000,
        }),
        maxConnectionAgeMs: Millis(
          'Age after which a kept-alive connection is closed after its next answer (as nginx keepalive_time). Every request is re-checked against the current trust anyway; this bounds how long one connection and its TLS session live.',
          3_600_000,
        ),
        maxConnections: Type.Integer({
          description: 'Open EHI connections per worker; past it new connections are closed at once.',
          default: 2000,
          minimum: 1,
          maximum: 1000000,
        }),
        maxConnectionsPerIp: Type.Integer({
          description:
            'Open EHI connections per source address and worker; past it new connections from that address are closed before TLS.',
          default: 500,
          minimum: 1,
          maximum: 1000000,
        }),
      },
      { additionalProperties: false, default: {}, description: 'Limits on clients.' },
    ),

    shutdown: Type.Object(
      {
        drainTimeoutMs: Millis(
          'On SIGTERM or SIGINT: readiness turns false, the listener stops, and requests in flight get this long to finish before their connections are closed.',
          10000,
        ),
      },
      { additionalProperties: false, default: {}, description: 'Graceful shutdown.' },
    ),

    reload: Type.Object(
      {
        watchFiles: Type.Boolean({
          description:
            'Reload when the config file or any certificate, key, CA, CRL or key file it names changes (SIGHUP always reloads).',
          default: true,
        }),
        debounceMs: Millis(
          'Wait this long after the last file change before reloading (files often change in several writes).',
          500,
          10,
        ),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'Hot reload of certificates, trust and policy.',
      },
    ),

    ledger: Type.Object(
      {
        url: Type.Optional(
          Type.String({
            description:
              "Where the message ledger is kept; unset (the default) = no ledger. `sqlite:/var/lib/ehi-gateway/ledger.db`: an embedded SQLite file (WAL mode) in a data directory the gateway may write, made if missing; a relative path resolves against the config file's folder. `postgres://user@host:5432/db`: a PostgreSQL database several gateways share (give the password in ledger.passwordFile, not in the URL). The ledger never delays an answer: when the store is unreachable, full, read-only, corrupt or of a newer schema, the gateway answers Thredd as before, logs one line per state change and counts deferred and dropped records.",
            pattern: '^(sqlite:.+|postgres(ql)?://.+)$',
            [PATTERN_MESSAGE]: 'must start with sqlite: (a file) or postgres:// (a database)',
            [SQLITE_URL]: true,
          }),
        ),
        passwordFile: Type.Optional(
          FilePath(
            'File holding the PostgreSQL password (trailing newline ignored). Keeps the secret out of the URL, the environment and the logs. Unreadable or empty: the gateway does not start.',
          ),
        ),
        instanceId: Type.Optional(
          Type.String({
            description:
              'Name of this gateway in each record (letters, digits, `.`, `_`, `:`, `-`). Default: the host name and process id.',
            pattern: '^[A-Za-z0-9._:-]{1,64}$',
            [PATTERN_MESSAGE]: 'must be 1 to 64 letters, digits, ".", "_", ":" or "-"',
          }),
        ),
        queueSize: Type.Integer({
          description:
            'Records waiting to be written, at most (about 1 KB each). While the store is down they wait here; past it new records are dropped and counted (ehi_gateway_ledger_records_dropped_total{cause="queue_full"}).',
          default: 20000,
          minimum: 100,
          maximum: 1000000,
        }),
        batchSize: Type.Integer({
          description: 'Records written in one transaction, at most.',
          default: 200,
          minimum: 1,
          maximum: 5000,
        }),
        batchIntervalMs: Millis(
          'A record waits at most this long before its batch is written (a full batch is written at once). Longer: fewer transactions, later visibility to `ledger tail` and to other gateways.',
          200,
          10,
        ),
        retryMaxMs: Millis(
          'A failed write is retried with doubling waits from 100 ms up to this long; records wait in the queue meanwhile.',
          30000,
          100,
        ),
        writeTimeoutMs: Millis(
          "A batch the store has not taken after this long counts as failing (logged, its records counted as deferred); it is sent again only once that attempt has ended, so nothing is written twice. Also the PostgreSQL statement timeout and the SQLite busy timeout (how long a write waits for another gateway process's lock).",
          5000,
          100,
        ),
        lookupTimeoutMs: Type.Integer({
          description:
            'Budget of a duplicate lookup in the store (after the in-process cache). Past it the answer is "unknown" and the message goes on as new; the request never waits longer.',
          default: 10,
          minimum: 1,
          maximum: 1000,
        }),
        cacheEntries: Type.Integer({
          description:
            'Recent message keys held in memory per process to recognise resends without a store read (Thredd resends every 2 minutes, 5 times). 0 = always read the store.',
          default: 20000,
          minimum: 0,
          maximum: 1000000,
        }),
        retentionDays: Type.Integer({
          description:
            'Records older than this are deleted in the background (hourly, in small chunks). 0 = keep everything (the store grows without bound: see docs/ledger.md for the footprint).',
          default: 35,
          minimum: 0,
          maximum: 3650,
        }),
        replayAcknowledged: Type.Boolean({
          description:
            "Answer an exact resend of a message the host already acknowledged (Acknowledgement 1) with the host's own stored answer, without forwarding it. Only acknowledgement answers (reversals, advices, financials, loads...) are stored, never decisions or Cut_Off answers, and never an answer the gateway made. Off: every resend goes to the host, marked x-ehi-resend-of.",
          default: false,
        }),
        failReadiness: Type.Boolean({
          description:
            '/readyz fails while the ledger cannot write (store down, full, read-only, corrupt, newer schema) or drops records. Off (default): the ledger state is shown in /readyz details but never takes the gateway out of service.',
          default: false,
        }),
        reconcileDelayMs: Millis(
          'A Cut_Off is compared with the ledger this long after it is written, so that messages other gateways are still writing are counted.',
          10000,
          0,
        ),
        connections: Type.Integer({
          description:
            'PostgreSQL connections per gateway process, for writes and for lookups each (SQLite uses one writer and one reader thread).',
          default: 2,
          minimum: 1,
          maximum: 32,
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description:
          'The message ledger: one record per EHI message (identifiers, answer, timings; never card data), duplicate recognition, Cut_Off reconciliation. See docs/ledger.md. Off until ledger.url is set.',
      },
    ),

    workers: Type.Integer({
      description:
        'Data-plane processes (Node cluster), each on its own core; 0 means one per core. With several, each worker listens on listen.port itself (SO_REUSEPORT) and the kernel spreads new connections over them. The admin server and reloads are handled by the primary process.',
      default: 0,
      minimum: 0,
      maximum: 256,
    }),

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
            'Start the reference EHI host with `ehi-gateway demo` (demo and tests only; it approves everything). `serve` never starts it (it warns when this is on); `ehi-gateway reference-host` runs one on its own.',
          default: false,
        }),
        host: Type.String({ description: 'Address the reference host binds to.', default: '127.0.0.1' }),
        port: Type.Integer({
          description: 'Port of the reference host (plain HTTP).',
          default: 9000,
          minimum: 0,
          maximum: 65535,
        }),
        behaviour: Type.Enum(
          ['approve', 'decline', 'ack0', 'fail', 'stall', 'reset', 'garbage', 'nonconforming'],
          {
            description:
              "How the reference host answers: `approve` (correct answers for every class), `decline` (decisions get 05), `ack0` (acknowledgement-type messages get Acknowledgement 0), or a failure to demonstrate the gateway's answers: `fail` (HTTP 500), `stall`, `reset`, `garbage`, `nonconforming`.",
            default: 'approve',
          },
        ),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'The reference EHI host the demo starts (a stand-in for your host).',
      },
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
