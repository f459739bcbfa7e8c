/**
 * nginx as the bench configures it: an mTLS terminator equivalent to ehi-gateway (one worker,
 * client certificate required and verified against the Thredd CA bundle with the CRLs, the
 * gateway's TLS 1.2/1.3 suites and groups, session tickets, a keep-alive upstream pool to the
 * host's plain-HTTP listener, the client identity in headers, an access log line per request).
 * Run in the foreground from a folder of its own (`-p DIR -c FILE`, `daemon off`).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_TLS12_CIPHERS, DEFAULT_TLS13_CIPHERSUITES } from '../../src/config/config-schema.ts'
import type { BenchPki } from './pki.ts'
import { runToEnd } from './processes.ts'

export interface NginxConfInput {
  dir: string
  port: number
  upstreamPort: number
  pki: Pick<BenchPki, 'serverChain' | 'serverKey' | 'threddCaBundle' | 'crlBundle'>
  /** Idle keep-alive connections to the host (the gateway's `upstream.connections`). */
  upstreamKeepalive: number
  /** `worker_processes`: 1 (like for like with one gateway worker) or `auto` (one per CPU). */
  workers?: 1 | 'auto'
}

/** The nginx.conf text. Pure. */
export function renderNginxConf(input: NginxConfInput): string {
  const d = input.dir
  return `# Written by the ehi-gateway bench (bench/lib/nginx.ts) for one run.
daemon off;
master_process on;
worker_processes ${input.workers ?? 1};
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;

events {
  worker_connections 8192;
}

http {
  # conn and reused: the JVM client scenario counts resumed sessions from them.
  log_format bench '$remote_addr [$time_local] "$request" $status $body_bytes_sent conn=$connection reused=$ssl_session_reused';
  access_log ${d}/access.log bench;
  client_body_temp_path ${d}/tmp/client_body;
  proxy_temp_path ${d}/tmp/proxy;
  fastcgi_temp_path ${d}/tmp/fastcgi;
  uwsgi_temp_path ${d}/tmp/uwsgi;
  scgi_temp_path ${d}/tmp/scgi;
  client_max_body_size 256k;
  keepalive_timeout 5s;

  upstream ehi_host {
    server 127.0.0.1:${input.upstreamPort};
    keepalive ${input.upstreamKeepalive};
  }

  server {
    listen 127.0.0.1:${input.port} ssl;
    server_name localhost;

    ssl_certificate ${input.pki.serverChain};
    ssl_certificate_key ${input.pki.serverKey};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ${DEFAULT_TLS12_CIPHERS};
    ssl_conf_command Ciphersuites ${DEFAULT_TLS13_CIPHERSUITES};
    ssl_prefer_server_ciphers on;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    ssl_session_tickets on;
    ssl_session_timeout 300s;

    ssl_verify_client on;
    ssl_client_certificate ${input.pki.threddCaBundle};
    ssl_verify_depth 2;
    ssl_crl ${input.pki.crlBundle};

    # The security headers ehi-gateway sets on every answer.
    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
    add_header X-Content-Type-Options nosniff always;
    add_header X-Frame-Options DENY always;
    add_header Referrer-Policy no-referrer always;
    add_header Content-Security-Policy "default-src 'none'" always;

    location / {
      proxy_pass http://ehi_host;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Client-Verify $ssl_client_verify;
      proxy_set_header X-Client-S-DN $ssl_client_s_dn;
      proxy_set_header X-Client-Serial $ssl_client_serial;
      proxy_set_header X-Client-Fingerprint $ssl_client_fingerprint;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
}
`
}

/** Writes the config and its folders; returns the config file. */
export function writeNginxConf(input: NginxConfInput): string {
  for (const sub of ['tmp', 'tmp/client_body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi'])
    mkdirSync(join(input.dir, sub), { recursive: true })
  const file = join(input.dir, 'nginx.conf')
  writeFileSync(file, renderNginxConf(input))
  return file
}

export function findNginx(): string | null {
  for (const candidate of [
    '/usr/sbin/nginx',
    '/usr/bin/nginx',
    '/usr/local/sbin/nginx',
    '/usr/local/bin/nginx',
  ])
    if (existsSync(candidate)) return candidate
  return null
}

/** nginx, installed from Debian's packages when missing (when `install` is set and we are root). */
export async function ensureNginx(install: boolean): Promise<{ bin: string | null; note?: string }> {
  const found = findNginx()
  if (found) return { bin: found }
  if (!install) return { bin: null, note: 'nginx is not installed (bench:smoke does not install it)' }
  if (process.getuid?.() !== 0) return { bin: null, note: 'nginx is not installed and the bench is not root' }
  console.log('bench: nginx missing, installing it with apt-get (Debian package nginx)')
  const env = 'DEBIAN_FRONTEND=noninteractive'
  const update = await runToEnd('sh', ['-c', `${env} apt-get update -qq`], 180_000)
  const result = await runToEnd(
    'sh',
    ['-c', `${env} apt-get install -y -qq --no-install-recommends nginx`],
    240_000,
  )
  const bin = findNginx()
  if (bin) return { bin }
  return {
    bin: null,
    note: `nginx could not be installed (apt-get update: ${update.code}, install: ${result.code}: ${result.stderr.trim().split('\n').pop() ?? ''})`,
  }
}

/** `nginx/1.22.1 (OpenSSL 3.0.19; built with 3.0.22)`, from `nginx -V`. */
export async function nginxVersion(bin: string): Promise<string> {
  const { stderr } = await runToEnd(bin, ['-V'], 10_000)
  return describeNginxVersion(stderr)
}

/** Pure: the version line of `nginx -V` output, with the OpenSSL it runs with. */
export function describeNginxVersion(output: string): string {
  const version = /nginx version: (\S+)/.exec(output)?.[1] ?? 'nginx (unknown version)'
  const built = /built with OpenSSL (\S+)/.exec(output)?.[1]
  const running = /running with OpenSSL (\S+)/.exec(output)?.[1]
  if (!built) return version
  return running && running !== built
    ? `${version} (OpenSSL ${running}; built with ${built})`
    : `${version} (OpenSSL ${built})`
}
