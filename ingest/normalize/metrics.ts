/**
 * Metric data points → MetricPointEvent, turning cumulative sums, histograms and summaries into
 * deltas. `CumulativeToDelta` is a small pure state machine keyed by series (resource, scope, metric,
 * attributes): it remembers the last cumulative point of each series, bounded by `maxSeries`
 * (least recently updated series forgotten first), and never looks at a clock.
 */
import type { MetricPointEvent, MetricType } from '../../core/events.ts';
import type { Attributes } from './span.ts';

export const TEMPORALITY_UNSPECIFIED = 0;
export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;
/** DataPointFlags.NO_RECORDED_VALUE: the series has no value at this time (e.g. its target went away). */
export const FLAG_NO_RECORDED_VALUE = 1;

export interface ExpBuckets {
  offset: number;
  counts: number[];
}

/** A data point as decoded, before delta conversion. Times are ms since the epoch (0 = unset). */
export interface RawMetricPoint {
  service: string;
  resource: Attributes;
  /** Stable identity of the resource and scope, computed once per ResourceMetrics/ScopeMetrics. */
  seriesPrefix: string;
  name: string;
  unit: string;
  metricType: MetricType;
  temporality: number;
  monotonic: boolean;
  attributes: Attributes;
  startTimeMs: number;
  timeMs: number;
  flags: number;
  value: number;
  count: number;
  sum?: number;
  min?: number;
  max?: number;
  bucketBounds?: number[];
  bucketCounts?: number[];
  scale?: number;
  zeroCount?: number;
  positive?: ExpBuckets;
  negative?: ExpBuckets;
  quantiles?: Array<{ quantile: number; value: number }>;
}

export function emptyRawPoint(): RawMetricPoint {
  return {
    service: '', resource: {}, seriesPrefix: '', name: '', unit: '', metricType: 'gauge', temporality: 0, monotonic: false,
    attributes: {}, startTimeMs: 0, timeMs: 0, flags: 0, value: 0, count: 0,
  };
}

/** Sorted-key JSON: the same attribute set in any order gives the same series key. */
export function stableKey(attrs: Attributes): string {
  const keys = Object.keys(attrs).sort();
  let out = '';
  for (const k of keys) out += `${JSON.stringify(k)}=${JSON.stringify(attrs[k])};`;
  return out;
}

export interface CumulativeToDeltaOptions {
  /**
   * The first cumulative point of a series covers everything since its start time, which may be
   * days. 'drop' (default) only remembers it, like the collector's cumulativetodelta processor;
   * 'emit' passes it on as the delta since its start time.
   */
  firstPoint?: 'drop' | 'emit';
  maxSeries?: number;
}

interface SeriesState {
  startTimeMs: number;
  timeMs: number;
  value: number;
  count: number;
  sum: number;
  bucketBounds?: number[];
  bucketCounts?: number[];
  scale?: number;
  zeroCount?: number;
  positive?: ExpBuckets;
  negative?: ExpBuckets;
}

export interface CumulativeToDeltaStats {
  series: number;
  resets: number;
  dropped: number;
  evicted: number;
}

export class CumulativeToDelta {
  private readonly state = new Map<string, SeriesState>();
  private readonly firstPoint: 'drop' | 'emit';
  private readonly maxSeries: number;
  readonly stats: CumulativeToDeltaStats = { series: 0, resets: 0, dropped: 0, evicted: 0 };

  constructor(options: CumulativeToDeltaOptions = {}) {
    this.firstPoint = options.firstPoint ?? 'drop';
    this.maxSeries = options.maxSeries ?? 100_000;
  }

  /** The event for a point, or undefined when the point only updates state (first, stale or out of order). */
  accept(p: RawMetricPoint): MetricPointEvent | undefined {
    const cumulative = p.temporality === TEMPORALITY_CUMULATIVE || p.metricType === 'summary';
    const convertible = cumulative && p.metricType !== 'gauge';
    if (!convertible) {
      if (p.flags & FLAG_NO_RECORDED_VALUE) {
        this.stats.dropped++;
        return undefined;
      }
      return toEvent(p, p.startTimeMs, p.value, p.count, p.sum);
    }
    const key = `${p.seriesPrefix}\u0000${p.name}\u0000${p.unit}\u0000${p.metricType}\u0000${stableKey(p.attributes)}`;
    const prev = this.state.get(key);
    if (p.flags & FLAG_NO_RECORDED_VALUE) {
      if (prev) this.state.delete(key);
      this.stats.dropped++;
      return undefined;
    }
    if (prev && p.timeMs <= prev.timeMs && p.startTimeMs === prev.startTimeMs) {
      this.stats.dropped++; // duplicate or out of order: the interval was already counted
      return undefined;
    }
    const current = snapshot(p);
    this.remember(key, current);
    if (!prev) {
      this.stats.series = this.state.size;
      if (this.firstPoint === 'emit') return toEvent(p, p.startTimeMs, p.value, p.count, p.sum);
      this.stats.dropped++;
      return undefined;
    }
    if (isReset(p, prev)) {
      this.stats.resets++;
      // After a restart the cumulative value is what happened since the new start.
      return toEvent(p, p.startTimeMs || prev.timeMs, p.value, p.count, p.sum);
    }
    const event = toEvent(p, prev.timeMs, p.value - prev.value, p.count - prev.count, p.sum === undefined ? undefined : p.sum - prev.sum);
    // Cumulative min/max cover the whole lifetime, not this interval.
    event.min = undefined;
    event.max = undefined;
    if (p.bucketCounts && prev.bucketCounts) event.bucketCounts = p.bucketCounts.map((c, i) => c - prev.bucketCounts![i]);
    if (p.metricType === 'exponential_histogram') {
      const scale = Math.min(p.scale ?? 0, prev.scale ?? 0);
      event.scale = scale;
      event.zeroCount = (p.zeroCount ?? 0) - (prev.zeroCount ?? 0);
      const pos = subtractBuckets(p.positive, p.scale ?? 0, prev.positive, prev.scale ?? 0, scale);
      const neg = subtractBuckets(p.negative, p.scale ?? 0, prev.negative, prev.scale ?? 0, scale);
      event.positiveOffset = pos.offset;
      event.positiveCounts = pos.counts;
      event.negativeOffset = neg.offset;
      event.negativeCounts = neg.counts;
    }
    return event;
  }

  private remember(key: string, s: SeriesState): void {
    this.state.delete(key); // re-insert: Map order is then least recently updated first
    this.state.set(key, s);
    while (this.state.size > this.maxSeries) {
      const oldest = this.state.keys().next().value as string;
      this.state.delete(oldest);
      this.stats.evicted++;
    }
    this.stats.series = this.state.size;
  }
}

function snapshot(p: RawMetricPoint): SeriesState {
  return {
    startTimeMs: p.startTimeMs, timeMs: p.timeMs, value: p.value, count: p.count, sum: p.sum ?? 0,
    bucketBounds: p.bucketBounds, bucketCounts: p.bucketCounts, scale: p.scale, zeroCount: p.zeroCount,
    positive: p.positive, negative: p.negative,
  };
}

function isReset(p: RawMetricPoint, prev: SeriesState): boolean {
  if (p.startTimeMs !== prev.startTimeMs && p.startTimeMs !== 0) return true;
  if (p.metricType === 'sum') return p.monotonic && p.value < prev.value;
  if (p.count < prev.count) return true;
  if (p.metricType === 'histogram') {
    const bounds = p.bucketBounds ?? [];
    const prevBounds = prev.bucketBounds ?? [];
    if (bounds.length !== prevBounds.length || bounds.some((b, i) => b !== prevBounds[i])) return true;
    const counts = p.bucketCounts ?? [];
    const prevCounts = prev.bucketCounts ?? [];
    if (counts.length !== prevCounts.length || counts.some((c, i) => c < prevCounts[i])) return true;
  }
  if (p.metricType === 'exponential_histogram') {
    if ((p.zeroCount ?? 0) < (prev.zeroCount ?? 0)) return true;
    const scale = Math.min(p.scale ?? 0, prev.scale ?? 0);
    for (const side of ['positive', 'negative'] as const) {
      const d = subtractBuckets(p[side], p.scale ?? 0, prev[side], prev.scale ?? 0, scale);
      if (d.counts.some((c) => c < 0)) return true;
    }
  }
  return false;
}

/** Exponential-histogram buckets re-indexed to a coarser scale (each step down merges pairs of buckets). */
function downscale(b: ExpBuckets | undefined, from: number, to: number): Map<number, number> {
  const out = new Map<number, number>();
  if (!b) return out;
  const shift = from - to;
  b.counts.forEach((c, i) => {
    if (c === 0) return;
    const index = Math.floor((b.offset + i) / 2 ** shift);
    out.set(index, (out.get(index) ?? 0) + c);
  });
  return out;
}

function subtractBuckets(cur: ExpBuckets | undefined, curScale: number, prev: ExpBuckets | undefined, prevScale: number, scale: number): ExpBuckets {
  const a = downscale(cur, curScale, scale);
  const b = downscale(prev, prevScale, scale);
  for (const [index, c] of b) a.set(index, (a.get(index) ?? 0) - c);
  if (a.size === 0) return { offset: 0, counts: [] };
  const indexes = [...a.keys()];
  const lo = Math.min(...indexes);
  const hi = Math.max(...indexes);
  const counts = new Array<number>(hi - lo + 1).fill(0);
  for (const [index, c] of a) counts[index - lo] = c;
  // Trim zero buckets at both ends so equal inputs give equal outputs.
  let start = 0;
  let end = counts.length;
  while (start < end && counts[start] === 0) start++;
  while (end > start && counts[end - 1] === 0) end--;
  return start === end ? { offset: 0, counts: [] } : { offset: lo + start, counts: counts.slice(start, end) };
}

function toEvent(p: RawMetricPoint, startTimeMs: number, value: number, count: number, sum: number | undefined): MetricPointEvent {
  const histogramLike = p.metricType !== 'gauge' && p.metricType !== 'sum';
  const event: MetricPointEvent = {
    kind: 'metric',
    timeMs: p.timeMs,
    service: p.service,
    name: p.name,
    unit: p.unit === '' ? undefined : p.unit,
    value: histogramLike ? count : value,
    attributes: p.attributes,
    metricType: p.metricType,
    startTimeMs: startTimeMs === 0 ? undefined : startTimeMs,
    monotonic: p.metricType === 'sum' ? p.monotonic : undefined,
    count: histogramLike ? count : undefined,
    sum: histogramLike ? sum : undefined,
    min: p.min,
    max: p.max,
    bucketBounds: p.bucketBounds,
    bucketCounts: p.bucketCounts,
    scale: p.scale,
    zeroCount: p.zeroCount,
    positiveOffset: p.positive?.offset,
    positiveCounts: p.positive?.counts,
    negativeOffset: p.negative?.offset,
    negativeCounts: p.negative?.counts,
    quantiles: p.quantiles,
    resource: p.resource,
  };
  return event;
}
