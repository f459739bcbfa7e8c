/**
 * Reading docker/Dockerfile: its instructions (for the deployment tests) and how its final stage
 * starts the gateway (for the bench, which runs the gateway the way the image does).
 */

export interface Instruction {
  keyword: string
  args: string
  stage: number
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  let stage = -1
  let current = ''
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue
    current += line.replace(/\\$/, ' ')
    if (line.endsWith('\\')) continue
    const text = current.trim()
    current = ''
    if (!text) continue
    const [keyword, ...rest] = text.split(/\s+/)
    const upper = keyword!.toUpperCase()
    if (upper === 'FROM') stage++
    out.push({ keyword: upper, args: rest.join(' '), stage })
  }
  return out
}

export interface ImageLaunch {
  /** Node's own options of the ENTRYPOINT, between `node` and the script. */
  nodeOptions: string[]
  /** The script the ENTRYPOINT runs. */
  script: string
  /** Every `ENV` of the final stage, in order (`KEY=value` pairs; quotes removed). */
  env: Record<string, string>
}

/** How the final stage starts the gateway: `ENTRYPOINT ["node", ...options, script]` and its ENVs. */
export function imageLaunch(instructions: readonly Instruction[]): ImageLaunch {
  const finalStage = Math.max(...instructions.map((i) => i.stage))
  const stage = instructions.filter((i) => i.stage === finalStage)
  const entrypoint = stage.findLast((i) => i.keyword === 'ENTRYPOINT')
  if (!entrypoint) throw new Error('the final stage has no ENTRYPOINT')
  const argv = JSON.parse(entrypoint.args) as unknown
  if (!Array.isArray(argv) || argv[0] !== 'node' || !argv.every((a) => typeof a === 'string'))
    throw new Error(`ENTRYPOINT is not ["node", ...]: ${entrypoint.args}`)
  const scriptAt = argv.findIndex((a, i) => i > 0 && !a.startsWith('-'))
  if (scriptAt < 0) throw new Error(`ENTRYPOINT names no script: ${entrypoint.args}`)
  const env: Record<string, string> = {}
  for (const instruction of stage.filter((i) => i.keyword === 'ENV'))
    for (const match of instruction.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g))
      env[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, '$2')
  return { nodeOptions: argv.slice(1, scriptAt), script: argv[scriptAt]!, env }
}
