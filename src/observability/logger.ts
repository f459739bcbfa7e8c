/**
 * pino, JSON lines on stdout. One line per refused connection and one per request; bodies are
 * never logged. Pretty output only when asked for (log.pretty) and when pino-pretty is installed.
 */
import { createRequire } from 'node:module'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { GatewayConfig } from '../config/config-schema.ts'

export type { Logger }

export function createLogger(config: GatewayConfig['log'], destination?: DestinationStream): Logger {
  const options = {
    level: config.level,
    base: { service: 'ehi-gateway', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  }
  if (destination) return pino(options, destination)
  if (config.pretty && hasPinoPretty()) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } })
  }
  return pino(options, pino.destination({ dest: 1, sync: false }))
}

function hasPinoPretty(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}
