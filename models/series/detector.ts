/**
 * A streaming anomaly detector for one univariate series: contextual novelty with a learnt base rate.
 *
 * Each value is quantised into coarse buckets whose width is fixed from the first rows (the warm-up range divided
 * into `buckets`; a series that starts flat takes its scale from its first move). Three counts say how familiar
 * the current row is:
 *   - the value's bucket (a level never seen before: level shifts, spikes beyond the usual range),
 *   - the transition from the previous bucket (a new shape: oscillation starting, plateau at an odd height),
 *   - the bucket at this time of day (a daily pattern broken: a jump that does not happen, a holiday).
 * The value count includes the two neighbouring buckets, so a value just across a bucket edge is not new.
 * Raw novelty is the weighted mean of 1 / (1 + count) over the three. Its short-term average is compared with its
 * long-term mean and spread (a Gaussian tail, as in Numenta's anomaly likelihood), so a file where new contexts keep
 * turning up raises its own bar. After a score at or above `restLevel` the detector rests for `rest` rows (scores 0):
 * NAB, like an on-call engineer, wants one early alert per incident and penalises the repeats.
 *
 * Pure and streaming: `update` uses only the rows given so far and takes time as an argument.
 * Hyper-parameters were chosen on a fixed half of the NAB files (split.ts) and checked on the other half.
 */

export interface SeriesDetectorOptions {
  /** Rows used to fix the bucket width and learn first counts; they score 0. */
  warmupRows: number;
  /** Buckets across the warm-up value range. */
  buckets: number;
  /** Share of the neighbouring buckets' counts added to a value's own (values just across a bucket edge are not new). */
  neighbourWeight: number;
  /** Weights of the three novelty counts. */
  valueWeight: number;
  transitionWeight: number;
  timeOfDayWeight: number;
  /** Time-of-day slots per day. */
  slotsPerDay: number;
  /** Smoothing of raw novelty (EWMA weight of the newest row). */
  shortAlpha: number;
  /** Learning rate of the long-term mean and variance of raw novelty (time constant 1 / alpha rows). */
  longAlpha: number;
  /** Added to the long-term standard deviation, so a series that has never been novel is not infinitely surprised. */
  minStd: number;
  /** Rows scored 0 after the warm-up while the base rate settles. */
  settleRows: number;
  /** A score at or above this starts a rest period of `rest` rows. */
  restLevel: number;
  rest: number;
  /** Most distinct contexts kept per table; beyond it the least-seen are forgotten (bounded memory). */
  maxContexts: number;
}

export const DEFAULT_SERIES_DETECTOR: Readonly<SeriesDetectorOptions> = {
  warmupRows: 150,
  buckets: 7,
  neighbourWeight: 1,
  valueWeight: 1,
  transitionWeight: 1,
  timeOfDayWeight: 1,
  slotsPerDay: 24,
  shortAlpha: 0.3,
  longAlpha: 0.0005,
  minStd: 0.02,
  settleRows: 50,
  restLevel: 0.99,
  rest: 100,
  maxContexts: 200_000,
};

const DAY_MS = 86_400_000;
/** Bucket indexes are clamped to +-2^19 so two of them pack exactly into one number key. */
const BUCKET_OFFSET = 1 << 19;
const KEY_BASE = 1 << 20;

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Everything a SeriesDetector has learnt, as plain JSON (count tables as flat [key, count, key, count...] lists). */
export interface SeriesDetectorState {
  warming: boolean;
  settleLeft: number;
  constantValue: number;
  constantRows: number;
  constantSlots: number[];
  warmValues: number[];
  warmTimes: number[];
  origin: number;
  width: number;
  valueCounts: number[];
  transitionCounts: number[];
  timeOfDayCounts: number[];
  previousBucket: number;
  shortNovelty: number;
  longMean: number;
  longVariance: number;
  restLeft: number;
}

const flatten = (counts: Map<number, number>): number[] => {
  const out: number[] = [];
  for (const [k, c] of counts) out.push(k, c);
  return out;
};
const unflatten = (flat: readonly number[], into: Map<number, number>): void => {
  for (let i = 0; i + 1 < flat.length; i += 2) into.set(flat[i], flat[i + 1]);
};

export class SeriesDetector {
  private readonly o: SeriesDetectorOptions;
  private warming = true;
  private settleLeft = 0;
  private constantValue = 0;
  private constantRows = 0;
  private readonly constantSlots: Float64Array;
  private readonly warmValues: number[] = [];
  private readonly warmTimes: number[] = [];
  private origin = 0;
  private width = 1;
  private readonly valueCounts = new Map<number, number>();
  private readonly transitionCounts = new Map<number, number>();
  private readonly timeOfDayCounts = new Map<number, number>();
  private previousBucket = 0;
  private shortNovelty = 0;
  private longMean = 0;
  private longVariance = 0;
  private restLeft = 0;
  private readonly slotMs: number;
  private readonly weightSum: number;

  constructor(options: Partial<SeriesDetectorOptions> = {}) {
    this.o = { ...DEFAULT_SERIES_DETECTOR, ...options };
    if (this.o.warmupRows < 2) throw new RangeError('warmupRows must be at least 2');
    if (this.o.buckets <= 0) throw new RangeError('buckets must be positive');
    this.slotMs = DAY_MS / this.o.slotsPerDay;
    this.constantSlots = new Float64Array(Math.ceil(this.o.slotsPerDay));
    this.weightSum = this.o.valueWeight + this.o.transitionWeight + this.o.timeOfDayWeight;
    if (!(this.weightSum > 0)) throw new RangeError('the novelty weights must add up to more than 0');
  }

  /** What it has learnt, to persist; `SeriesDetector.fromState` with the same options continues exactly where it was. */
  toState(): SeriesDetectorState {
    return {
      warming: this.warming, settleLeft: this.settleLeft, constantValue: this.constantValue, constantRows: this.constantRows,
      constantSlots: Array.from(this.constantSlots), warmValues: [...this.warmValues], warmTimes: [...this.warmTimes],
      origin: this.origin, width: this.width,
      valueCounts: flatten(this.valueCounts), transitionCounts: flatten(this.transitionCounts), timeOfDayCounts: flatten(this.timeOfDayCounts),
      previousBucket: this.previousBucket, shortNovelty: this.shortNovelty, longMean: this.longMean, longVariance: this.longVariance, restLeft: this.restLeft,
    };
  }

  static fromState(state: SeriesDetectorState, options: Partial<SeriesDetectorOptions> = {}): SeriesDetector {
    const d = new SeriesDetector(options);
    d.warming = state.warming;
    d.settleLeft = state.settleLeft;
    d.constantValue = state.constantValue;
    d.constantRows = state.constantRows;
    d.constantSlots.set(state.constantSlots.slice(0, d.constantSlots.length));
    d.warmValues.push(...state.warmValues);
    d.warmTimes.push(...state.warmTimes);
    d.origin = state.origin;
    d.width = state.width;
    unflatten(state.valueCounts, d.valueCounts);
    unflatten(state.transitionCounts, d.transitionCounts);
    unflatten(state.timeOfDayCounts, d.timeOfDayCounts);
    d.previousBucket = state.previousBucket;
    d.shortNovelty = state.shortNovelty;
    d.longMean = state.longMean;
    d.longVariance = state.longVariance;
    d.restLeft = state.restLeft;
    return d;
  }

  /** Score one row (anomaly score in [0, 1]); rows must come in stream order. Non-finite values score 0, unlearnt. */
  update(timestampMs: number, value: number): number {
    if (!Number.isFinite(value)) return 0;
    if (this.warming && !this.warmUp(timestampMs, value)) return 0;

    const bucket = this.bucketOf(value);
    const transitionKey = (this.previousBucket + BUCKET_OFFSET) * KEY_BASE + (bucket + BUCKET_OFFSET);
    const timeKey = this.slotOf(timestampMs) * KEY_BASE + (bucket + BUCKET_OFFSET);
    const raw =
      (this.o.valueWeight / (1 + this.valueCount(bucket)) +
        this.o.transitionWeight / (1 + (this.transitionCounts.get(transitionKey) ?? 0)) +
        this.o.timeOfDayWeight / (1 + (this.timeOfDayCounts.get(timeKey) ?? 0))) /
      this.weightSum;
    this.learn(bucket, transitionKey, timeKey);

    this.shortNovelty += this.o.shortAlpha * (raw - this.shortNovelty);
    const z = (this.shortNovelty - this.longMean) / (Math.sqrt(this.longVariance) + this.o.minStd);
    // The base rate starts at 0 and is learnt slowly, so early novelty is judged on its absolute scale.
    const d = raw - this.longMean;
    this.longMean += this.o.longAlpha * d;
    this.longVariance = (1 - this.o.longAlpha) * (this.longVariance + this.o.longAlpha * d * d);

    if (this.settleLeft > 0) {
      this.settleLeft--;
      return 0;
    }
    if (this.restLeft > 0) {
      this.restLeft--;
      return 0;
    }
    const score = normalCdf(z);
    if (score >= this.o.restLevel) this.restLeft = this.o.rest;
    return score;
  }

  /**
   * Warm-up: buffer `warmupRows` rows, then fix the bucket width from their range. A series constant so far keeps
   * warming up (it has no scale yet) until a different value arrives; that row ends the warm-up, sets the scale from
   * the jump, and is scored at once (returns true), since the end of a flat line is news.
   */
  private warmUp(timestampMs: number, value: number): boolean {
    if (this.constantRows === 0) {
      this.warmValues.push(value);
      this.warmTimes.push(timestampMs);
      if (this.warmValues.length < this.o.warmupRows) return false;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of this.warmValues) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) {
        this.startBuckets(lo, (hi - lo) / this.o.buckets);
        this.previousBucket = this.bucketOf(this.warmValues[0]);
        for (let i = 0; i < this.warmValues.length; i++) {
          const b = this.bucketOf(this.warmValues[i]);
          this.learn(b, (this.previousBucket + BUCKET_OFFSET) * KEY_BASE + (b + BUCKET_OFFSET), this.slotOf(this.warmTimes[i]) * KEY_BASE + (b + BUCKET_OFFSET));
        }
        this.warmValues.length = 0;
        this.warmTimes.length = 0;
        this.settleLeft = this.o.settleRows;
        return false;
      }
      // Constant so far: keep only how many rows fell in each time-of-day slot.
      this.constantValue = lo;
      for (const t of this.warmTimes) this.constantSlots[this.slotOf(t)]++;
      this.constantRows = this.warmValues.length;
      this.warmValues.length = 0;
      this.warmTimes.length = 0;
      return false;
    }
    if (value === this.constantValue) {
      this.constantRows++;
      this.constantSlots[this.slotOf(timestampMs)]++;
      return false;
    }
    this.startBuckets(this.constantValue, Math.abs(value - this.constantValue) / this.o.buckets);
    const b = this.bucketOf(this.constantValue);
    this.valueCounts.set(b, this.constantRows);
    this.transitionCounts.set((b + BUCKET_OFFSET) * KEY_BASE + (b + BUCKET_OFFSET), this.constantRows - 1);
    this.constantSlots.forEach((count, slot) => {
      if (count > 0) this.timeOfDayCounts.set(slot * KEY_BASE + (b + BUCKET_OFFSET), count);
    });
    this.previousBucket = b;
    return true;
  }

  private startBuckets(origin: number, width: number): void {
    this.origin = origin;
    this.width = width;
    this.warming = false;
  }

  private valueCount(bucket: number): number {
    const own = this.valueCounts.get(bucket) ?? 0;
    if (this.o.neighbourWeight === 0) return own;
    return own + this.o.neighbourWeight * ((this.valueCounts.get(bucket - 1) ?? 0) + (this.valueCounts.get(bucket + 1) ?? 0));
  }

  private bucketOf(value: number): number {
    const b = Math.floor((value - this.origin) / this.width);
    return b < -BUCKET_OFFSET + 1 ? -BUCKET_OFFSET + 1 : b > BUCKET_OFFSET - 1 ? BUCKET_OFFSET - 1 : b;
  }

  private slotOf(timestampMs: number): number {
    const ms = ((timestampMs % DAY_MS) + DAY_MS) % DAY_MS;
    return Math.floor(ms / this.slotMs);
  }

  private learn(bucket: number, transitionKey: number, timeKey: number): void {
    increment(this.valueCounts, bucket, this.o.maxContexts);
    increment(this.transitionCounts, transitionKey, this.o.maxContexts);
    increment(this.timeOfDayCounts, timeKey, this.o.maxContexts);
    this.previousBucket = bucket;
  }
}

function increment(counts: Map<number, number>, key: number, maxContexts: number): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
  if (counts.size <= maxContexts) return;
  // Rare path: forget the least-seen contexts until a quarter of the room is free again.
  for (let limit = 1; counts.size > maxContexts * 0.75; limit *= 2) {
    for (const [k, c] of counts) if (c <= limit) counts.delete(k);
  }
}
