import { describe, expect, it } from 'vitest';
import type { RequestEvent } from '../../core/events.ts';
import { feature } from '../../schemas/feature-vector.ts';
import { routeRequest } from '../extract/router.ts';
import { encodeAggregate } from './aggregate.ts';
import { MergePartition, type SourceId } from './merge.ts';
import { PartitionedState } from '../../core/state/changelog.ts';
import { historyCodec } from '../internal-records.ts';
import { SourcePartitionWindows } from './source.ts';

const T = Date.UTC(2026, 10, 1);
const W = 10_000;
const settings = { windowMs: W, allowedLatenessMs: 2_000, maxFutureMs: 60_000, maxPastMs: 3_600_000, maxOpenWindows: 1_000 };

function span(timeMs: number, overrides: Partial<RequestEvent> = {}): RequestEvent {
  return {
    kind: 'request', timeMs, durationMs: 5, service: 'shop', operation: 'GET /', spanKind: 'server', protocol: 'http',
    traceId: `t${timeMs}`, spanId: 's', error: false, attributes: {}, resource: {}, ...overrides,
  };
}

/** Feeds one record of events through admission and routing, as the source side does. */
function feed(w: SourcePartitionWindows, offset: number, recordTs: number, events: RequestEvent[]): void {
  w.beginRecord(BigInt(offset), recordTs);
  for (const e of events) {
    const t = w.admitTime(e.timeMs);
    if (t === undefined) continue;
    e.timeMs = t;
    routeRequest(w, e);
  }
  w.endRecord();
}

describe('SourcePartitionWindows', () => {
  it('closes a window once its own watermark passes end + lateness, and counts what comes later as late', () => {
    const w = new SourcePartitionWindows(settings);
    feed(w, 0, T + 1_000, [span(T + 1_000)]);
    feed(w, 1, T + 11_000, [span(T + 11_000)]);
    expect(w.takeClosed()).toEqual([]);
    feed(w, 2, T + 12_000, [span(T + 12_000)]);
    expect(w.takeClosed().map((p) => [p.entityId, p.windowStartMs - T])).toEqual([['service:shop', 0], ['operation:shop:GET /', 0]]);
    feed(w, 3, T + 12_500, [span(T + 9_000)]);
    expect(w.counters.late).toBe(2);
    expect(w.commitOffset(4n)).toBe(1n);
  });

  it('clamps a spoofed future time to the record timestamp: the watermark does not move and open windows stay open', () => {
    const w = new SourcePartitionWindows(settings);
    feed(w, 0, T + 1_000, [span(T + 1_000)]);
    feed(w, 1, T + 2_000, [span(T + 365 * 86_400_000, { traceId: 'spoofed' })]);
    expect(w.counters.clampedFuture).toBe(1);
    expect(w.watermarkMs).toBe(T + 1_000);
    feed(w, 2, T + 3_000, [span(T + 3_000)]);
    expect(w.counters.late).toBe(0);
    w.flushAll();
    const partial = w.takeClosed().find((p) => p.entityId === 'service:shop')!;
    expect(partial.windowStartMs).toBe(T);
    expect(partial.aggregate.requests!.count).toBe(3);
  });

  it('a time ahead of the record only within the allowed skew neither moves the watermark past the record', () => {
    const w = new SourcePartitionWindows(settings);
    feed(w, 0, T + 1_000, [span(T + 50_000)]);
    expect(w.counters.clampedFuture).toBe(0);
    expect(w.watermarkMs).toBe(T + 1_000);
  });

  it('drops times far in the past, zero and NaN, and counts them', () => {
    const w = new SourcePartitionWindows(settings);
    feed(w, 0, T, [span(T - 2 * 3_600_000), span(0), span(Number.NaN), span(T)]);
    expect(w.counters.droppedPast).toBe(3);
    expect(w.openWindows).toBe(2);
  });

  it('caps open entity windows: a scan of random paths refuses new entities beyond the cap and counts them', () => {
    const w = new SourcePartitionWindows({ ...settings, maxOpenWindows: 500 });
    for (let i = 0; i < 100_000; i++) feed(w, i, T + 100, [span(T + 100, { operation: `GET /scan/${i.toString(36)}`, clientAddress: '198.51.100.1' })]);
    expect(w.openWindows).toBe(500);
    expect(w.counters.refused).toBe(100_000 - 498);
    w.flushAll();
    const client = w.takeClosed().find((p) => p.entityId === 'client:198.51.100.1')!;
    expect(client.aggregate.requests!.count).toBe(100_000);
  });
});

describe('MergePartition', () => {
  const sources: SourceId[] = [{ topic: 'spans', partition: 0 }, { topic: 'spans', partition: 1 }];
  const mergeSettings = { windowMs: W, historyTtlMs: 60_000, maxPendingWindows: 1_000 };
  /** A merge partition whose histories live in `state` (as on the stage: persisted to the compacted state topic). */
  const partition = (state = new PartitionedState({ defaultMaxKeys: 100, codec: historyCodec })) =>
    new MergePartition(sources, mergeSettings, { histories: state.store('history/0'), historyStart: state.store('history-start/0') });

  function partial(entityId: string, start: number, routes: string[]): Uint8Array {
    const w = new SourcePartitionWindows(settings);
    w.beginRecord(0n, start + 1);
    for (const route of routes) {
      routeRequest(w, span(start + 1, { clientAddress: entityId.slice('client:'.length), route, operation: `GET ${route}` }));
    }
    w.flushAll();
    return encodeAggregate(w.takeClosed().find((x) => x.entityId === entityId)!.aggregate);
  }

  it('waits for a marker from every source partition, and not for idle ones', () => {
    const m = partition();
    m.acceptPartial(sources[0], 'client:1.2.3.4', T, partial('client:1.2.3.4', T, ['/a']), 0n);
    m.acceptMarker(sources[0], T + W, false);
    expect(m.emitReady()).toEqual([]);
    m.acceptMarker(sources[1], T, false);
    expect(m.emitReady()).toEqual([]);
    m.acceptMarker(sources[1], T, true);
    expect(m.emitReady().map((v) => v.entityId)).toEqual(['client:1.2.3.4']);
    expect(m.acceptPartial(sources[1], 'client:1.2.3.4', T, partial('client:1.2.3.4', T, ['/b']), 5n)).toBe('late');
  });

  it('counts a new route once, again after the history expires, and reports how long the history has learnt', () => {
    const m = partition();
    const run = (start: number, routes: string[]) => {
      m.acceptPartial(sources[0], 'client:1.2.3.4', start, partial('client:1.2.3.4', start, routes), 0n);
      m.acceptMarker(sources[0], start + W, true);
      m.acceptMarker(sources[1], start + W, true);
      return m.emitReady()[0];
    };
    const first = run(T, ['/a', '/b']);
    expect(feature(first, 'new_route_count')).toBe(2);
    expect(first.examples?.new_routes).toEqual(['shop /a', 'shop /b']);
    expect(feature(first, 'history_age_s')).toBe(10);
    const second = run(T + W, ['/a', '/c']);
    expect(feature(second, 'new_route_count')).toBe(1);
    expect(feature(second, 'history_age_s')).toBe(20);
    const later = run(T + 10 * W, ['/b']);
    expect(feature(later, 'new_route_count')).toBe(1); // last seen 90 s earlier: past the 60 s expiry
  });

  it('does not emit a window again that its restored history already covers (sent before a crash)', () => {
    const state = new PartitionedState({ defaultMaxKeys: 100, codec: historyCodec });
    const m = partition(state);
    m.acceptPartial(sources[0], 'client:1.2.3.4', T, partial('client:1.2.3.4', T, ['/a']), 0n);
    m.acceptMarker(sources[0], T + W, true);
    m.acceptMarker(sources[1], T + W, true);
    expect(m.emitReady()).toHaveLength(1);
    const changelog = state.takeChanges().map((c, i) => ({
      topic: 'state', partition: 0, offset: String(i), key: Buffer.from(c.key as string), value: Buffer.from(c.value!), headers: {}, timestampMs: 0,
    }));
    const restored = new PartitionedState({ defaultMaxKeys: 100, codec: historyCodec });
    expect(restored.restore(changelog)).toEqual({ restored: 2, unreadable: 0 });
    const restarted = partition(restored);
    restarted.acceptPartial(sources[0], 'client:1.2.3.4', T, partial('client:1.2.3.4', T, ['/a']), 0n);
    restarted.acceptMarker(sources[0], T + W, true);
    restarted.acceptMarker(sources[1], T + W, true);
    expect(restarted.emitReady()).toEqual([]);
    expect(restarted.counters.replayed).toBe(1);
  });

  it('keeps at most its cap of entity histories and counts evictions', () => {
    let evicted = 0;
    const m = partition(new PartitionedState({ defaultMaxKeys: 10, codec: historyCodec, onEvict: (_store, n) => (evicted += n) }));
    for (let i = 0; i < 30; i++) m.acceptPartial(sources[0], `client:10.0.0.${i}`, T, partial(`client:10.0.0.${i}`, T, ['/a']), BigInt(i));
    m.acceptMarker(sources[0], T + W, true);
    m.acceptMarker(sources[1], T + W, true);
    expect(m.emitReady()).toHaveLength(30);
    expect(m.histories.size).toBe(10);
    expect(evicted).toBe(20);
  });
});
