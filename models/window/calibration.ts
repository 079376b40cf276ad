/**
 * Maps a raw reconstruction error onto a 0-100 score with the empirical distribution of errors on held-out normal
 * data: score = 99 * F(error), so the median normal window scores about 50 and the largest error seen scores 99;
 * errors beyond anything seen score between 99 and 100 (99 + 1 - max/error). Pure.
 */
import { quantileSorted } from './scaling.ts';

export interface Calibration {
  /** Errors at probabilities 0, 1/(n-1), ..., 1 of the held-out error distribution (ascending). */
  quantiles: number[];
  /** How many held-out errors it was fitted on. */
  rows: number;
}

export const CALIBRATION_POINTS = 1001;

export function fitCalibration(errors: ArrayLike<number>, points = CALIBRATION_POINTS): Calibration {
  const sorted = Float64Array.from(errors).filter(Number.isFinite).sort();
  if (sorted.length === 0) throw new Error('calibration needs at least one finite error');
  const quantiles: number[] = [];
  for (let i = 0; i < points; i++) quantiles.push(quantileSorted(sorted, i / (points - 1)));
  // Strictly increasing grid (ties would make the inverse ambiguous).
  for (let i = 1; i < quantiles.length; i++) if (quantiles[i] <= quantiles[i - 1]) quantiles[i] = quantiles[i - 1] * (1 + 1e-12) + 1e-15;
  return { quantiles, rows: sorted.length };
}

export function calibratedScore(calibration: Calibration, error: number): number {
  const q = calibration.quantiles;
  const last = q.length - 1;
  if (!(error > q[0])) return Number.isNaN(error) ? 100 : 0;
  if (error >= q[last]) return 99 + (1 - q[last] / error);
  let lo = 0, hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (q[mid] <= error) lo = mid; else hi = mid;
  }
  const fraction = (lo + (error - q[lo]) / (q[hi] - q[lo])) / last;
  return 99 * fraction;
}
