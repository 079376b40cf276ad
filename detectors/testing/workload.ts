/**
 * A synthetic mix of feature vectors for benchmarks: every entity kind of FEATURE-CONTRACT with its features, values
 * around a per-entity level with noise (normal traffic: the detectors mostly stay quiet), and attack vectors that fire
 * at once (a client never seen before sending a flood).
 */
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { noisyCount, seeded } from './vectors.ts';

// `pod` joins when the feature-vector schema with that entity type is on main (the Avro enum refuses it before).
const KINDS: readonly string[] = ['service', 'operation', 'client', 'edge', 'host', 'process'];

const REQUEST_FEATURES = [
  'request_count', 'error_count', 'error_ratio', 'auth_failure_count', 'failed_login_count', 'not_found_count', 'not_found_ratio',
  'latency_p50_ms', 'latency_p95_ms', 'response_bytes_p95', 'response_bytes_max', 'response_bytes_sum', 'distinct_routes',
  'distinct_missing_routes', 'distinct_identities', 'new_route_count', 'new_edge', 'history_age_s',
];
const WORKLOAD_FEATURES = ['exec_count', 'new_binary_count', 'shell_exec_count', 'cpu_seconds', 'bytes_out', 'new_destination_count', 'history_age_s'];

export interface Workload {
  /** The next normal window of the next entity (round robin over the entities; windows advance 10 s per round). */
  next(): FeatureVector;
  /** A flood from a client never seen before, in the current window. */
  attack(n: number): FeatureVector;
}

export function syntheticWorkload(options: { entities: number; seed: number; startMs: number }): Workload {
  const rand = seeded(options.seed);
  const entities = Array.from({ length: options.entities }, (_, i) => {
    const kind = KINDS[i % KINDS.length];
    const id = kind === 'client' ? `client:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
      : kind === 'edge' ? `edge:svc-${i % 13}->svc-${(i * 7) % 13}-${i}`
      : kind === 'pod' ? `pod:shop/svc-${i}`
      : kind === 'process' ? `process:node-${i % 5}:/usr/bin/svc-${i}`
      : `${kind}:svc-${i}`;
    return { kind, id, level: 5 + rand() * 100 };
  });
  let at = 0;
  let window = 0;
  const vectorOf = (entityId: string, kind: string, features: Record<string, number>, w: number): FeatureVector => ({
    entityId, entityType: kind as FeatureVector['entityType'], service: 'shop', operation: kind === 'operation' ? 'GET /api/products' : undefined,
    windowStartMs: options.startMs + w * 10_000, windowEndMs: options.startMs + (w + 1) * 10_000,
    featureNames: Object.keys(features), values: Object.values(features), sampleCount: features.request_count ?? 1, exemplars: [],
  });
  return {
    next() {
      const e = entities[at];
      const history = 3600 + window * 10;
      let features: Record<string, number>;
      if (e.kind === 'host' || e.kind === 'pod' || e.kind === 'process') {
        features = Object.fromEntries(WORKLOAD_FEATURES.map((n) => [n, 0]));
        features.exec_count = rand() < 0.05 ? 1 : 0;
        features.cpu_seconds = e.level / 20 * (0.8 + rand() * 0.4);
        features.bytes_out = e.level * 10_000 * (0.8 + rand() * 0.4);
        features.history_age_s = history;
      } else {
        const n = noisyCount(rand, e.level);
        const failures = rand() < 0.05 ? 1 : 0;
        features = Object.fromEntries(REQUEST_FEATURES.map((name) => [name, 0]));
        Object.assign(features, {
          request_count: n, error_count: Math.round(n * 0.01), error_ratio: 0.01, auth_failure_count: failures, failed_login_count: failures,
          latency_p50_ms: 20 + rand() * 5, latency_p95_ms: 60 + rand() * 20, response_bytes_p95: 9000 + rand() * 2000, response_bytes_max: 12_000 + rand() * 3000,
          response_bytes_sum: n * 6000, distinct_routes: 3, distinct_identities: failures, history_age_s: history,
        });
      }
      const v = vectorOf(e.id, e.kind, features, window);
      at++;
      if (at === entities.length) {
        at = 0;
        window++;
      }
      return v;
    },
    attack(n) {
      const features = Object.fromEntries(REQUEST_FEATURES.map((name) => [name, 0]));
      Object.assign(features, { request_count: 5000, latency_p95_ms: 80, response_bytes_sum: 5000 * 6000, distinct_routes: 1, history_age_s: 3600 + window * 10 });
      return vectorOf(`client:198.18.${(n >> 8) & 255}.${n & 255}`, 'client', features, window);
    },
  };
}
