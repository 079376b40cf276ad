import { describe, expect, it } from 'vitest';
import { CumulativeToDelta, emptyRawPoint, FLAG_NO_RECORDED_VALUE, TEMPORALITY_CUMULATIVE, TEMPORALITY_DELTA, type RawMetricPoint } from './metrics.ts';

const point = (over: Partial<RawMetricPoint>): RawMetricPoint => ({
  ...emptyRawPoint(), service: 'svc', seriesPrefix: 'r', name: 'requests', metricType: 'sum', temporality: TEMPORALITY_CUMULATIVE,
  monotonic: true, startTimeMs: 1000, attributes: { route: '/a' }, ...over,
});

describe('CumulativeToDelta', () => {
  it('drops the first cumulative point by default, then emits differences', () => {
    const c = new CumulativeToDelta();
    expect(c.accept(point({ timeMs: 2000, value: 10 }))).toBeUndefined();
    expect(c.accept(point({ timeMs: 3000, value: 15 }))).toMatchObject({ value: 5, startTimeMs: 2000, timeMs: 3000, monotonic: true });
    expect(c.accept(point({ timeMs: 4000, value: 15 }))).toMatchObject({ value: 0, startTimeMs: 3000 });
    expect(c.stats).toMatchObject({ series: 1, dropped: 1, resets: 0 });
  });

  it("emits the first point as the delta since its start with firstPoint: 'emit'", () => {
    const c = new CumulativeToDelta({ firstPoint: 'emit' });
    expect(c.accept(point({ timeMs: 2000, value: 10 }))).toMatchObject({ value: 10, startTimeMs: 1000 });
  });

  it('treats a new start time or a drop in a monotonic counter as a reset', () => {
    const c = new CumulativeToDelta();
    c.accept(point({ timeMs: 2000, value: 100 }));
    expect(c.accept(point({ timeMs: 3000, value: 4 }))).toMatchObject({ value: 4, startTimeMs: 1000 });
    expect(c.accept(point({ startTimeMs: 3500, timeMs: 4000, value: 7 }))).toMatchObject({ value: 7, startTimeMs: 3500 });
    expect(c.stats.resets).toBe(2);
  });

  it('lets non-monotonic sums go down', () => {
    const c = new CumulativeToDelta();
    c.accept(point({ monotonic: false, timeMs: 2000, value: 10 }));
    expect(c.accept(point({ monotonic: false, timeMs: 3000, value: 6 }))).toMatchObject({ value: -4, monotonic: false });
  });

  it('keeps series apart by attributes in any order, and drops duplicates and out-of-order points', () => {
    const c = new CumulativeToDelta();
    c.accept(point({ timeMs: 2000, value: 1, attributes: { a: 1, b: 2 } }));
    c.accept(point({ timeMs: 2000, value: 50, attributes: { a: 9 } }));
    expect(c.accept(point({ timeMs: 3000, value: 3, attributes: { b: 2, a: 1 } }))).toMatchObject({ value: 2 });
    expect(c.accept(point({ timeMs: 3000, value: 3, attributes: { a: 1, b: 2 } }))).toBeUndefined();
    expect(c.accept(point({ timeMs: 2500, value: 2, attributes: { a: 1, b: 2 } }))).toBeUndefined();
  });

  it('turns cumulative histograms into per-bucket deltas and resets when the bounds change', () => {
    const c = new CumulativeToDelta();
    const h = (timeMs: number, counts: number[], bounds = [1, 10]) =>
      point({ metricType: 'histogram', timeMs, count: counts.reduce((a, b) => a + b, 0), sum: timeMs / 100, bucketBounds: bounds, bucketCounts: counts, min: 0.1, max: 50 });
    c.accept(h(2000, [1, 2, 3]));
    const d = c.accept(h(3000, [2, 2, 5]));
    expect(d).toMatchObject({ metricType: 'histogram', value: 3, count: 3, sum: 10, bucketCounts: [1, 0, 2], bucketBounds: [1, 10] });
    expect(d?.min).toBeUndefined(); // lifetime min/max say nothing about the interval
    expect(c.accept(h(4000, [1, 1, 1, 1], [1, 5, 10]))).toMatchObject({ count: 4, bucketCounts: [1, 1, 1, 1] });
  });

  it('subtracts exponential histograms across a scale change', () => {
    const c = new CumulativeToDelta();
    const e = (timeMs: number, scale: number, offset: number, counts: number[]) =>
      point({ metricType: 'exponential_histogram', timeMs, scale, zeroCount: 1, count: 1 + counts.reduce((a, b) => a + b, 0), positive: { offset, counts }, negative: { offset: 0, counts: [] } });
    c.accept(e(2000, 1, 0, [1, 1, 1, 1])); // scale 1 buckets 0..3 → scale 0 buckets 0,1 with 2 each
    const d = c.accept(e(3000, 0, 0, [3, 4]));
    expect(d).toMatchObject({ scale: 0, positiveOffset: 0, positiveCounts: [1, 2], zeroCount: 0, count: 3 });
  });

  it('turns summary count and sum into deltas and passes quantiles through', () => {
    const c = new CumulativeToDelta();
    const s = (timeMs: number, count: number, sum: number) => point({ metricType: 'summary', temporality: 0, timeMs, count, sum, quantiles: [{ quantile: 0.5, value: 3 }] });
    c.accept(s(2000, 10, 100));
    expect(c.accept(s(3000, 15, 160))).toMatchObject({ value: 5, count: 5, sum: 60, quantiles: [{ quantile: 0.5, value: 3 }] });
  });

  it('passes gauges and delta sums through, and forgets a series marked as having no value', () => {
    const c = new CumulativeToDelta();
    expect(c.accept(point({ metricType: 'gauge', temporality: 0, timeMs: 5, value: 3 }))).toMatchObject({ value: 3, metricType: 'gauge' });
    expect(c.accept(point({ temporality: TEMPORALITY_DELTA, timeMs: 5, value: 2 }))).toMatchObject({ value: 2 });
    c.accept(point({ timeMs: 2000, value: 10 }));
    expect(c.accept(point({ timeMs: 3000, value: 0, flags: FLAG_NO_RECORDED_VALUE }))).toBeUndefined();
    expect(c.accept(point({ timeMs: 4000, value: 12 }))).toBeUndefined(); // a fresh start, not 12 - 10
  });

  it('keeps at most maxSeries series, forgetting the least recently updated', () => {
    const c = new CumulativeToDelta({ maxSeries: 2 });
    for (const route of ['/a', '/b', '/c']) c.accept(point({ timeMs: 2000, value: 1, attributes: { route } }));
    expect(c.stats).toMatchObject({ series: 2, evicted: 1 });
    expect(c.accept(point({ timeMs: 3000, value: 5, attributes: { route: '/a' } }))).toBeUndefined(); // /a was forgotten
    expect(c.accept(point({ timeMs: 3000, value: 5, attributes: { route: '/c' } }))).toMatchObject({ value: 4 });
  });
});
