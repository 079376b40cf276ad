import { describe, expect, it } from 'vitest';
import type { IncomingRecord, OutgoingMessage } from '../kafka/adapter.ts';
import { PartitionedState } from './changelog.ts';

/** What a compacted changelog topic gives back: the messages as records of their partitions. */
function asRecords(messages: OutgoingMessage[]): IncomingRecord[] {
  return messages.map((m, i) => ({
    topic: 'changelog', partition: m.partition ?? 0, offset: String(i), key: Buffer.from(String(m.key)),
    value: m.value === null ? Buffer.alloc(0) : Buffer.from(m.value), headers: {}, timestampMs: 0,
  }));
}

describe('PartitionedState', () => {
  it('writes each change to the partition that made it, and restores only what a partition owns', () => {
    const state = new PartitionedState({ defaultMaxKeys: 100 });
    const baselines = state.store<{ mean: number }>('error_ratio/baseline');
    state.currentPartition = 0;
    baselines.set('operation:a', { mean: 0.1 });
    state.currentPartition = 2;
    baselines.set('operation:b', { mean: 0.5 });
    const changes = state.takeChanges();
    expect(changes.map((c) => c.partition)).toEqual([0, 2]);
    expect(state.takeChanges()).toEqual([]);

    const other = new PartitionedState({ defaultMaxKeys: 100 });
    other.restore(asRecords(changes).filter((r) => r.partition === 2));
    expect(other.store<{ mean: number }>('error_ratio/baseline').get('operation:b')).toEqual({ mean: 0.5 });
    expect(other.store('error_ratio/baseline').has('operation:a')).toBe(false);
  });

  it('turns deletions and evictions into tombstones that a restore applies', () => {
    const evicted: Array<[string, number]> = [];
    const state = new PartitionedState({ defaultMaxKeys: 2, onEvict: (store, n) => evicted.push([store, n]) });
    const seen = state.store<number>('history');
    seen.set('a', 1);
    seen.set('b', 2);
    seen.set('c', 3);
    seen.delete('b');
    const changes = state.takeChanges();
    expect(evicted).toEqual([['history', 1]]);
    expect(changes.filter((c) => c.value === null).map((c) => String(c.key).split('\u0000')[1]).sort()).toEqual(['a', 'b']);
    const restored = new PartitionedState({ defaultMaxKeys: 2 });
    // The first generation of values, then the tombstones: what a compacted topic replays in order.
    restored.restore(asRecords([{ key: 'history\u0000a', value: Buffer.from('1') }, ...changes]));
    expect([...restored.store<number>('history').entries()]).toEqual([['c', 3]]);
  });

  it('drops the keys of revoked partitions', () => {
    const state = new PartitionedState({ defaultMaxKeys: 100 });
    const s = state.store<number>('x');
    state.currentPartition = 1;
    s.set('k1', 1);
    state.currentPartition = 3;
    s.set('k3', 3);
    state.drop([1]);
    expect([...s.entries()]).toEqual([['k3', 3]]);
    expect(state.takeChanges().map((c) => c.partition)).toEqual([3]);
  });

  it('counts unreadable changelog records instead of failing', () => {
    const state = new PartitionedState({ defaultMaxKeys: 10 });
    const result = state.restore(asRecords([{ key: 'no-separator', value: Buffer.from('1') }, { key: 's\u0000k', value: Buffer.from('{') }]));
    expect(result).toEqual({ restored: 0, unreadable: 2 });
  });
});
