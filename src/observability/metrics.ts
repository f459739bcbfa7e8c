/**
 * The metric catalog. Names and label sets are public API (dashboards and alerts use them):
 * add metrics, never rename them. docs/metrics.md is generated from this file and a test keeps
 * it in sync. Labels are bounded sets (reason codes, classes, outcomes, certificate subjects of
 * the configured material), never client addresses: those go to the logs.
 *
 * Two sets: the data plane (every process that serves EHI traffic) and the control plane (the
 * process that runs the admin server, reloads and supervises workers). With several workers the
 * admin server sums the data-plane counters of all workers; gauges say how they combine.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { newestCrl } from '../plane/tls/crl.ts'
import type { TlsMaterial } from '../runtime/tls-material.ts'

export const METRIC_PREFIX = 'ehi_gateway_'

/** Buckets from 1 ms to 250 ms and beyond, resolving Thredd's 200 ms budget. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.5, 1]
const HANDSHAKE_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

export type Metrics = ReturnType<typeof createMetrics>
export type ControlMetrics = ReturnType<typeof createControlMetrics>
export type LedgerMetrics = ReturnType<typeof createLedgerMetrics>

/** Data plane: connections, handshakes, requests, the internal host. */
export function createMetrics(registry: Registry) {
  const registers = [registry]
  return {
    connectionsAccepted: new Counter({
      name: `${METRIC_PREFIX}connections_accepted_total`,
      help: 'TCP connections accepted by the EHI listener (they passed the source-address allowlist and the connection limits).',
      registers,
    }),
    connectionsRefused: new Counter({
      name: `${METRIC_PREFIX}connections_refused_total`,
      help: 'Connections refused or cut off, by reason code: allowlist, connection limits, TLS handshake, client certificate, slow clients.',
      labelNames: ['reason'] as const,
      registers,
    }),
    connectionsOpen: new Gauge({
      name: `${METRIC_PREFIX}connections_open`,
      help: 'EHI connections open now.',
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
    clientCertificateExpiry: new Gauge({
      name: `${METRIC_PREFIX}client_certificate_expiry_timestamp_seconds`,
      help: 'notAfter (Unix time) of the last client certificate admitted: when Thredd must have rotated its transport certificate.',
      aggregator: 'max',
      registers,
    }),
    requests: new Counter({
      name: `${METRIC_PREFIX}requests_total`,
      help: 'HTTP requests on the EHI listener, by message class and outcome (host_answer, synthesized, refused, rejected, host_failure, replayed).',
      labelNames: ['class', 'outcome'] as const,
      registers,
    }),
    requestErrors: new Counter({
      name: `${METRIC_PREFIX}request_errors_total`,
      help: 'Requests the gateway answered itself with an error, by reason code.',
      labelNames: ['reason'] as const,
      registers,
    }),
    exchangeDuration: new Histogram({
      name: `${METRIC_PREFIX}exchange_duration_seconds`,
      help: "What Thredd's budget measures, by message class: from TCP accept to the answer sent for the first message on a connection (Thredd's timer includes its TCP and TLS handshake), from request arrival for later messages on a kept-alive connection.",
      labelNames: ['class'] as const,
      buckets: LATENCY_BUCKETS,
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
      help: 'Calls to the internal host that gave no answer, by reason (host_unreachable, host_timeout, host_bad_response, host_error).',
      labelNames: ['reason'] as const,
      registers,
    }),
    synthesizedAnswers: new Counter({
      name: `${METRIC_PREFIX}synthesized_answers_total`,
      help: 'EHI answers the gateway made itself because the host gave no usable answer, by class and reason (never an approval, never Acknowledgement 1 for acknowledgement-type messages).',
      labelNames: ['class', 'reason'] as const,
      registers,
    }),
    repeats: new Counter({
      name: `${METRIC_PREFIX}repeats_total`,
      help: 'EHI messages Thredd marked as resends (SendingAttemptCount > 0), by class.',
      labelNames: ['class'] as const,
      registers,
    }),
    resends: new Counter({
      name: `${METRIC_PREFIX}resends_total`,
      help: 'EHI messages Thredd marked as resends, by class and attempt (SendingAttemptCount 1 to 5, and 6+): Thredd resends every 2 minutes, 5 times by default, a message it got no Acknowledgement 1 for.',
      labelNames: ['class', 'attempt'] as const,
      registers,
    }),
    threddDecided: new Counter({
      name: `${METRIC_PREFIX}thredd_decided_total`,
      help: "EHI messages in which Thredd reports a decision it took itself (Authorised_by_GPS=Y) for a product whose host decides (modes 1, 2, 4): the follow-up after the host missed a decision (no answer in time, or one Thredd could not read), a stand-in (STIP) decision, or a decline by Thredd's own checks. Token activations and mode 2's first attempt are not counted. By class (an authorisation's follow-up is an advice) and Txn_Stat_Code (A approved, I declined, other).",
      labelNames: ['class', 'txn_stat_code'] as const,
      registers,
    }),
    nonConformingAnswers: new Counter({
      name: `${METRIC_PREFIX}host_answers_nonconforming_total`,
      help: 'Host answers without the shape Thredd expects (Thredd treats them as no answer), by class and problem.',
      labelNames: ['class', 'problem'] as const,
      registers,
    }),
    hostAnswerWarnings: new Counter({
      name: `${METRIC_PREFIX}host_answer_warnings_total`,
      help: 'Host answers Thredd accepts but that differ from its schema (missing_numeric: an XML answer without the minOccurs=1 numeric elements), by class and problem. Never replaced, never counted as non-conforming.',
      labelNames: ['class', 'problem'] as const,
      registers,
    }),
    inFlight: new Gauge({
      name: `${METRIC_PREFIX}requests_in_flight`,
      help: 'Requests waiting for the internal host now.',
      registers,
    }),
    ocspQueries: new Counter({
      name: `${METRIC_PREFIX}ocsp_queries_total`,
      help: 'OCSP queries for client certificates, by result: good, revoked, unknown, or the failure (no_responder, unreachable, timeout, http_status, too_large, malformed, unsuccessful, wrong_signer, bad_signature, nonce_mismatch, cert_id_mismatch, not_yet_valid, stale, older).',
      labelNames: ['result'] as const,
      registers,
    }),
    ocspQueryDuration: new Histogram({
      name: `${METRIC_PREFIX}ocsp_query_duration_seconds`,
      help: 'Time one OCSP query took, from sending the request to a verified answer or a failure.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    ocspLookups: new Counter({
      name: `${METRIC_PREFIX}ocsp_lookups_total`,
      help: 'OCSP status look-ups on the connection path, by result: hit (a cached good or revoked answer, no waiting) or miss (no current answer: pending first sight, failure, expiry, unknown).',
      labelNames: ['result'] as const,
      registers,
    }),
    ocspWaits: new Counter({
      name: `${METRIC_PREFIX}ocsp_waits_total`,
      help: 'Bounded waits for a first OCSP answer (first sight of a certificate), by result: answered or timeout.',
      labelNames: ['result'] as const,
      registers,
    }),
    ocspSoftAdmissions: new Counter({
      name: `${METRIC_PREFIX}ocsp_soft_admissions_total`,
      help: 'Clients admitted without a current good OCSP answer because tls.ocsp.policy is soft, by state (pending, unavailable).',
      labelNames: ['state'] as const,
      registers,
    }),
    ocspCachedAnswers: new Gauge({
      name: `${METRIC_PREFIX}ocsp_cached_answers`,
      help: 'Verified OCSP answers held in the cache now, by status (good, revoked, unknown).',
      labelNames: ['status'] as const,
      registers,
    }),
    ocspNextUpdate: new Gauge({
      name: `${METRIC_PREFIX}ocsp_next_update_timestamp_seconds`,
      help: 'Earliest expiry (nextUpdate, or thisUpdate + maxAgeSeconds; Unix time) of the cached good OCSP answers for the client certificates of each issuing CA. Past it those clients have no good answer; close to it means refreshes are failing.',
      labelNames: ['issuer'] as const,
      aggregator: 'min',
      registers,
    }),
    candidateConnections: new Counter({
      name: `${METRIC_PREFIX}candidate_trust_connections_total`,
      help: 'Client certificates (one per TLS connection) also evaluated against the candidate trust (candidateTrust), since it was loaded (a reload that changes or removes it starts again from 0); 0 without one. Divide the differences by it for a rate.',
      registers,
    }),
    candidateDifferences: new Counter({
      name: `${METRIC_PREFIX}candidate_trust_differences_total`,
      help: 'Connections on which the candidate trust disagrees with the live one, by kind (would_refuse: admitted now, the candidate would refuse it, labelled with the candidate reason; would_allow: refused now, the candidate would admit it, labelled with the live reason). Since the candidate was loaded, as candidate_trust_connections_total. Reported only: the live trust decides.',
      labelNames: ['kind', 'reason'] as const,
      registers,
    }),
    candidateErrors: new Counter({
      name: `${METRIC_PREFIX}candidate_trust_errors_total`,
      help: 'Candidate trust evaluations that failed (logged); the live verdict stands.',
      registers,
    }),
    ...createLedgerMetrics(registry),
  }
}

/** Batch write times of the ledger: a transaction of up to ledger.batchSize records. */
const LEDGER_WRITE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5]

/**
 * The message ledger (src/ledger/), part of the data plane: every process that serves EHI traffic
 * writes its own records. All zero while ledger.url is unset.
 */
export function createLedgerMetrics(registry: Registry) {
  const registers = [registry]
  const storeUp = new Gauge({
    name: `${METRIC_PREFIX}ledger_store_up`,
    help: '0 while the ledger store fails to take writes (down, full, read-only, corrupt, newer schema), else 1, also when the ledger is off. The lowest over workers.',
    aggregator: 'min',
    registers,
  })
  // Off is not down: the alert on 0 must not fire for a gateway without a ledger.
  storeUp.set(1)
  return {
    ledgerRecordsWritten: new Counter({
      name: `${METRIC_PREFIX}ledger_records_written_total`,
      help: 'Ledger records written to the store.',
      registers,
    }),
    ledgerRecordsDeferred: new Counter({
      name: `${METRIC_PREFIX}ledger_records_deferred_total`,
      help: 'Ledger records whose first write failed (store down, full, read-only, slow): they wait in the queue and are retried. Each record counts once.',
      registers,
    }),
    ledgerRecordsDropped: new Counter({
      name: `${METRIC_PREFIX}ledger_records_dropped_total`,
      help: 'Ledger records lost, by cause: queue_full (the store was failing long enough to fill ledger.queueSize), shutdown (still queued when the drain deadline passed).',
      labelNames: ['cause'] as const,
      registers,
    }),
    ledgerWriteErrors: new Counter({
      name: `${METRIC_PREFIX}ledger_write_errors_total`,
      help: 'Failed ledger writes (batches and store opens), by error: unavailable, timeout, full, readonly, corrupt, schema, other.',
      labelNames: ['error'] as const,
      registers,
    }),
    ledgerWriteDuration: new Histogram({
      name: `${METRIC_PREFIX}ledger_write_duration_seconds`,
      help: 'Time to write one batch of ledger records (one transaction), successful writes only.',
      buckets: LEDGER_WRITE_BUCKETS,
      registers,
    }),
    ledgerQueueDepth: new Gauge({
      name: `${METRIC_PREFIX}ledger_queue_depth`,
      help: 'Ledger records waiting to be written now (summed over workers).',
      aggregator: 'sum',
      registers,
    }),
    ledgerStoreUp: storeUp,
    ledgerLookups: new Counter({
      name: `${METRIC_PREFIX}ledger_lookups_total`,
      help: 'Duplicate lookups, by what was found: seen (an earlier message with the same TXn_ID, MTID, Authorised_by_GPS and Txn_Stat_Code), new, unknown (no answer within ledger.lookupTimeoutMs, store down, or no usable key).',
      labelNames: ['found'] as const,
      registers,
    }),
    ledgerReplays: new Counter({
      name: `${METRIC_PREFIX}ledger_replays_total`,
      help: "Resends answered from the ledger with the host's own stored acknowledgement (ledger.replayAcknowledged).",
      registers,
    }),
    ledgerReconciliations: new Counter({
      name: `${METRIC_PREFIX}ledger_cutoff_reconciliations_total`,
      help: "Cut_Off reconciliations, by verdict: match, mismatch (Thredd's acknowledged / not-acknowledged counts differ from the ledger's), incomplete (counters missing or the ledger could not be read).",
      labelNames: ['verdict'] as const,
      registers,
    }),
    ledgerPruned: new Counter({
      name: `${METRIC_PREFIX}ledger_pruned_records_total`,
      help: 'Ledger records deleted by retention (ledger.retentionDays).',
      registers,
    }),
  }
}

/** Control plane: the loaded material, reloads, readiness and workers. */
export function createControlMetrics(registry: Registry) {
  const registers = [registry]
  let workersUp = () => 1
  return {
    certificateExpiry: new Gauge({
      name: `${METRIC_PREFIX}certificate_expiry_timestamp_seconds`,
      help: 'notAfter (Unix time) of each loaded certificate: role server (the gateway certificate, by key type) or client_ca (each CA trusted for client certificates).',
      labelNames: ['role', 'subject'] as const,
      registers,
    }),
    crlNextUpdate: new Gauge({
      name: `${METRIC_PREFIX}crl_next_update_timestamp_seconds`,
      help: "nextUpdate (Unix time) of the freshest loaded CRL of each client CA; past it that CA's clients are refused (crl_expired).",
      labelNames: ['issuer'] as const,
      registers,
    }),
    crlThisUpdate: new Gauge({
      name: `${METRIC_PREFIX}crl_this_update_timestamp_seconds`,
      help: 'thisUpdate (Unix time) of the CRL in force for each client CA (the newest loaded, by CRL number): time() minus it is the age of the revocation data.',
      labelNames: ['issuer'] as const,
      registers,
    }),
    crlFetches: new Counter({
      name: `${METRIC_PREFIX}crl_fetches_total`,
      help: 'CRL fetches over HTTP (tls.crl.fetch), by URL, issuer (the client CA whose CRL the URL serves; empty until known), result (success, failure) and kind: updated or unchanged on success; timeout, network, http_status, too_large, unparsable, unknown_issuer, bad_signature, unsupported, expired, not_yet_valid or older on failure (the last good CRL stays).',
      labelNames: ['url', 'issuer', 'result', 'kind'] as const,
      registers,
    }),
    crlLastFetchSuccess: new Gauge({
      name: `${METRIC_PREFIX}crl_fetch_last_success_timestamp_seconds`,
      help: 'Unix time of the last fetch of each CRL URL that brought a valid CRL (updated or unchanged), by URL and issuer.',
      labelNames: ['url', 'issuer'] as const,
      registers,
    }),
    reloads: new Counter({
      name: `${METRIC_PREFIX}reloads_total`,
      help: 'Reloads of certificates, trust and policy, by result (success, failure). A failure keeps the last good state.',
      labelNames: ['result'] as const,
      registers,
    }),
    lastReloadSuccess: new Gauge({
      name: `${METRIC_PREFIX}reload_last_success_timestamp_seconds`,
      help: 'Unix time the active configuration was loaded (start or last successful reload).',
      registers,
    }),
    trustConfig: new Gauge({
      name: `${METRIC_PREFIX}trust_config_info`,
      help: 'Always 1, labelled with the SHA-256 of the active client trust (CAs and CRLs): it changes exactly when who may connect changes.',
      labelNames: ['hash'] as const,
      registers,
    }),
    candidateTrustConfig: new Gauge({
      name: `${METRIC_PREFIX}candidate_trust_config_info`,
      help: 'Always 1 while a candidate trust (candidateTrust) is loaded, labelled with the SHA-256 of its CAs and CRLs; absent without one.',
      labelNames: ['hash'] as const,
      registers,
    }),
    buildInfo: new Gauge({
      name: `${METRIC_PREFIX}build_info`,
      help: 'Always 1, labelled with the ehi-gateway version and the Node.js version.',
      labelNames: ['version', 'node'] as const,
      registers,
    }),
    draining: new Gauge({
      name: `${METRIC_PREFIX}draining`,
      help: '1 while draining for shutdown (not ready on purpose), else 0.',
      registers,
    }),
    ready: new Gauge({
      name: `${METRIC_PREFIX}ready`,
      help: '1 when /readyz answers ready, else 0; evaluated at each /readyz and each scrape.',
      registers,
    }),
    hostReachable: new Gauge({
      name: `${METRIC_PREFIX}host_reachable`,
      help: '1 when the last probe could open a TCP connection to the internal host, else 0.',
      registers,
    }),
    workers: new Gauge({
      name: `${METRIC_PREFIX}workers`,
      help: 'Data-plane worker processes running now (1 without a cluster: the process itself), read at each scrape.',
      registers,
      collect() {
        this.set(workersUp())
      },
    }),
    /** Where the workers gauge reads the count from (the cluster primary's live count). */
    countWorkersWith(count: () => number) {
      workersUp = count
    },
    workersConfigured: new Gauge({
      name: `${METRIC_PREFIX}workers_configured`,
      help: 'Data-plane worker processes the gateway is configured to run.',
      registers,
    }),
    workerRestarts: new Counter({
      name: `${METRIC_PREFIX}worker_restarts_total`,
      help: 'Workers that exited unexpectedly and were replaced.',
      registers,
    }),
  }
}

/** Points the material gauges at the active TLS material (at start and after each reload). */
export function recordMaterial(control: ControlMetrics, material: TlsMaterial): void {
  control.certificateExpiry.reset()
  for (const chain of material.serverChains) {
    control.certificateExpiry.set(
      { role: 'server', subject: `${oneLine(chain.leaf.subject)} (${chain.keyType})` },
      chain.leaf.validToDate.getTime() / 1000,
    )
  }
  control.crlNextUpdate.reset()
  control.crlThisUpdate.reset()
  for (const ca of material.trust.cas) {
    control.certificateExpiry.set(
      { role: 'client_ca', subject: oneLine(ca.cert.subject) },
      ca.cert.validToDate.getTime() / 1000,
    )
    const next = Math.max(...ca.crls.map((crl) => crl.nextUpdate?.getTime() ?? Number.POSITIVE_INFINITY))
    if (ca.crls.length > 0 && Number.isFinite(next))
      control.crlNextUpdate.set({ issuer: oneLine(ca.cert.subject) }, next / 1000)
    const inForce = newestCrl(ca.crls)
    if (inForce)
      control.crlThisUpdate.set({ issuer: oneLine(ca.cert.subject) }, inForce.thisUpdate.getTime() / 1000)
  }
  control.trustConfig.reset()
  control.trustConfig.set({ hash: material.trustHash }, 1)
}

function oneLine(subject: string): string {
  return subject.split('\n').join(', ')
}
