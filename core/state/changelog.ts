/**
 * Per-key state owned by input partitions, persisted to a compacted changelog topic (Kafka Streams' design): each key
 * belongs to the partition whose record last set it, its changes are written to the same partition number of the
 * changelog before the stage commits offsets, and when a partition is assigned to an instance (at start, after a
 * crash, on scale-out) the instance reads that changelog partition back before it handles the partition's records.
 * A revoked partition's keys are dropped. Pure: the consumer-stage loop does the reading and writing.
 */
import type { IncomingRecord, OutgoingMessage } from '../kafka/adapter.ts';
import type { KeyedStore } from './keyed-store.ts';

interface Entry<T> {
  value: T;
  partition: number;
}

/** Separates the store name from the key in changelog record keys (names never contain it). */
const SEPARATOR = '\u0000';

class PartitionedStore<T> implements KeyedStore<T> {
  readonly entries_ = new Map<string, Entry<T>>();
  /** Changed keys → the partition their change belongs to (an evicted or deleted key keeps its last owner). */
  readonly changed = new Map<string, number>();
  evictions = 0;

  constructor(private readonly owner: PartitionedState, readonly maxKeys: number, private readonly onEvict: (n: number) => void) {}

  get(key: string): T | undefined {
    const e = this.entries_.get(key);
    if (!e) return undefined;
    this.entries_.delete(key);
    this.entries_.set(key, e);
    return e.value;
  }

  has(key: string): boolean {
    return this.entries_.has(key);
  }

  set(key: string, value: T): void {
    const partition = this.owner.currentPartition;
    this.entries_.delete(key);
    this.entries_.set(key, { value, partition });
    this.changed.set(key, partition);
    while (this.entries_.size > this.maxKeys) {
      const [oldest, e] = this.entries_.entries().next().value as [string, Entry<T>];
      this.entries_.delete(oldest);
      this.changed.set(oldest, e.partition);
      this.evictions++;
      this.onEvict(1);
    }
  }

  delete(key: string): void {
    const e = this.entries_.get(key);
    if (!e) return;
    this.entries_.delete(key);
    this.changed.set(key, e.partition);
  }

  get size(): number {
    return this.entries_.size;
  }

  *entries(): IterableIterator<[string, T]> {
    for (const [k, e] of this.entries_) yield [k, e.value];
  }
}

export interface PartitionedStateOptions {
  /** Prefix of this state's store names on a changelog other states share; a restore keeps only its own records. */
  namespace?: string;
  /** Keys per store unless the store asks for another cap. */
  defaultMaxKeys: number;
  /** Counts evictions (the stage exports them on /metrics). */
  onEvict?(store: string, n: number): void;
}

export class PartitionedState {
  /** The input partition whose records are being handled: what `set` assigns keys to. The loop sets it. */
  currentPartition = 0;
  private readonly stores = new Map<string, PartitionedStore<unknown>>();

  private readonly prefix: string;

  constructor(private readonly options: PartitionedStateOptions) {
    this.prefix = options.namespace ? `${options.namespace}:` : '';
  }

  /** The store called `name` (created on first use; the same object afterwards). */
  store<T>(localName: string, options: { maxKeys?: number } = {}): KeyedStore<T> {
    if (localName.includes(SEPARATOR)) throw new RangeError(`store name ${JSON.stringify(localName)} contains NUL`);
    const name = `${this.prefix}${localName}`;
    let s = this.stores.get(name);
    if (!s) {
      s = new PartitionedStore<unknown>(this, options.maxKeys ?? this.options.defaultMaxKeys, (n) => this.options.onEvict?.(name, n));
      this.stores.set(name, s);
    }
    return s as KeyedStore<T>;
  }

  /** Keys held and evictions so far, per store (for /metrics). */
  sizes(): Array<{ store: string; keys: number; evictions: number }> {
    return [...this.stores].map(([store, s]) => ({ store, keys: s.size, evictions: s.evictions }));
  }

  /** The changes since the last call as changelog messages (a tombstone for a deleted or evicted key); clears them. */
  takeChanges(): OutgoingMessage[] {
    const out: OutgoingMessage[] = [];
    for (const [name, s] of this.stores) {
      for (const [key, partition] of s.changed) {
        const e = s.entries_.get(key);
        out.push({ key: `${name}${SEPARATOR}${key}`, value: e ? Buffer.from(JSON.stringify(e.value)) : null, partition });
      }
      s.changed.clear();
    }
    return out;
  }

  /** Loads changelog records read back from the partitions just assigned (later records win; tombstones delete). */
  restore(records: readonly IncomingRecord[]): { restored: number; unreadable: number } {
    let restored = 0;
    let unreadable = 0;
    for (const record of records) {
      const key = record.key?.toString() ?? '';
      const cut = key.indexOf(SEPARATOR);
      if (cut < 0) {
        unreadable++;
        continue;
      }
      const name = key.slice(0, cut);
      if (!name.startsWith(this.prefix)) continue;
      const s = this.store<unknown>(name.slice(this.prefix.length)) as PartitionedStore<unknown>;
      const entryKey = key.slice(cut + 1);
      if (record.value.length === 0) {
        s.entries_.delete(entryKey);
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(record.value.toString());
      } catch {
        unreadable++;
        continue;
      }
      s.entries_.delete(entryKey);
      s.entries_.set(entryKey, { value, partition: record.partition });
      restored++;
    }
    for (const s of this.stores.values()) {
      while (s.entries_.size > s.maxKeys) s.entries_.delete(s.entries_.keys().next().value as string);
    }
    return { restored, unreadable };
  }

  /** Forgets the keys of partitions this instance no longer owns (another instance restores them). */
  drop(partitions: readonly number[]): void {
    const gone = new Set(partitions);
    for (const s of this.stores.values()) {
      for (const [key, e] of s.entries_) if (gone.has(e.partition)) s.entries_.delete(key);
      for (const [key, partition] of s.changed) if (gone.has(partition)) s.changed.delete(key);
    }
  }
}
