/** Crafted feature vectors and detector settings for unit tests (FEATURE-CONTRACT names). */
import type { Logger } from 'pino';
import pino from 'pino';
import { ManualClock } from '../../core/clock.ts';
import { MetricsRegistry } from '../../core/metrics.ts';
import { MemoryKeyedStore, type StoreChange } from '../../core/state/keyed-store.ts';
import type { Exemplar, FeatureVector } from '../../schemas/feature-vector.ts';
import type { DetectorSettings, WindowDetector, WindowDetectorFactory } from '../detector.ts';
import type { Finding } from '../../findings/finding.ts';

export const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
export const WINDOW_MS = 10_000;

export interface VectorOptions {
  /** Window index from T0 (window i covers [T0 + i·10 s, T0 + (i+1)·10 s)). */
  window: number;
  service?: string;
  operation?: string;
  attributes?: Record<string, string>;
  examples?: Record<string, string[]>;
  exemplars?: Array<Omit<Exemplar, 'reason'> & { reason: string }>;
}

const KIND_OF = (entityId: string) => entityId.slice(0, entityId.indexOf(':'));

export function vector(entityId: string, features: Record<string, number>, options: VectorOptions): FeatureVector {
  const names = Object.keys(features);
  const v = {
    entityId,
    entityType: KIND_OF(entityId) as FeatureVector['entityType'],
    service: options.service ?? 'shop',
    operation: options.operation,
    windowStartMs: T0 + options.window * WINDOW_MS,
    windowEndMs: T0 + (options.window + 1) * WINDOW_MS,
    featureNames: names,
    values: names.map((n) => features[n]),
    sampleCount: features.request_count ?? features.exec_count ?? 1,
    exemplars: (options.exemplars ?? []) as Exemplar[],
    ...(options.attributes ? { attributes: options.attributes } : {}),
    ...(options.examples ? { examples: options.examples } : {}),
  };
  return v;
}

/** A seeded PRNG for noise in crafted series. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A Poisson-like count around `mean` (normal approximation, never negative). */
export function noisyCount(rand: () => number, mean: number): number {
  const u = Math.max(1e-9, rand());
  const w = rand();
  const gauss = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
  return Math.max(0, Math.round(mean + gauss * Math.sqrt(Math.max(mean, 1))));
}

/** A daily curve: `mean` at its average, ±`amplitude` of it over 24 h, at window i. */
export function daily(mean: number, amplitude: number, window: number): number {
  return mean * (1 + amplitude * Math.sin((2 * Math.PI * window * WINDOW_MS) / 86_400_000));
}

const silent: Logger = pino({ level: 'silent' });

export interface TestSettings extends DetectorSettings {
  stores: Map<string, MemoryKeyedStore<unknown>>;
}

/** Settings with in-memory stores; `restoredFrom` starts the stores from another instance's persisted changes. */
export function testSettings(id: string, restoredFrom?: TestSettings): TestSettings {
  const stores = new Map<string, MemoryKeyedStore<unknown>>();
  const changes = new Map<string, Array<StoreChange<unknown>>>();
  if (restoredFrom) for (const [name, store] of restoredFrom.stores) changes.set(name, JSON.parse(JSON.stringify(store.takeChanges())) as Array<StoreChange<unknown>>);
  return {
    log: silent,
    metrics: new MetricsRegistry(),
    clock: new ManualClock(T0),
    mlflowUrl: 'http://127.0.0.1:5000',
    configKey: `detectors.${id}`,
    stores,
    store<T>(name: string, options?: { maxKeys?: number }) {
      const store = new MemoryKeyedStore<unknown>({ maxKeys: options?.maxKeys ?? 100_000 });
      // Persisted values go through JSON, as they would through the changelog.
      const persisted = changes.get(name);
      if (persisted) store.restore(persisted.map(([k, v]) => [k, v === undefined ? undefined : JSON.parse(JSON.stringify(v))]));
      stores.set(name, store);
      return store as MemoryKeyedStore<T>;
    },
  };
}

/** A detector from its factory with its default configuration, overridden by `config`. */
export async function create<C>(factory: WindowDetectorFactory<C>, config: Record<string, unknown> = {}, restoredFrom?: TestSettings): Promise<{ detector: WindowDetector; settings: TestSettings }> {
  const settings = testSettings(factory.id, restoredFrom);
  const detector = await factory.create(factory.config.parse(config), settings);
  if (!detector) throw new Error(`${factory.id}: the configuration turned it off`);
  return { detector, settings };
}

/** Every finding a detector raises on a sequence of vectors. */
export function run(detector: WindowDetector, vectors: Iterable<FeatureVector>): Finding[] {
  const out: Finding[] = [];
  for (const v of vectors) {
    const f = detector.score(v);
    if (f) out.push(f);
  }
  return out;
}

/**
 * Runs `vectors` through one detector, and through a second one that is stopped at `cut` and replaced by a fresh
 * instance restored from the first instance's persisted store, which re-reads the last `overlap` vectors (records
 * after the store was persisted but before offsets were committed). A re-read window's finding counts once.
 */
export async function findingsAcrossRestart<C>(factory: WindowDetectorFactory<C>, config: Record<string, unknown>, vectors: FeatureVector[], cut: number, overlap = 0): Promise<{ straight: Finding[]; restarted: Finding[] }> {
  const straight = run((await create(factory, config)).detector, vectors);
  const first = await create(factory, config);
  const before = run(first.detector, vectors.slice(0, cut));
  const second = await create(factory, config, first.settings);
  const after = run(second.detector, vectors.slice(cut - overlap));
  const seen = new Set(before.map((f) => `${f.entityId} ${f.windowEndMs}`));
  return { straight, restarted: [...before, ...after.filter((f) => !seen.has(`${f.entityId} ${f.windowEndMs}`))] };
}
