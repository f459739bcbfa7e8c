/**
 * `ehi-gateway demo` (what `npm start` runs): makes the dev PKI if needed, then serves
 * config/demo.yaml, which runs the embedded reference EHI host behind the gateway, and prints
 * commands to try it.
 */
import { join, relative } from 'node:path'
import { loadRuntime } from '../gateway/compile-runtime.ts'
import { DEV_PKI_FILES, ensureDevPki } from '../pki/dev-pki.ts'
import { startGateway, type RunningGateway } from '../start-gateway.ts'
import { packageRoot } from './package-root.ts'
import { installSignalHandlers } from './serve-command.ts'

export async function demo(): Promise<RunningGateway> {
  const root = packageRoot()
  const certs = join(root, 'certs', 'dev')
  const pki = ensureDevPki(certs)
  const runtime = loadRuntime({ file: join(root, 'config', 'demo.yaml') })
  const gateway = await startGateway({ runtime })
  installSignalHandlers(gateway)
  const rel = (file: string) => relative(process.cwd(), join(certs, file)) || '.'
  const fixture = relative(process.cwd(), join(root, 'test', 'fixtures', 'ehi', 'auth-0100.xml'))
  const url = `https://127.0.0.1:${gateway.port}${runtime.config.routes.paths[0]}`
  process.stdout.write(`
ehi-gateway demo is running ${pki.generated ? `(dev PKI generated: ${pki.reason})` : '(dev PKI reused)'}
  EHI endpoint    ${url}
  reference host  ${runtime.config.upstream.url}

Without a client certificate (expect 400 "No required SSL certificate was sent"):
  curl -sS --cacert ${rel(DEV_PKI_FILES.serverRootCa)} -H 'content-type: text/xml' --data-binary @${fixture} ${url}

With Thredd's (dev) transport certificate (expect 200 and the reference host's approval):
  curl -sS --cacert ${rel(DEV_PKI_FILES.serverRootCa)} --cert ${rel(DEV_PKI_FILES.threddClientCert)} --key ${rel(DEV_PKI_FILES.threddClientKey)} \\
    -H 'content-type: text/xml' --data-binary @${fixture} ${url}

The TLS view Thredd's go-live check asks for:
  openssl s_client -connect 127.0.0.1:${gateway.port} -CAfile ${rel(DEV_PKI_FILES.serverRootCa)} </dev/null

Ctrl-C stops it.
`)
  return gateway
}
