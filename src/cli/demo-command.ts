/**
 * `ehi-gateway demo` (what `npm start` runs): makes the dev PKI if needed, starts what stands in
 * for Thredd's world and the programme manager's host (a CRL distribution point serving the dev
 * CRLs, and the reference EHI host of config/demo.yaml's referenceHost), serves
 * config/demo.yaml in front of them, and prints commands to try it.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { loadRuntimeFetchingCrls } from '../control/crl-fetching.ts'
import { devCrlFiles, startCrlServer, type CrlServer } from '../tools/pki/crl-server.ts'
import { DEV_PKI_FILES, ensureDevPki } from '../tools/pki/dev-pki.ts'
import { buildMessage } from '../tools/messages/synthetic-messages.ts'
import { startReferenceHost, type ReferenceHost } from '../tools/reference-host/reference-host.ts'
import type { Runtime } from '../runtime/compile-runtime.ts'
import type { Listener } from './address-in-use.ts'
import type { EhiMode } from '../plane/ehi/classify-ehi-message.ts'
import { startGateway, type RunningGateway } from '../server/start-gateway.ts'
import { packageRoot } from '../package-info.ts'
import { addressInUse, gatewayListeners, installSignalHandlers } from './serve-command.ts'
import { defineCommand } from './command-line.ts'

/** Where config/demo.yaml fetches the dev CRLs from (tls.crl.fetch.urls). */
const DEMO_CRL_PORT = 9080

export const DEMO = defineCommand({
  name: 'demo',
  synopsis: '',
  summary: 'Run the demo: dev PKI, the gateway and a reference host behind it (npm start).',
  description: `Run the demo (what \`npm start\` runs): makes the dev PKI in certs/dev if needed, serves
its CRLs on http://127.0.0.1:${DEMO_CRL_PORT}/dev/, starts the reference EHI host of
config/demo.yaml on 127.0.0.1:9000 and the gateway on https://127.0.0.1:8443/ehi in front of it,
then prints commands to try it. Ctrl-C drains and stops it.`,
  options: {},
  notes: `The ports are fixed by config/demo.yaml (EHI_GATEWAY_* variables override its settings, as
for serve), except the CRL server's, which its tls.crl.fetch.urls name.`,
})

/** Where the demo's fixed ports come from, for "address in use" (another demo, most often). */
const IN_DEMO_YAML = ' in config/demo.yaml'
const ANOTHER_DEMO = '(another demo?) '

export async function demo(): Promise<RunningGateway> {
  const root = packageRoot()
  const certs = join(root, 'certs', 'dev')
  const pki = ensureDevPki(certs)
  const source = { file: join(root, 'config', 'demo.yaml') }
  const listeners: Listener[] = [
    {
      host: '127.0.0.1',
      port: DEMO_CRL_PORT,
      setting: `the demo's CRL server, which tls.crl.fetch.urls${IN_DEMO_YAML} name`,
      change: '(another demo?)',
    },
  ]
  let crlServer: CrlServer | undefined
  let host: ReferenceHost | undefined
  let started: { gateway: RunningGateway; runtime: Runtime }
  try {
    // Thredd's CRL distribution points, played by a local server the gateway fetches from.
    crlServer = await startCrlServer({ files: devCrlFiles(certs), port: DEMO_CRL_PORT })
    const { runtime, crls } = await loadRuntimeFetchingCrls(source)
    const { referenceHost: hostSettings, ehi } = runtime.config
    listeners.push({
      host: hostSettings.host,
      port: hostSettings.port,
      setting: `referenceHost.port${IN_DEMO_YAML}`,
      change: `${ANOTHER_DEMO}or set another referenceHost.port and upstream.url to match (EHI_GATEWAY_REFERENCE_HOST__PORT, EHI_GATEWAY_UPSTREAM__URL)`,
    })
    listeners.push(...gatewayListeners(runtime.config, IN_DEMO_YAML, ANOTHER_DEMO))
    // The programme manager's host, started first so the gateway's upstream is there.
    host = hostSettings.enabled
      ? await startReferenceHost({
          host: hostSettings.host,
          port: hostSettings.port,
          mode: ehi.defaultMode as EhiMode,
          behaviour: hostSettings.behaviour,
        })
      : undefined
    started = { gateway: await startGateway({ runtime, source, processMetrics: true, crls }), runtime }
  } catch (error) {
    await host?.close()
    await crlServer?.close()
    throw addressInUse('demo', error, listeners)
  }
  const { gateway, runtime } = started
  installSignalHandlers(gateway, async () => {
    await host?.close()
    await crlServer?.close()
  })
  const rel = (file: string) => relative(process.cwd(), join(certs, file)) || '.'
  // A Thredd-shaped authorisation to send, made here so the demo needs no test files.
  const samples = join(root, '.data', 'demo')
  mkdirSync(samples, { recursive: true })
  writeFileSync(join(samples, 'auth.xml'), buildMessage('auth', 'xml'))
  const fixture = relative(process.cwd(), join(samples, 'auth.xml'))
  const url = `https://127.0.0.1:${gateway.port}${runtime.config.routes.paths[0]}`
  process.stdout.write(`
ehi-gateway demo is running ${pki.generated ? `(dev PKI generated: ${pki.reason})` : '(dev PKI reused)'}
  EHI endpoint    ${url}
  reference host  ${runtime.config.upstream.url}
  admin           http://${runtime.config.admin.host}:${gateway.adminPort}/readyz and /metrics

Without a client certificate (expect 400 "No required SSL certificate was sent"):
  curl -sS --cacert ${rel(DEV_PKI_FILES.serverRootCa)} -H 'content-type: application/xml' --data-binary @${fixture} ${url}

With Thredd's (dev) transport certificate (expect 200 and the reference host's approval):
  curl -sS --cacert ${rel(DEV_PKI_FILES.serverRootCa)} --cert ${rel(DEV_PKI_FILES.threddClientCert)} --key ${rel(DEV_PKI_FILES.threddClientKey)} \\
    -H 'content-type: application/xml' --data-binary @${fixture} ${url}

The TLS view Thredd's go-live check asks for:
  openssl s_client -connect 127.0.0.1:${gateway.port} -CAfile ${rel(DEV_PKI_FILES.serverRootCa)} </dev/null

Thredd-like traffic, a new TLS connection per message:
  ${selfCommand()} simulate --target ${url} --cert ${rel(DEV_PKI_FILES.threddClientCert)} --key ${rel(DEV_PKI_FILES.threddClientKey)} --ca ${rel(DEV_PKI_FILES.serverRootCa)} --scenario mixed --rate 50 --duration 10

The dev CRLs are served on http://127.0.0.1:${DEMO_CRL_PORT}/dev/ and fetched by the gateway
(tls.crl.fetch); see ehi_gateway_crl_fetches_total on /metrics and docs/crl.md.

Edit config/demo.yaml or the files in certs/dev/ and the gateway reloads (or send SIGHUP).
Ctrl-C drains and stops it.
`)
  return gateway
}

/** How to run this program again, as the user started it: from a checkout (`node src/cli/main.ts`)
 * or as the installed command (the image, an npm install). */
function selfCommand(): string {
  const entry = process.argv[1] ?? ''
  return entry.endsWith('.ts') ? `node ${relative(process.cwd(), entry) || entry}` : 'ehi-gateway'
}
