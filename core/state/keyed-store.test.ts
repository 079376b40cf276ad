import { describe, expect, it } from 'vitest';
import { MemoryKeyedStore } from './keyed-store.ts';

describe('MemoryKeyedStore', () => {
  it('reports what changed once, including deletions as tombstones', () => {
    const store = new MemoryKeyedStore<{ n: number }>({ maxKeys: 10 });
    store.set('a', { n: 1 });
    store.set('b', { n: 2 });
    store.delete('a');
    expect(store.takeChanges()).toEqual([['a', undefined], ['b', { n: 2 }]]);
    expect(store.takeChanges()).toEqual([]);
  });

  it('evicts the least recently used key past the cap and counts it', () => {
    const evicted: string[] = [];
    const store = new MemoryKeyedStore<number>({ maxKeys: 2, onEvict: (k) => evicted.push(k) });
    store.set('a', 1);
    store.set('b', 2);
    store.get('a'); // a is now the most recently used
    store.set('c', 3);
    expect(evicted).toEqual(['b']);
    expect(store.evictions).toBe(1);
    expect([...store.entries()].map(([k]) => k).sort()).toEqual(['a', 'c']);
    expect(store.takeChanges()).toContainEqual(['b', undefined]);
  });

  it('stays bounded whatever the number of distinct keys', () => {
    const store = new MemoryKeyedStore<number>({ maxKeys: 1000 });
    for (let i = 0; i < 100_000; i++) store.set(`/random/${i}`, i);
    expect(store.size).toBe(1000);
    expect(store.evictions).toBe(99_000);
  });

  it('restores persisted state without marking it changed; the last entry for a key wins', () => {
    const store = new MemoryKeyedStore<number>({ maxKeys: 10 });
    store.restore([['a', 1], ['b', 2], ['a', 3], ['b', undefined]]);
    expect(store.get('a')).toBe(3);
    expect(store.has('b')).toBe(false);
    expect(store.takeChanges()).toEqual([]);
  });
});
