/**
 * Input scaling for the entity-window model, fitted on the training data and stored in the model package:
 * log1p for heavy-tailed non-negative features, then robust centring and scaling (median, IQR). Pure.
 */

export type FeatureTransform = 'log1p' | 'identity';

export interface FeatureScaling {
  name: string;
  transform: FeatureTransform;
  /** Median of the transformed values. */
  center: number;
  /** IQR / 1.349 of the transformed values (a standard deviation for normal data); never 0. */
  scale: number;
  /** Median in original units: the "typical" value explanations show. */
  typical: number;
}

export interface Scaling { features: FeatureScaling[] }

/** Quantile of sorted values with linear interpolation. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * A feature is treated as heavy-tailed when it is never negative and its upper tail reaches much further than the
 * rest: q99 - q50 > 3 IQR (normal data: 1.7, exponential: 3.5), or the upper tail is more than twice as long as the
 * lower one, q99 - q50 > 2 (q50 - q1) (symmetric data: 1, exponential: 5.7, counts and latencies: typically more).
 */
export function isHeavyTailed(sorted: ArrayLike<number>): boolean {
  if (sorted.length === 0 || sorted[0] < 0) return false;
  const q = (p: number) => quantileSorted(sorted, p);
  const q01 = q(0.01), q25 = q(0.25), q50 = q(0.5), q75 = q(0.75), q99 = q(0.99);
  const upper = q99 - q50;
  return upper > 3 * (q75 - q25) + 1e-12 || upper > 2 * (q50 - q01) + 1e-12;
}

export function applyTransform(transform: FeatureTransform, x: number): number {
  return transform === 'log1p' ? Math.log1p(Math.max(0, x)) : x;
}

export function invertTransform(transform: FeatureTransform, y: number): number {
  return transform === 'log1p' ? Math.expm1(y) : y;
}

/** Fits the scaling from columns of training values (one array per feature, non-finite values already removed). */
export function fitScaling(names: readonly string[], columns: ReadonlyArray<ArrayLike<number>>): Scaling {
  return {
    features: names.map((name, j) => {
      const raw = Float64Array.from(columns[j]).sort();
      if (raw.length === 0) return { name, transform: 'identity', center: 0, scale: 1, typical: 0 };
      const transform: FeatureTransform = isHeavyTailed(raw) ? 'log1p' : 'identity';
      const t = transform === 'identity' ? raw : raw.map((x) => applyTransform(transform, x));
      const center = quantileSorted(t, 0.5);
      return { name, transform, center, scale: robustScale(t, center), typical: quantileSorted(raw, 0.5) };
    }),
  };
}

/** IQR / 1.349; falls back to MAD, then the standard deviation, then 1 for (nearly) constant features. */
function robustScale(sorted: Float64Array, center: number): number {
  const iqr = (quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25)) / 1.349;
  if (iqr > 1e-9) return iqr;
  const deviations = sorted.map((x) => Math.abs(x - center)).sort();
  const mad = quantileSorted(deviations, 0.5) * 1.4826;
  if (mad > 1e-9) return mad;
  let sum = 0, sq = 0;
  for (const x of sorted) { sum += x; sq += x * x; }
  const std = Math.sqrt(Math.max(0, sq / sorted.length - (sum / sorted.length) ** 2));
  return std > 1e-9 ? std : 1;
}

/** Values far outside anything seen still give a finite input (and so a finite error). */
const MAX_ABS_SCALED = 1e4;

/** Scales one value; a missing (non-finite) value becomes the typical one (scaled 0), so it adds no error. */
export function scaleValue(f: FeatureScaling, x: number): number {
  if (!Number.isFinite(x)) return 0;
  const z = (applyTransform(f.transform, x) - f.center) / f.scale;
  return z > MAX_ABS_SCALED ? MAX_ABS_SCALED : z < -MAX_ABS_SCALED ? -MAX_ABS_SCALED : z;
}

/** A scaled value back in original units. */
export function unscaleValue(f: FeatureScaling, z: number): number {
  return invertTransform(f.transform, z * f.scale + f.center);
}
