/**
 * A robust streaming baseline of one quantity of one entity (failed logins per window, p95 latency, bytes...), and
 * the rule every "far above this entity's typical value" detector uses. Plain JSON, so it lives in a KeyedStore.
 *
 * Learning: the first `warmupWindows` values give a plain mean and mean absolute deviation; after that an EWMA of
 * the value and of its absolute deviation, with each new value first clipped to `clip` spreads around the centre
 * (winsorised), so one burst of normal traffic moves the baseline a little, not a lot. A detector learns only the
 * windows it did not flag, so an attack is never absorbed as normal.
 *
 * Judging: a value is far above the baseline when it reaches the *required level*, the largest of
 *   centre × ratio (multiplicative: 5× the usual rate), centre + z × spread (statistical: beyond the entity's own
 *   noise), centre + minDelta (absolute: a few more bytes than usual is nothing), and minimum (evidence floor).
 * Evidence = value / required level: ≥ 1 fires; 2 means twice what would have fired.
 */
import { z } from 'zod';

export interface Baseline {
  /** Windows learnt. */
  n: number;
  center: number;
  /** Mean absolute deviation around the centre. */
  spread: number;
}

export interface BaselineLearning {
  /** Windows learnt before the baseline is trusted. */
  warmupWindows: number;
  /** Weight of a new window once warm (time constant 1 / alpha windows). */
  alpha: number;
  /** New values are clipped to centre ± clip × spread before they are learnt. */
  clip: number;
}

/** The config section of a baseline's learning, with a detector's own defaults. */
export function baselineLearningConfig(defaults: BaselineLearning) {
  return z.strictObject({
    warmupWindows: z.number().int().min(1).default(defaults.warmupWindows),
    alpha: z.number().gt(0).max(1).default(defaults.alpha),
    clip: z.number().gt(0).default(defaults.clip),
  }).prefault({});
}

export interface FarAbove {
  /** At least this many times the typical value. */
  ratio: number;
  /** At least this many spreads (mean absolute deviations) above the typical value. */
  z: number;
  /** At least this much above the typical value, in the feature's unit. */
  minDelta: number;
  /** Never below this level, in the feature's unit (the evidence floor: a handful of events is not an attack). */
  minimum: number;
}

/** The config section of a "far above" rule, with a detector's own defaults. */
export function farAboveConfig(defaults: FarAbove) {
  return z.strictObject({
    ratio: z.number().min(1).default(defaults.ratio),
    z: z.number().min(0).default(defaults.z),
    minDelta: z.number().min(0).default(defaults.minDelta),
    minimum: z.number().min(0).default(defaults.minimum),
  }).prefault({});
}

export function newBaseline(): Baseline {
  return { n: 0, center: 0, spread: 0 };
}

export function isWarm(b: Baseline | undefined, learning: BaselineLearning): boolean {
  return b !== undefined && b.n >= learning.warmupWindows;
}

/** The spread used for judging and clipping: never so small that a constant series makes every wiggle infinite. */
export function effectiveSpread(b: Baseline): number {
  return Math.max(b.spread, 0.05 * Math.abs(b.center), 1e-9);
}

export function learn(b: Baseline, value: number, learning: BaselineLearning): void {
  if (!Number.isFinite(value)) return;
  if (b.n < learning.warmupWindows) {
    // Warm-up: running mean, and mean absolute deviation from the running mean.
    b.n++;
    if (b.n === 1) {
      b.center = value;
      return;
    }
    const previous = b.center;
    b.center += (value - b.center) / b.n;
    b.spread += (Math.abs(value - previous) - b.spread) / (b.n - 1);
    return;
  }
  const s = learning.clip * effectiveSpread(b);
  const clipped = Math.min(b.center + s, Math.max(b.center - s, value));
  b.n++;
  b.center += learning.alpha * (clipped - b.center);
  b.spread += learning.alpha * (Math.abs(clipped - b.center) - b.spread);
}

/** The smallest value that counts as far above this baseline (see the file comment). */
export function requiredLevel(b: Baseline, rule: FarAbove): number {
  const center = Math.max(0, b.center);
  return Math.max(center * rule.ratio, center + rule.z * effectiveSpread(b), center + rule.minDelta, rule.minimum, 1e-9);
}

/** value / required level (≥ 1: far above). */
export function evidence(b: Baseline, value: number, rule: FarAbove): number {
  return value / requiredLevel(b, rule);
}

/** Floors are stated per 10 s of window: a rule for a window of another length, floors scaled to it. */
export function forWindow(rule: FarAbove, windowSeconds: number): FarAbove {
  const k = windowSeconds / 10;
  return { ...rule, minDelta: rule.minDelta * k, minimum: rule.minimum * k };
}

/** The same rule with only its absolute floors: for an entity too new to have a baseline. */
export function floorsOnly(rule: FarAbove): FarAbove {
  return { ratio: 1, z: 0, minDelta: 0, minimum: Math.max(rule.minimum, rule.minDelta) };
}
