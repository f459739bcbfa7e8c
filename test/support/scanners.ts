/**
 * Debian's TLS scanners, run against a gateway by the tests: testssl.sh 3.0.8 (`testssl`, its
 * JSON findings) and sslscan 2 (`sslscan --show-client-cas`, its XML).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { findTool } from './cli.ts'

export const TESTSSL = findTool('testssl')
export const SSLSCAN = findTool('sslscan')

export function runBounded(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c: Buffer) => (output += c.toString()))
    child.stderr.on('data', (c: Buffer) => (output += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output, ms: Date.now() - started })
    })
  })
}

export interface TestsslFinding {
  id: string
  severity: string
  finding: string
}

export function readTestsslJson(file: string): TestsslFinding[] {
  return JSON.parse(readFileSync(file, 'utf8')) as TestsslFinding[]
}

export const SEVERITY_RANK: Record<string, number> = {
  OK: 0,
  INFO: 0,
  LOW: 1,
  MEDIUM: 2,
  HIGH: 3,
  CRITICAL: 4,
}

export interface SslscanResult {
  protocols: Record<string, boolean>
  ciphers: { version: string; name: string }[]
  clientCas: string[]
  heartbleedVulnerable: boolean
  renegotiationInsecure: boolean
}

export function parseSslscanXml(xml: string): SslscanResult {
  const protocols: Record<string, boolean> = {}
  for (const m of xml.matchAll(/<protocol type="(\w+)" version="([\d.]+)" enabled="(\d)"/g)) {
    protocols[`${m[1]}${m[2]}`] = m[3] === '1'
  }
  const ciphers = [
    ...xml.matchAll(/<cipher status="(?:accepted|preferred)" sslversion="([^"]+)"[^>]* cipher="([^"]+)"/g),
  ].map((m) => ({ version: m[1]!, name: m[2]! }))
  const clientCas = [...xml.matchAll(/<ca>\s*([\s\S]*?)\s*<\/ca>/g)].map((m) => m[1]!.trim())
  return {
    protocols,
    ciphers,
    clientCas,
    heartbleedVulnerable: /<heartbleed [^>]*vulnerable="1"/.test(xml),
    renegotiationInsecure: /<renegotiation supported="1" secure="0"/.test(xml),
  }
}
