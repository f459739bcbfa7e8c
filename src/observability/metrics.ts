/**
 * The metric catalog. Names and label sets are public API (dashboards and alerts use them):
 * add metrics, never rename them. Every metric is registered on the registry passed in, so each
 * gateway instance (and each test) has its own. Labels are bounded sets (reason codes, classes,
 * outcomes), never addresses or certificate names: those go to the logs.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export const METRIC_PREFIX = 'ehi_gateway_'

/** Buckets from 1 ms to 250 ms and beyond, resolving Thredd's 200 ms budget. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.5, 1]
const HANDSHAKE_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

export type Metrics = ReturnType<typeof createMetrics>

export function createMetrics(registry: Registry) {
  const registers = [registry]
  return {
    connectionsAccepted: new Counter({
      name: `${METRIC_PREFIX}connections_accepted_total`,
      help: 'TCP connections accepted by the EHI listener (they passed the source-address allowlist).',
      registers,
    }),
    connectionsRefused: new Counter({
      name: `${METRIC_PREFIX}connections_refused_total`,
      help: 'Connections refused, by reason code (allowlist, TLS handshake or client certificate).',
      labelNames: ['reason'] as const,
      registers,
    }),
    handshakeDuration: new Histogram({
      name: `${METRIC_PREFIX}tls_handshake_duration_seconds`,
      help: 'Time from TCP accept to a completed TLS handshake.',
      buckets: HANDSHAKE_BUCKETS,
      registers,
    }),
    sessionsResumed: new Counter({
      name: `${METRIC_PREFIX}tls_sessions_resumed_total`,
      help: 'TLS handshakes that resumed an earlier session.',
      registers,
    }),
    requests: new Counter({
      name: `${METRIC_PREFIX}requests_total`,
      help: 'HTTP requests on the EHI listener, by message class and outcome (host_answer, refused, rejected, host_failure).',
      labelNames: ['class', 'outcome'] as const,
      registers,
    }),
    requestErrors: new Counter({
      name: `${METRIC_PREFIX}request_errors_total`,
      help: 'Requests the gateway answered itself with an error, by reason code.',
      labelNames: ['reason'] as const,
      registers,
    }),
    requestDuration: new Histogram({
      name: `${METRIC_PREFIX}request_duration_seconds`,
      help: 'Time from request headers received to answer sent, by message class.',
      labelNames: ['class'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    hostDuration: new Histogram({
      name: `${METRIC_PREFIX}host_duration_seconds`,
      help: 'Time the internal host took to answer, by message class.',
      labelNames: ['class'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    hostErrors: new Counter({
      name: `${METRIC_PREFIX}host_errors_total`,
      help: 'Calls to the internal host that gave no answer, by reason (unreachable, timeout, bad response).',
      labelNames: ['reason'] as const,
      registers,
    }),
    inFlight: new Gauge({
      name: `${METRIC_PREFIX}requests_in_flight`,
      help: 'Requests being handled right now.',
      registers,
    }),
  }
}
