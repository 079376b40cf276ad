/**
 * Generated feature vectors shaped like the features stage's (same names), with planted anomalies, for tests, the
 * benchmark and demos. Deterministic for a seed. Pure.
 */
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { seededRandom, type Random } from './random.ts';

/** The names the features stage emits, in its order. */
export const WINDOW_FEATURE_NAMES: readonly string[] = [
  'request_count', 'error_count', 'error_ratio', 'latency_mean_ms', 'latency_p50_ms', 'latency_p95_ms', 'latency_max_ms',
];

export interface SyntheticOptions {
  seed: number;
  /** The entities (their rates, error rates, latencies) come from this seed, so two sets can share them. Default 1000. */
  entitySeed?: number;
  entities?: number;
  windowsPerEntity?: number;
  /** Fraction of windows with one planted anomalous feature. */
  anomalyRate?: number;
  /** `strong` (default): far beyond the normal range; `subtle`: 2-3x, near its edge. */
  plantStrength?: 'strong' | 'subtle';
  /** Multiplies every latency (a shifted distribution, e.g. to train a deliberately poor model). */
  latencyFactor?: number;
  windowMs?: number;
  startMs?: number;
}

export interface SyntheticVector { vector: FeatureVector; planted?: string }

interface EntityBase { id: string; service: string; rate: number; errorRate: number; latency: number }

export function generateWindowVectors(options: SyntheticOptions): SyntheticVector[] {
  const random = seededRandom(options.seed);
  const entities = options.entities ?? 20;
  const windows = options.windowsPerEntity ?? 200;
  const windowMs = options.windowMs ?? 60_000;
  const start = options.startMs ?? Date.UTC(2026, 10, 1);
  const entityRandom = seededRandom(options.entitySeed ?? 1000);
  const bases: EntityBase[] = Array.from({ length: entities }, (_, e) => ({
    id: `operation:svc-${e % 5}:GET /api/r${e}`,
    service: `svc-${e % 5}`,
    rate: Math.exp(3 + 2 * entityRandom.next()),
    errorRate: 0.002 + 0.02 * entityRandom.next(),
    latency: Math.exp(2.5 + 1.5 * entityRandom.next()) * (options.latencyFactor ?? 1),
  }));
  const out: SyntheticVector[] = [];
  for (let w = 0; w < windows; w++) {
    for (const base of bases) {
      const windowStartMs = start + w * windowMs;
      const values = normalValues(base, random);
      let planted: string | undefined;
      if (random.next() < (options.anomalyRate ?? 0)) planted = plant(values, random, options.plantStrength ?? 'strong');
      out.push({
        planted,
        vector: {
          entityId: base.id, entityType: 'operation', service: base.service, operation: base.id.split(':')[2],
          windowStartMs, windowEndMs: windowStartMs + windowMs,
          featureNames: [...WINDOW_FEATURE_NAMES], values, sampleCount: values[0], exemplars: [],
        },
      });
    }
  }
  return out;
}

function normalValues(base: EntityBase, random: Random): number[] {
  const count = Math.max(1, Math.round(base.rate * (1 + 0.15 * random.normal())));
  const ratio = Math.max(0, base.errorRate * (1 + 0.5 * random.normal()));
  const errors = Math.round(count * ratio);
  const p50 = base.latency * Math.exp(0.1 * random.normal());
  const mean = p50 * (1.2 + 0.05 * random.normal());
  const p95 = p50 * (2.5 + 0.2 * random.normal());
  const max = p95 * (1.5 + 0.3 * Math.abs(random.normal()));
  return [count, errors, count ? errors / count : 0, mean, p50, p95, max];
}

/** Changes one feature far beyond its normal range and returns its name. */
function plant(values: number[], random: Random, strength: 'strong' | 'subtle'): string {
  const kind = Math.floor(random.next() * 3);
  const subtle = strength === 'subtle';
  if (kind === 0) {
    values[2] = subtle ? values[2] + 0.03 + 0.03 * random.next() : 0.4 + 0.4 * random.next(); // error_ratio
    return 'error_ratio';
  }
  if (kind === 1) {
    values[5] *= subtle ? 2 + random.next() : 8 + 8 * random.next(); // latency_p95_ms
    return 'latency_p95_ms';
  }
  values[0] = Math.round(values[0] * (subtle ? 2 + random.next() : 15 + 15 * random.next())); // request_count
  return 'request_count';
}
