import { MemoryKeyedStore, type KeyedStore } from '../../core/state/keyed-store.ts';
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { feature } from '../../schemas/feature-vector.ts';
import { severityOf, windowFields, exemplarLinks, type Finding } from '../../findings/finding.ts';

export interface ErrorRatioSettings {
  warmupWindows: number;
  minRequests: number;
  /** How far above its typical error ratio a window must be. */
  threshold: number;
  /** Weight of a new normal window in the baseline. */
  alpha?: number;
}

export interface Baseline {
  windows: number;
  errorRatio: number;
  requestCount: number;
  lastWindowEndMs: number;
}

export const ERROR_RATIO_DETECTOR = 'error_ratio';

/**
 * A streaming baseline of each operation's error ratio. A window whose ratio exceeds the baseline by the threshold
 * is a finding; anomalous windows do not move the baseline, so an ongoing incident keeps being reported.
 */
export class ErrorRatioDetector {
  private readonly alpha: number;

  /** `baselines` keeps each entity's baseline; the detectors stage gives a store that survives restarts. */
  constructor(private readonly settings: ErrorRatioSettings, private readonly baselines: KeyedStore<Baseline> = new MemoryKeyedStore({ maxKeys: 100_000 })) {
    this.alpha = settings.alpha ?? 0.2;
  }

  score(v: FeatureVector): Finding | undefined {
    const count = feature(v, 'request_count') ?? 0;
    const ratio = feature(v, 'error_ratio') ?? 0;
    const b = this.baselines.get(v.entityId);
    if (b && v.windowEndMs <= b.lastWindowEndMs) return undefined; // replayed or out-of-order window: already judged
    if (!b || b.windows < this.settings.warmupWindows) {
      this.learn(v.entityId, b, ratio, count, v.windowEndMs);
      return undefined;
    }
    const excess = ratio - b.errorRatio;
    if (count < this.settings.minRequests || excess < this.settings.threshold) {
      this.learn(v.entityId, b, ratio, count, v.windowEndMs);
      return undefined;
    }
    b.lastWindowEndMs = v.windowEndMs;
    this.baselines.set(v.entityId, b);
    const riskScore = Math.round(Math.min(100, 40 + 60 * (excess / Math.max(1e-9, 1 - b.errorRatio))));
    const errorExemplars = v.exemplars.filter((e) => e.reason === 'error');
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    return {
      detector: ERROR_RATIO_DETECTOR,
      ruleName: 'Error ratio spike',
      ruleDescription: 'The share of failing requests of an operation rose far above its baseline',
      ...windowFields(v),
      riskScore,
      severity: severityOf(riskScore),
      message: `${v.service} ${v.operation ?? ''}: ${pct(ratio)} of ${count} requests failed (typically ${pct(b.errorRatio)})`
        + (errorExemplars[0]?.statusMessage ? `: ${errorExemplars[0].statusMessage}` : ''),
      explanation: [
        { feature: 'error_ratio', actual: ratio, typical: b.errorRatio, share: 1 },
      ],
      exemplars: exemplarLinks(errorExemplars.length > 0 ? errorExemplars : v.exemplars),
    };
  }

  private learn(entityId: string, b: Baseline | undefined, ratio: number, count: number, windowEndMs: number): void {
    if (!b) {
      this.baselines.set(entityId, { windows: 1, errorRatio: ratio, requestCount: count, lastWindowEndMs: windowEndMs });
      return;
    }
    const a = b.windows < this.settings.warmupWindows ? 1 / (b.windows + 1) : this.alpha;
    b.errorRatio += a * (ratio - b.errorRatio);
    b.requestCount += a * (count - b.requestCount);
    b.windows++;
    b.lastWindowEndMs = windowEndMs;
    this.baselines.set(entityId, b);
  }
}
