import { describe, expect, it } from 'vitest';
import type { RequestEvent } from '../../core/events.ts';
import { feature } from '../../schemas/feature-vector.ts';
import { OperationWindows } from './window.ts';

function span(timeMs: number, overrides: Partial<RequestEvent> = {}): RequestEvent {
  return {
    kind: 'request', timeMs, durationMs: 10, service: 'catalog', operation: 'GetProduct', spanKind: 'server', protocol: 'grpc',
    traceId: `t${timeMs}`, spanId: `s${timeMs}`, parentSpanId: 'p', error: false, attributes: {}, resource: {}, ...overrides,
  };
}

describe('OperationWindows', () => {
  const settings = { windowMs: 10_000, allowedLatenessMs: 2_000 };

  it('counts requests, errors and latency per 10 s event-time window', () => {
    const w = new OperationWindows(settings);
    for (let i = 0; i < 20; i++) w.record(span(1_000 + i * 100, { durationMs: i + 1, error: i % 4 === 0 }));
    w.record(span(12_000));
    expect(w.advanceWatermark(11_999)).toEqual([]);
    const [v, ...rest] = w.advanceWatermark(12_000);
    expect(rest).toEqual([]);
    expect(v!.entityId).toBe('operation:catalog:GetProduct');
    expect([v!.windowStartMs, v!.windowEndMs]).toEqual([0, 10_000]);
    expect(feature(v!, 'request_count')).toBe(20);
    expect(feature(v!, 'error_count')).toBe(5);
    expect(feature(v!, 'error_ratio')).toBeCloseTo(0.25);
    expect(feature(v!, 'latency_max_ms')).toBe(20);
    expect(feature(v!, 'latency_p95_ms')).toBeGreaterThanOrEqual(18.5);
    expect(feature(v!, 'latency_p95_ms')).toBeLessThanOrEqual(19.5);
    expect(v!.exemplars.filter((e) => e.reason === 'error').map((e) => e.traceId)).toEqual(['t1000', 't1400', 't1800']);
    expect(v!.exemplars.find((e) => e.reason === 'slowest')!.traceId).toBe('t2900');
    expect(w.openCount).toBe(1);
  });

  it('ignores client spans and counts data behind the watermark as late', () => {
    const w = new OperationWindows(settings);
    expect(w.record(span(100, { spanKind: 'client' }))).toBe('ignored');
    expect(w.record(span(100, { spanKind: 'client', parentSpanId: undefined }))).toBe('accepted');
    w.advanceWatermark(30_000);
    expect(w.record(span(15_000))).toBe('late');
    expect(w.record(span(29_000))).toBe('accepted');
  });

  it('keeps the lowest offset of open windows per partition, for committing', () => {
    const w = new OperationWindows(settings);
    w.record(span(1_000), { partition: 0, offset: 5n });
    w.record(span(11_000), { partition: 0, offset: 7n });
    w.record(span(11_500), { partition: 1, offset: 2n });
    expect(w.minOpenOffset(0)).toBe(5n);
    w.advanceWatermark(12_000);
    expect(w.minOpenOffset(0)).toBe(7n);
    expect(w.minOpenOffset(1)).toBe(2n);
    w.advanceWatermark(22_000);
    expect(w.minOpenOffset(0)).toBeUndefined();
  });

  it('skips windows an earlier run already emitted, so a restart never doubles them', () => {
    const w = new OperationWindows(settings);
    w.restoreEmittedThrough(20_000);
    expect(w.record(span(15_000))).toBe('already_emitted');
    expect(w.record(span(21_000))).toBe('accepted');
  });

  it('gives the same vectors whatever order the spans arrive in within the lateness', () => {
    const events = Array.from({ length: 50 }, (_, i) => span(i * 397 % 20_000, { durationMs: (i * 7) % 13, error: i % 5 === 0 }));
    const run = (list: RequestEvent[]) => {
      const w = new OperationWindows({ windowMs: 10_000, allowedLatenessMs: 25_000 });
      list.forEach((e) => w.record(e));
      return w.advanceWatermark(100_000).map((v) => [v.windowStartMs, v.values]);
    };
    expect(run([...events].reverse())).toEqual(run(events));
  });
});
