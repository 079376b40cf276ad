/**
 * The feature catalog (features/README.md is its table) and the step that turns an entity's merged window — plus
 * what its first-seen history says — into a FeatureVector. Every vector of a kind has the same names in the same
 * order, whatever the window saw; a quantity the window had no data for is 0. Pure.
 */
import type { Exemplar, FeatureVector } from '../../schemas/feature-vector.ts';
import { kindOf, type EntityKind } from '../entity/ids.ts';
import { entropyWithRest } from '../sketch/entropy.ts';
import type { EntityAggregate, RequestStats } from './aggregate.ts';

/** Request features, the wave-1 operation features first in their old order (trained models read them by name). */
export const REQUEST_FEATURES = [
  'request_count', 'error_count', 'error_ratio', 'latency_mean_ms', 'latency_p50_ms', 'latency_p95_ms', 'latency_max_ms',
  'latency_p99_ms', 'server_error_ratio', 'client_error_ratio', 'auth_failure_count', 'auth_failure_ratio',
  'not_found_count', 'not_found_ratio', 'failed_login_count',
  'request_bytes_mean', 'request_bytes_p95', 'request_bytes_max', 'request_bytes_sum',
  'response_bytes_mean', 'response_bytes_p95', 'response_bytes_max', 'response_bytes_sum',
  'distinct_routes', 'distinct_missing_routes', 'distinct_identities', 'distinct_peers', 'route_entropy',
  'method_get_ratio', 'method_post_ratio', 'method_other_ratio',
  'payload_count', 'payload_length_mean', 'payload_length_max', 'payload_alpha_ratio', 'payload_digit_ratio',
  'payload_special_ratio', 'payload_encoded_density', 'payload_entropy_mean', 'payload_entropy_max',
] as const;

const CONNECTION_FEATURES = ['connection_count', 'bytes_out', 'bytes_in'] as const;
const DESTINATION_FEATURES = ['distinct_destinations', 'new_destination_count'] as const;

/** The features of each entity kind, in vector order. */
export const FEATURES_BY_KIND: Readonly<Record<EntityKind, readonly string[]>> = {
  operation: REQUEST_FEATURES,
  service: [...REQUEST_FEATURES, 'log_count', 'log_error_count', ...DESTINATION_FEATURES, 'history_age_s'],
  edge: [...REQUEST_FEATURES, ...CONNECTION_FEATURES, 'new_edge', 'history_age_s'],
  client: [...REQUEST_FEATURES, 'new_route_count', 'history_age_s'],
  host: ['exec_count', 'new_binary_count', 'shell_exec_count', 'cpu_seconds', 'memory_bytes_max', ...CONNECTION_FEATURES, ...DESTINATION_FEATURES, 'history_age_s'],
  pod: ['exec_count', 'new_binary_count', 'shell_exec_count', 'cpu_seconds', 'memory_bytes_max', ...CONNECTION_FEATURES, ...DESTINATION_FEATURES, 'history_age_s'],
  process: ['exec_count', 'new_binary_count', 'shell_exec_count', 'cpu_seconds', 'memory_bytes_max', ...CONNECTION_FEATURES, ...DESTINATION_FEATURES, 'history_age_s'],
};

/** What the first-seen history says about a window (see features/history). */
export interface FirstSeenResult {
  historyAgeS: number;
  /** edge: the edge itself is new; process: the binary is new on this host or pod. */
  entityNew: boolean;
  newRoutes: { count: number; names: string[] };
  newBinaries: { count: number; names: string[] };
  newDestinations: { count: number; names: string[] };
}

export const EXAMPLES_PER_LIST = 5;

const ratio = (n: number, d: number) => (d === 0 ? 0 : n / d);

function requestValues(r: RequestStats | undefined, failedLoginLogs: number, identities: number): Record<string, number> {
  if (!r) return { failed_login_count: failedLoginLogs, distinct_identities: identities };
  const routes = r.routes?.estimate() ?? 0;
  const sample = r.routeSample;
  const kept = sample ? sample.keptCount : 0;
  const keptCounts = sample ? Array.from({ length: sample.size }, (_, i) => sample.countAt(i)) : [];
  return {
    request_count: r.count,
    error_count: r.errors,
    error_ratio: ratio(r.errors, r.count),
    latency_mean_ms: ratio(r.latencySum, r.count),
    latency_p50_ms: r.latency.quantile(0.5),
    latency_p95_ms: r.latency.quantile(0.95),
    latency_max_ms: r.latencyMax,
    latency_p99_ms: r.latency.quantile(0.99),
    server_error_ratio: ratio(r.serverErrors, r.count),
    client_error_ratio: ratio(r.clientErrors, r.count),
    auth_failure_count: r.authFailures,
    auth_failure_ratio: ratio(r.authFailures, r.count),
    not_found_count: r.notFound,
    not_found_ratio: ratio(r.notFound, r.count),
    failed_login_count: r.failedLogins + failedLoginLogs,
    request_bytes_mean: ratio(r.requestBytesSum, r.requestBytesCount),
    request_bytes_p95: r.requestBytes?.quantile(0.95) ?? 0,
    request_bytes_max: r.requestBytesMax,
    request_bytes_sum: r.requestBytesSum,
    response_bytes_mean: ratio(r.responseBytesSum, r.responseBytesCount),
    response_bytes_p95: r.responseBytes?.quantile(0.95) ?? 0,
    response_bytes_max: r.responseBytesMax,
    response_bytes_sum: r.responseBytesSum,
    distinct_routes: routes,
    distinct_missing_routes: r.missingRoutes?.estimate() ?? 0,
    distinct_identities: identities,
    distinct_peers: r.peers?.estimate() ?? 0,
    route_entropy: entropyWithRest(keptCounts, r.count - kept, routes - (sample?.size ?? 0), r.count),
    method_get_ratio: ratio(r.methodGet, r.count),
    method_post_ratio: ratio(r.methodPost, r.count),
    method_other_ratio: ratio(r.methodOther, r.count),
    payload_count: r.payloadCount,
    payload_length_mean: ratio(r.payloadLengthSum, r.payloadCount),
    payload_length_max: r.payloadLengthMax,
    payload_alpha_ratio: ratio(r.payloadAlphaSum, r.payloadCount),
    payload_digit_ratio: ratio(r.payloadDigitSum, r.payloadCount),
    payload_special_ratio: ratio(r.payloadSpecialSum, r.payloadCount),
    payload_encoded_density: ratio(r.payloadEncodedSum, r.payloadCount),
    payload_entropy_mean: ratio(r.payloadEntropySum, r.payloadCount),
    payload_entropy_max: r.payloadEntropyMax,
  };
}

/** Scales a count of new items among a sample to the window's distinct items (exact while the sample holds them all). */
function scaled(newInSample: number, sampleSize: number, distinct: number): number {
  return sampleSize === 0 || distinct <= sampleSize ? newInSample : Math.round((newInSample * distinct) / sampleSize);
}

export function buildVector(entityId: string, windowStartMs: number, windowEndMs: number, agg: EntityAggregate, seen: FirstSeenResult): FeatureVector {
  const kind = kindOf(entityId)!;
  const a = agg.activity;
  const r = agg.requests;
  const identities = agg.identities?.estimate() ?? 0;
  const destinations = agg.destinations?.estimate() ?? 0;
  const values: Record<string, number> = {
    ...requestValues(r, agg.authFailureLogs, identities),
    log_count: agg.logs,
    log_error_count: agg.logErrors,
    exec_count: a?.execs ?? 0,
    new_binary_count: kind === 'process' ? (seen.entityNew && (a?.execs ?? 0) > 0 ? 1 : 0) : seen.newBinaries.count,
    shell_exec_count: a?.shellExecs ?? 0,
    cpu_seconds: a?.cpuSeconds ?? 0,
    memory_bytes_max: a?.memoryBytesMax ?? 0,
    connection_count: a?.connections ?? 0,
    bytes_out: a?.bytesOut ?? 0,
    bytes_in: a?.bytesIn ?? 0,
    distinct_destinations: destinations,
    new_destination_count: scaled(seen.newDestinations.count, agg.destinationSample?.size ?? 0, destinations),
    new_edge: seen.entityNew ? 1 : 0,
    new_route_count: scaled(seen.newRoutes.count, r?.routeSample?.size ?? 0, r?.routes?.estimate() ?? 0),
    history_age_s: seen.historyAgeS,
  };
  const featureNames = [...FEATURES_BY_KIND[kind]];

  const examples: Record<string, string[]> = {};
  const list = (name: string, items: string[] | undefined) => {
    if (items && items.length > 0) examples[name] = items.slice(0, EXAMPLES_PER_LIST);
  };
  if (r && kind !== 'edge') list('missing_routes', r.missingSample?.examples(EXAMPLES_PER_LIST));
  list('identities', agg.identitySample?.examples(EXAMPLES_PER_LIST));
  list('peers', r?.peerSample?.examples(EXAMPLES_PER_LIST));
  if (kind === 'client') list('new_routes', seen.newRoutes.names);
  if (kind === 'host' || kind === 'pod') list('new_binaries', seen.newBinaries.names);
  list('shell_execs', a?.shellSample?.examples(EXAMPLES_PER_LIST));
  list('new_destinations', seen.newDestinations.names);

  const exemplars: Exemplar[] = [];
  const ex = agg.exemplars;
  if (ex) {
    for (const c of ex.errors) exemplars.push({ traceId: c.traceId, spanId: c.spanId, reason: 'error', value: c.value, statusMessage: c.statusMessage });
    if (ex.slowest) exemplars.push({ traceId: ex.slowest.traceId, spanId: ex.slowest.spanId, reason: 'slowest', value: ex.slowest.value });
    if (ex.largest) exemplars.push({ traceId: ex.largest.traceId, spanId: ex.largest.spanId, reason: 'largest', value: ex.largest.value });
  }

  const attributes = agg.attributes ? { ...agg.attributes } : undefined;
  const service = attributes?.['service.name'] ?? '';
  const vector: FeatureVector = {
    entityId,
    entityType: kind,
    service,
    operation: kind === 'operation' ? entityId.slice(`operation:${service}:`.length) : undefined,
    windowStartMs,
    windowEndMs,
    featureNames,
    values: featureNames.map((n) => values[n] ?? 0),
    sampleCount: agg.samples,
    exemplars,
  };
  if (attributes) vector.attributes = attributes;
  if (Object.keys(examples).length > 0) vector.examples = examples;
  return vector;
}
