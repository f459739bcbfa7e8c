/**
 * Debian's nginx as a third-party mTLS terminator for the checker's tests: a generated config in
 * a temporary folder (`-p DIR -c FILE`, `daemon off;`, pid and logs in the folder), one loopback
 * port, stopped and removed by close(). Tests skip themselves when nginx is not installed
 * (.ci/run installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findTool } from './cli.ts'
import { freePort, isListening } from './ports.ts'
import { sleep } from './wait.ts'

/** The nginx binary, or undefined. Debian puts it in /usr/sbin, which a user's PATH may lack. */
export const NGINX = findTool('nginx')

export interface NginxOptions {
  /** PEM: the server certificate chain nginx sends (leaf first). */
  certChain: string
  key: string
  /** PEM files of the CAs trusted (and advertised) for client certificates. */
  clientCa: string[]
  /** The EHI host nginx proxies to (http URL). */
  upstream: string
  /** on | optional | optional_no_ca */
  verifyClient?: string
  protocols?: string
  ciphers?: string
  hsts?: boolean
}

export interface Nginx {
  port: number
  url: string
  dir: string
  close(): Promise<void>
}

export async function startNginx(options: NginxOptions): Promise<Nginx> {
  // The free port is picked before nginx binds it; another process may take it in between.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNginxOnce(options)
    } catch (error) {
      if (attempt >= 3 || !/Address already in use/.test((error as Error).message)) throw error
    }
  }
}

async function startNginxOnce(options: NginxOptions): Promise<Nginx> {
  if (!NGINX) throw new Error('nginx is not installed')
  const dir = mkdtempSync(join(tmpdir(), 'ehi-gateway-nginx-'))
  const clientCa = join(dir, 'client-ca.pem')
  writeFileSync(clientCa, options.clientCa.map((f) => readFileSync(f, 'utf8')).join(''))
  const port = await freePort()
  const config = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    server_name localhost;
    ssl_certificate ${options.certChain};
    ssl_certificate_key ${options.key};
    ssl_protocols ${options.protocols ?? 'TLSv1.2 TLSv1.3'};
    ssl_ciphers ${options.ciphers ?? 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305'};
    ssl_prefer_server_ciphers on;
    ssl_client_certificate ${clientCa};
    ssl_verify_client ${options.verifyClient ?? 'on'};
    ssl_verify_depth 2;
    ${options.hsts === false ? '' : 'add_header Strict-Transport-Security "max-age=31536000" always;'}
    location /ehi {
      proxy_pass ${options.upstream};
      proxy_set_header X-Client-Verify $ssl_client_verify;
    }
  }
}
`
  const file = join(dir, 'nginx.conf')
  writeFileSync(file, config)
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let exitedEarly = false
  void exited.then(() => (exitedEarly = true))
  const stop = async () => {
    if (!exitedEarly) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 10_000
  while (!(await isListening(port))) {
    if (exitedEarly || Date.now() > deadline) {
      const log = (() => {
        try {
          return readFileSync(join(dir, 'error.log'), 'utf8')
        } catch {
          return ''
        }
      })()
      await stop()
      throw new Error(`nginx did not start on port ${port}:\n${output}\n${log}`)
    }
    await sleep(50)
  }
  return { port, url: `https://127.0.0.1:${port}/ehi`, dir, close: stop }
}
