/**
 * Per-key state that must survive restarts and rebalances: detector baselines, first-seen histories, open windows.
 * Pure and in memory; the stage that owns it persists what changed (`takeChanges`) to a compacted changelog topic
 * before it commits offsets, and a restarted or newly assigned instance restores it (`restore`) before consuming.
 * Values must be JSON-serialisable. The number of keys is capped: past `maxKeys` the least recently used key is
 * evicted (and counted), so a flood of new keys (a scan of a million random paths) cannot grow memory without bound.
 */
export interface KeyedStore<T> {
  get(key: string): T | undefined;
  /** Stores the value and marks it changed; the same object may be mutated and set again. */
  set(key: string, value: T): void;
  delete(key: string): void;
  has(key: string): boolean;
  readonly size: number;
  entries(): IterableIterator<[string, T]>;
}

export interface KeyedStoreOptions {
  /** Keys kept at most; the least recently used goes first. */
  maxKeys: number;
  /** Told about each eviction (the stage counts them in /metrics). */
  onEvict?(key: string): void;
}

/** A change to persist: a value, or `undefined` for a deleted (or evicted) key (a tombstone on the changelog). */
export type StoreChange<T> = [key: string, value: T | undefined];

export class MemoryKeyedStore<T> implements KeyedStore<T> {
  /** Map iteration order is insertion order: re-inserting on use keeps the least recently used first. */
  private readonly values = new Map<string, T>();
  private readonly changed = new Set<string>();
  evictions = 0;

  constructor(private readonly options: KeyedStoreOptions) {
    if (!(options.maxKeys >= 1)) throw new RangeError('maxKeys must be at least 1');
  }

  get(key: string): T | undefined {
    const value = this.values.get(key);
    if (value !== undefined) {
      this.values.delete(key);
      this.values.set(key, value);
    }
    return value;
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  set(key: string, value: T): void {
    this.values.delete(key);
    this.values.set(key, value);
    this.changed.add(key);
    while (this.values.size > this.options.maxKeys) {
      const oldest = this.values.keys().next().value as string;
      this.values.delete(oldest);
      this.changed.add(oldest);
      this.evictions++;
      this.options.onEvict?.(oldest);
    }
  }

  delete(key: string): void {
    if (this.values.delete(key)) this.changed.add(key);
  }

  get size(): number {
    return this.values.size;
  }

  entries(): IterableIterator<[string, T]> {
    return this.values.entries();
  }

  /** What changed since the last call, oldest change first; clears the list. */
  takeChanges(): Array<StoreChange<T>> {
    const out: Array<StoreChange<T>> = [];
    for (const key of this.changed) out.push([key, this.values.get(key)]);
    this.changed.clear();
    return out;
  }

  /** Loads persisted state (a restore is not a change). A later entry for the same key wins; `undefined` deletes. */
  restore(changes: Iterable<StoreChange<T>>): void {
    for (const [key, value] of changes) {
      if (value === undefined) this.values.delete(key);
      else {
        this.values.delete(key);
        this.values.set(key, value);
      }
    }
    while (this.values.size > this.options.maxKeys) this.values.delete(this.values.keys().next().value as string);
  }
}
