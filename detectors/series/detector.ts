/**
 * The streaming series detector (models/series) run live on each entity's key series: request rate, error ratio,
 * p95 latency and response bytes, one detector per (entity, series), learnt state in the store.
 *
 * It finds what a fixed rule cannot name (a level shift, a broken daily pattern, a new oscillation) and was tuned
 * on NAB by leave-one-category-out (models/series/loco.ts), so its parameters are those that held on kinds of
 * series they were not tuned on. A deviation it finds has no ATT&CK technique: the finding is an `anomaly`, with a
 * low base risk, that mostly corroborates the rule detectors on the same window (see detectors/triage).
 *
 * Like NAB detectors it learns every row, flagged ones too: its novelty counts are how it knows a context is new,
 * and its rest period keeps one incident to one alert. A replayed window (at or before the last one learnt) is not
 * learnt again and raises nothing.
 */
import { z } from 'zod';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { DEFAULT_SERIES_DETECTOR, SeriesDetector, type SeriesDetectorOptions, type SeriesDetectorState } from '../../models/index.ts';
import type { WindowDetectorFactory } from '../detector.ts';
import type { Finding } from '../../findings/finding.ts';
import { count, measured } from '../vector.ts';
import { entityKindsConfig, gatedDetector } from '../window-detector.ts';
import { formatNumber, windowFinding, type FeatureEvidence } from '../window-finding.ts';

export const SERIES_DETECTOR = 'series';

const SERIES = ['request_count', 'error_ratio', 'latency_p95_ms', 'response_bytes_sum'] as const;
type SeriesName = (typeof SERIES)[number];

/** The scale below which a change is not material, per series (a change is measured against max(typical, this)). */
const MATERIAL_SCALE: Record<SeriesName, number> = { request_count: 10, error_ratio: 0.05, latency_p95_ms: 20, response_bytes_sum: 64 * 1024 };

export const SeriesConfig = z.strictObject({
  ...entityKindsConfig(['service', 'operation', 'edge', 'client'], ['service', 'operation']),
  series: z.array(z.enum(SERIES)).min(1).default([...SERIES]),
  /** Anomaly score (0–1) at or above which a series raises a finding: the NAB-optimised threshold of the shipped parameters. */
  alertScore: z.number().gt(0).max(1).default(0.9955),
  /**
   * A flagged value must also differ from the typical one by this share of it: the detector finds contexts never
   * seen (a level at a new time of day), which on a live entity's first day is most of them; a finding needs a
   * change a person would call one.
   */
  minRelativeChange: z.number().min(0).default(0.5),
  /** Windows with fewer requests are learnt but raise nothing (too little evidence). */
  minRequests: z.number().int().min(0).default(5),
  /** Distinct contexts a detector keeps per table (bounded state per entity and series). */
  maxContexts: z.number().int().min(16).default(1024),
  /** Overrides of the detector's tuned parameters (models/series/detector.ts), for experiments. */
  parameters: z.strictObject({
    warmupRows: z.number().int().min(2).optional(),
    buckets: z.number().int().min(1).optional(),
    slotsPerDay: z.number().int().min(1).optional(),
    rest: z.number().int().min(0).optional(),
  }).default({}),
  /** Weight of a new window in the typical value shown beside the actual one. */
  typicalAlpha: z.number().gt(0).max(1).default(0.05),
});
export type SeriesConfig = z.infer<typeof SeriesConfig>;

/** One entity's detectors and typical values; serialised through `toJSON` when the store persists it. */
class EntitySeries {
  constructor(
    public lastEndMs: number,
    readonly detectors: Partial<Record<SeriesName, SeriesDetector>>,
    readonly typical: Partial<Record<SeriesName, number>>,
  ) {}

  toJSON(): PersistedSeries {
    const detectors: PersistedSeries['detectors'] = {};
    for (const [name, d] of Object.entries(this.detectors)) detectors[name as SeriesName] = d.toState();
    return { lastEndMs: this.lastEndMs, detectors, typical: this.typical };
  }
}

interface PersistedSeries {
  lastEndMs: number;
  detectors: Partial<Record<SeriesName, SeriesDetectorState>>;
  typical: Partial<Record<SeriesName, number>>;
}

const BASE_RISK = 0.3;

export const series: WindowDetectorFactory<SeriesConfig> = {
  id: SERIES_DETECTOR,
  input: 'window',
  config: SeriesConfig,
  create(config, settings) {
    const store = settings.store<EntitySeries | PersistedSeries>('entities', { maxKeys: 50_000 });
    const options: Partial<SeriesDetectorOptions> = { ...DEFAULT_SERIES_DETECTOR, ...config.parameters, maxContexts: config.maxContexts };
    const entityOf = (key: string): EntitySeries | undefined => {
      const stored = store.get(key);
      if (stored === undefined || stored instanceof EntitySeries) return stored;
      // Restored from the changelog as plain JSON: rebuild the live detectors once.
      const detectors: EntitySeries['detectors'] = {};
      for (const [name, state] of Object.entries(stored.detectors)) detectors[name as SeriesName] = SeriesDetector.fromState(state, options);
      const live = new EntitySeries(stored.lastEndMs, detectors, { ...stored.typical });
      store.set(key, live);
      return live;
    };
    return gatedDetector(config, (v: FeatureVector): Finding | undefined => {
      const entity = entityOf(v.entityId) ?? new EntitySeries(-Infinity, {}, {});
      if (v.windowEndMs <= entity.lastEndMs) return undefined;
      entity.lastEndMs = v.windowEndMs;
      const evidence: FeatureEvidence[] = [];
      for (const name of config.series) {
        const value = measured(v, name);
        if (value === undefined) continue;
        const detector = (entity.detectors[name] ??= new SeriesDetector(options));
        const score = detector.update(v.windowEndMs, value);
        const typical = entity.typical[name];
        const material = typical !== undefined && Math.abs(value - typical) >= config.minRelativeChange * Math.max(Math.abs(typical), MATERIAL_SCALE[name]);
        if (score >= config.alertScore && material) {
          // How many times rarer than the threshold: 1 at the threshold.
          evidence.push({ feature: name, actual: value, typical, evidence: (1 - config.alertScore) / Math.max(1e-12, 1 - score) });
        }
        entity.typical[name] = typical === undefined ? value : typical + config.typicalAlpha * (value - typical);
      }
      store.set(v.entityId, entity);
      if (evidence.length === 0 || count(v, 'request_count') < config.minRequests) return undefined;
      return windowFinding(v, {
        detector: SERIES_DETECTOR,
        ruleName: 'Unusual series',
        ruleDescription: 'The streaming series detector found a context never or rarely seen in this entity\'s key series (rate, errors, latency, bytes)',
        kind: 'anomaly',
        base: BASE_RISK,
        evidence,
        message: `${v.entityId}: unusual ` + evidence.map((e) => `${e.feature} ${formatNumber(e.actual)} (typically ${formatNumber(e.typical)})`).join(', '),
      });
    });
  },
};
