/**
 * First-seen history: per entity, the items it was seen with (routes of a client, binaries of a host or pod,
 * outbound destinations) and when each was last seen, in event time. An item not seen for `ttlMs` counts as new
 * again; each set keeps at most MAX_ITEMS (the least recently seen go first), so a scan cannot grow it. Items are
 * kept as 32-bit hashes (8 bytes each with their time): the window carries the names for the examples. Pure.
 */
import type { ByteReader, ByteWriter } from '../codec.ts';
import { lowerBound } from '../sketch/hash.ts';
import type { ItemSample } from '../sketch/sample.ts';

export const MAX_ITEMS = 256;

export class SeenSet {
  private hashes = new Uint32Array(4);
  /** Event-time seconds each item was last seen. */
  private seen = new Uint32Array(4);
  private size = 0;

  get length(): number {
    return this.size;
  }

  /** Whether `h` was seen at or after `sinceS`. */
  seenSince(h: number, sinceS: number): boolean {
    const i = lowerBound(this.hashes, this.size, h);
    return i < this.size && this.hashes[i] === h && this.seen[i] >= sinceS;
  }

  touch(h: number, nowS: number): void {
    const i = lowerBound(this.hashes, this.size, h);
    if (i < this.size && this.hashes[i] === h) {
      if (nowS > this.seen[i]) this.seen[i] = nowS;
      return;
    }
    if (this.size === this.hashes.length) {
      const hashes = new Uint32Array(this.size * 2);
      const seen = new Uint32Array(this.size * 2);
      hashes.set(this.hashes);
      seen.set(this.seen);
      this.hashes = hashes;
      this.seen = seen;
    }
    this.hashes.copyWithin(i + 1, i, this.size);
    this.seen.copyWithin(i + 1, i, this.size);
    this.hashes[i] = h;
    this.seen[i] = nowS;
    this.size++;
  }

  /** Drops items last seen before `cutoffS`, then the least recently seen beyond MAX_ITEMS (ties: larger hash first). */
  prune(cutoffS: number): void {
    let n = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.seen[i] < cutoffS) continue;
      this.hashes[n] = this.hashes[i];
      this.seen[n] = this.seen[i];
      n++;
    }
    this.size = n;
    if (n <= MAX_ITEMS) return;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => this.seen[b] - this.seen[a] || this.hashes[a] - this.hashes[b]);
    const keep = order.slice(0, MAX_ITEMS).sort((a, b) => this.hashes[a] - this.hashes[b]);
    const hashes = new Uint32Array(MAX_ITEMS);
    const seen = new Uint32Array(MAX_ITEMS);
    keep.forEach((j, i) => {
      hashes[i] = this.hashes[j];
      seen[i] = this.seen[j];
    });
    this.hashes = hashes;
    this.seen = seen;
    this.size = MAX_ITEMS;
  }


  write(w: ByteWriter): void {
    w.uint(this.size);
    let previous = 0;
    for (let i = 0; i < this.size; i++) {
      w.uint(this.hashes[i] - previous).uint(this.seen[i]);
      previous = this.hashes[i];
    }
  }

  static read(r: ByteReader): SeenSet {
    const s = new SeenSet();
    const n = r.count(MAX_ITEMS * 2);
    let h = 0;
    for (let i = 0; i < n; i++) {
      h += r.uint();
      s.touch(h >>> 0, r.uint());
    }
    return s;
  }
}

/** What a window adds to an entity's history, and what was new in it. */
export interface NewItems {
  /** New items among the window's sample. */
  count: number;
  /** Their names (sorted), for the vector's examples. */
  names: string[];
}

/**
 * Checks a window's sample of items against `set` (creating nothing) and records them as seen at `nowS`.
 * `sinceS` is the expiry cutoff: items last seen before it are new again.
 */
export function firstSeen(set: SeenSet, sample: ItemSample | undefined, nowS: number, sinceS: number): NewItems {
  const names: string[] = [];
  let count = 0;
  if (!sample) return { count, names };
  for (let i = 0; i < sample.size; i++) {
    const h = sample.hashAt(i);
    if (!set.seenSince(h, sinceS)) {
      count++;
      names.push(sample.itemAt(i));
    }
    set.touch(h, nowS);
  }
  set.prune(sinceS);
  return { count, names: names.sort() };
}

/** An entity's history. `lastWindowEndMs` also tells a restarted owner which windows it already emitted. */
export interface EntityHistory {
  firstWindowEndMs: number;
  lastWindowEndMs: number;
  routes?: SeenSet;
  binaries?: SeenSet;
  destinations?: SeenSet;
}

const SETS = ['routes', 'binaries', 'destinations'] as const;

export function writeHistory(w: ByteWriter, h: EntityHistory): void {
  w.uint(h.firstWindowEndMs).uint(h.lastWindowEndMs);
  for (const name of SETS) {
    const set = h[name];
    w.uint(set ? 1 : 0);
    set?.write(w);
  }
}

export function readHistory(r: ByteReader): EntityHistory {
  const h: EntityHistory = { firstWindowEndMs: r.uint(), lastWindowEndMs: r.uint() };
  for (const name of SETS) if (r.uint() === 1) h[name] = SeenSet.read(r);
  return h;
}
