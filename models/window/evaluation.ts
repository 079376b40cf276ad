/**
 * Evaluation data for the entity-window model and its metrics. Where the evaluation rows carry no anomalous labels,
 * anomalies are planted into copies of held-out normal rows (one feature moved 1-5 spreads (IQR) away, in original units),
 * so every model, the challenger and the champion alike, is scored on the same fixed vectors. Pure.
 */
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { detectionSummary } from './metrics.ts';
import { alignValues } from './model.ts';
import { seededRandom } from './random.ts';
import { quantileSorted } from './scaling.ts';

export interface EvaluationSet {
  vectors: FeatureVector[];
  anomalous: boolean[];
  /** True when the anomalies were planted rather than labelled. */
  synthetic: boolean;
}

export interface WindowEvaluation {
  metrics: Record<string, number>;
  scores: Float64Array;
}

/** Held-out normal vectors plus, for each, a copy with one feature planted far from its usual range. */
export function plantEvaluationSet(normal: readonly FeatureVector[], reference: readonly FeatureVector[], seed: number): EvaluationSet {
  if (normal.length === 0) throw new Error('no evaluation rows');
  const names = normal[0].featureNames;
  const columns = names.map(() => [] as number[]);
  for (const v of reference) {
    const values = alignValues(v, names);
    values.forEach((x, j) => { if (Number.isFinite(x)) columns[j].push(x); });
  }
  const stats = columns.map((c) => {
    const sorted = Float64Array.from(c).sort();
    const median = quantileSorted(sorted, 0.5);
    const spread = Math.max(quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25), 0.5 * Math.abs(median), 1e-3);
    return { median, spread, nonNegative: sorted.length > 0 && sorted[0] >= 0 };
  });
  const random = seededRandom(seed);
  const planted = normal.map((v) => {
    const values = [...alignValues(v, names)];
    const j = Math.floor(random.next() * names.length);
    const k = 1 + 4 * random.next();
    const up = random.next() < 0.7 || (stats[j].nonNegative && values[j] - k * stats[j].spread < 0);
    values[j] = (Number.isFinite(values[j]) ? values[j] : stats[j].median) + (up ? 1 : -1) * k * stats[j].spread;
    return { ...v, featureNames: [...names], values };
  });
  return { vectors: [...normal, ...planted], anomalous: [...normal.map(() => false), ...planted.map(() => true)], synthetic: true };
}

/** Metrics of scores (0-100) against labels; `alertScore` is the model's threshold. */
export function windowEvaluationMetrics(scores: ArrayLike<number>, anomalous: readonly boolean[], alertScore: number): Record<string, number> {
  const summary = detectionSummary(scores, anomalous);
  let alertsNormal = 0, alertsAnomalous = 0;
  const normalScores: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (anomalous[i]) { if (scores[i] >= alertScore) alertsAnomalous++; }
    else { normalScores.push(scores[i]); if (scores[i] >= alertScore) alertsNormal++; }
  }
  normalScores.sort((a, b) => a - b);
  return {
    roc_auc: summary.rocAuc,
    tpr_at_fpr_1pct: summary.tprAtFpr1,
    tpr_at_fpr_5pct: summary.tprAtFpr5,
    best_f1: summary.bestF1,
    tpr_at_alert_score: summary.positives ? alertsAnomalous / summary.positives : 0,
    fpr_at_alert_score: summary.negatives ? alertsNormal / summary.negatives : 0,
    median_normal_score: normalScores.length ? quantileSorted(normalScores, 0.5) : NaN,
    rows: scores.length,
    anomalous_rows: summary.positives,
  };
}
