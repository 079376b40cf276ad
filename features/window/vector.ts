/**
 * The feature catalog (features/README.md is its table) and the step that turns an entity's merged window — plus
 * what its first-seen history says — into a FeatureVector. Every vector of a kind has the same names in the same
 * order, whatever the window saw; a quantity the window had no data for is 0. Pure.
 */
import type { Exemplar, FeatureVector } from '../../schemas/feature-vector.ts';
import { kindOf, type EntityKind } from '../entity/ids.ts';
import { entropyWithRest } from '../sketch/entropy.ts';
import type { ActivityStats, EntityAggregate, RequestStats } from './aggregate.ts';

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

/** An operation's features: the request features (the error-ratio detector, the entity-window model and the demo read them). */
export const OPERATION_FEATURES = REQUEST_FEATURES;

const CONNECTION_FEATURES = ['connection_count', 'bytes_out', 'bytes_in'] as const;
const DESTINATION_FEATURES = ['distinct_destinations', 'new_destination_count'] as const;

/** The features of each entity kind, in vector order. */
export const FEATURES_BY_KIND: Readonly<Record<EntityKind, readonly string[]>> = {
  operation: OPERATION_FEATURES,
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

/** What a feature's value is computed from. */
interface VectorInput {
  kind: EntityKind;
  agg: EntityAggregate;
  r: RequestStats | undefined;
  a: ActivityStats | undefined;
  seen: FirstSeenResult;
  identities: number;
  destinations: number;
  routes: number;
}

/** How each feature is computed; a feature of the catalog without an entry here is a bug (checked at load). */
const VALUES: Readonly<Record<string, (c: VectorInput) => number>> = {
  request_count: (c) => c.r?.count ?? 0,
  error_count: (c) => c.r?.errors ?? 0,
  error_ratio: (c) => (c.r ? ratio(c.r.errors, c.r.count) : 0),
  latency_mean_ms: (c) => (c.r ? ratio(c.r.latencySum, c.r.count) : 0),
  latency_p50_ms: (c) => c.r?.latency.quantile(0.5) ?? 0,
  latency_p95_ms: (c) => c.r?.latency.quantile(0.95) ?? 0,
  latency_max_ms: (c) => c.r?.latencyMax ?? 0,
  latency_p99_ms: (c) => c.r?.latency.quantile(0.99) ?? 0,
  server_error_ratio: (c) => (c.r ? ratio(c.r.serverErrors, c.r.count) : 0),
  client_error_ratio: (c) => (c.r ? ratio(c.r.clientErrors, c.r.count) : 0),
  auth_failure_count: (c) => c.r?.authFailures ?? 0,
  auth_failure_ratio: (c) => (c.r ? ratio(c.r.authFailures, c.r.count) : 0),
  not_found_count: (c) => c.r?.notFound ?? 0,
  not_found_ratio: (c) => (c.r ? ratio(c.r.notFound, c.r.count) : 0),
  failed_login_count: (c) => (c.r?.failedLogins ?? 0) + c.agg.authFailureLogs,
  request_bytes_mean: (c) => (c.r ? ratio(c.r.requestBytesSum, c.r.requestBytesCount) : 0),
  request_bytes_p95: (c) => c.r?.requestBytes?.quantile(0.95) ?? 0,
  request_bytes_max: (c) => c.r?.requestBytesMax ?? 0,
  request_bytes_sum: (c) => c.r?.requestBytesSum ?? 0,
  response_bytes_mean: (c) => (c.r ? ratio(c.r.responseBytesSum, c.r.responseBytesCount) : 0),
  response_bytes_p95: (c) => c.r?.responseBytes?.quantile(0.95) ?? 0,
  response_bytes_max: (c) => c.r?.responseBytesMax ?? 0,
  response_bytes_sum: (c) => c.r?.responseBytesSum ?? 0,
  distinct_routes: (c) => c.routes,
  distinct_missing_routes: (c) => c.r?.missingRoutes?.estimate() ?? 0,
  distinct_identities: (c) => c.identities,
  distinct_peers: (c) => c.r?.peers?.estimate() ?? 0,
  route_entropy: (c) => {
    const r = c.r;
    const sample = r?.routeSample;
    if (!r || !sample) return 0;
    const keptCounts = Array.from({ length: sample.size }, (_, i) => sample.countAt(i));
    return entropyWithRest(keptCounts, r.count - sample.keptCount, c.routes - sample.size, r.count);
  },
  method_get_ratio: (c) => (c.r ? ratio(c.r.methodGet, c.r.count) : 0),
  method_post_ratio: (c) => (c.r ? ratio(c.r.methodPost, c.r.count) : 0),
  method_other_ratio: (c) => (c.r ? ratio(c.r.methodOther, c.r.count) : 0),
  payload_count: (c) => c.r?.payload?.count ?? 0,
  payload_length_mean: (c) => (c.r?.payload ? ratio(c.r.payload.lengthSum, c.r.payload.count) : 0),
  payload_length_max: (c) => c.r?.payload?.lengthMax ?? 0,
  payload_alpha_ratio: (c) => (c.r?.payload ? ratio(c.r.payload.alphaSum, c.r.payload.count) : 0),
  payload_digit_ratio: (c) => (c.r?.payload ? ratio(c.r.payload.digitSum, c.r.payload.count) : 0),
  payload_special_ratio: (c) => (c.r?.payload ? ratio(c.r.payload.specialSum, c.r.payload.count) : 0),
  payload_encoded_density: (c) => (c.r?.payload ? ratio(c.r.payload.encodedSum, c.r.payload.count) : 0),
  payload_entropy_mean: (c) => (c.r?.payload ? ratio(c.r.payload.entropySum, c.r.payload.count) : 0),
  payload_entropy_max: (c) => c.r?.payload?.entropyMax ?? 0,
  log_count: (c) => c.agg.logs,
  log_error_count: (c) => c.agg.logErrors,
  exec_count: (c) => c.a?.execs ?? 0,
  new_binary_count: (c) => (c.kind === 'process' ? (c.seen.entityNew && (c.a?.execs ?? 0) > 0 ? 1 : 0) : c.seen.newBinaries.count),
  shell_exec_count: (c) => c.a?.shellExecs ?? 0,
  cpu_seconds: (c) => c.a?.cpuSeconds ?? 0,
  memory_bytes_max: (c) => c.a?.memoryBytesMax ?? 0,
  connection_count: (c) => c.a?.connections ?? 0,
  bytes_out: (c) => c.a?.bytesOut ?? 0,
  bytes_in: (c) => c.a?.bytesIn ?? 0,
  distinct_destinations: (c) => c.destinations,
  new_destination_count: (c) => scaled(c.seen.newDestinations.count, c.agg.destinationSample?.size ?? 0, c.destinations),
  new_edge: (c) => (c.seen.entityNew ? 1 : 0),
  new_route_count: (c) => scaled(c.seen.newRoutes.count, c.r?.routeSample?.size ?? 0, c.routes),
  history_age_s: (c) => c.seen.historyAgeS,
};

/** Per kind, the feature computations in vector order. */
const GETTERS = Object.fromEntries(Object.entries(FEATURES_BY_KIND).map(([kind, names]) => [kind, names.map((n) => {
  const get = VALUES[n];
  if (!get) throw new Error(`feature ${n} has no computation`);
  return get;
})])) as Record<EntityKind, Array<(c: VectorInput) => number>>;

/** Scales a count of new items among a sample to the window's distinct items (exact while the sample holds them all). */
function scaled(newInSample: number, sampleSize: number, distinct: number): number {
  return sampleSize === 0 || distinct <= sampleSize ? newInSample : Math.round((newInSample * distinct) / sampleSize);
}

export function buildVector(entityId: string, windowStartMs: number, windowEndMs: number, agg: EntityAggregate, seen: FirstSeenResult): FeatureVector {
  const kind = kindOf(entityId)!;
  const a = agg.activity;
  const r = agg.requests;
  const input: VectorInput = {
    kind, agg, r, a, seen,
    identities: agg.identities?.estimate() ?? 0,
    destinations: agg.destinations?.estimate() ?? 0,
    routes: r?.routes?.estimate() ?? 0,
  };
  const featureNames = FEATURES_BY_KIND[kind] as string[];
  const values = GETTERS[kind].map((get) => get(input));

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
    featureNames: [...featureNames],
    values,
    sampleCount: agg.samples,
    exemplars,
  };
  if (attributes) vector.attributes = attributes;
  if (Object.keys(examples).length > 0) vector.examples = examples;
  return vector;
}
