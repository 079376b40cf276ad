/**
 * A bottom-k sample: of the items seen, the `k` with the smallest hashes, each with its exact count. Which items
 * are kept depends only on the set of items, never on arrival order, and an item kept in the merged sample was kept
 * (and fully counted) in every partial that saw it — so merging partial samples gives exactly the sample of the
 * whole window. Feature vectors take their named examples from it (a few missing routes, user names tried, new
 * binaries) and first-seen checks and route entropy use it for items beyond what a window can list.
 */
import type { ByteReader, ByteWriter } from '../codec.ts';
import { hash32, lowerBound } from './hash.ts';

/** Longest item kept, in UTF-16 units: examples go into findings, not whole payloads. */
export const MAX_ITEM_LENGTH = 256;

/** The hash the sketches use for an item: of the item as kept (at most MAX_ITEM_LENGTH units). */
export function itemHash(item: string): number {
  return hash32(item.length > MAX_ITEM_LENGTH ? item.slice(0, MAX_ITEM_LENGTH) : item);
}

export class ItemSample {
  private hashes: number[] = [];
  private items: string[] = [];
  private counts: number[] = [];

  constructor(readonly k: number) {}

  /** `knownHash` must be `itemHash(item)` (callers that hash once for several sketches pass it). */
  add(item: string, count = 1, knownHash?: number): void {
    if (item.length > MAX_ITEM_LENGTH) item = item.slice(0, MAX_ITEM_LENGTH);
    const h = knownHash ?? hash32(item);
    const hashes = this.hashes;
    const n = hashes.length;
    if (n === this.k && h > hashes[n - 1]) return;
    let lo = lowerBound(hashes, n, h);
    // Equal hashes of different strings are ordered by the string, so the kept set never depends on arrival order.
    while (lo < n && hashes[lo] === h && this.items[lo] < item) lo++;
    if (lo < n && hashes[lo] === h && this.items[lo] === item) {
      this.counts[lo] += count;
      return;
    }
    if (n === this.k) {
      if (lo === n) return;
      hashes.pop();
      this.items.pop();
      this.counts.pop();
    }
    hashes.splice(lo, 0, h);
    this.items.splice(lo, 0, item);
    this.counts.splice(lo, 0, count);
  }

  get size(): number {
    return this.hashes.length;
  }

  /** Items in hash order (a stable, arrival-independent order). */
  itemAt(i: number): string {
    return this.items[i];
  }

  hashAt(i: number): number {
    return this.hashes[i];
  }

  countAt(i: number): number {
    return this.counts[i];
  }

  /** The total count of the kept items. */
  get keptCount(): number {
    let n = 0;
    for (const c of this.counts) n += c;
    return n;
  }

  /** Up to `n` items in sorted order, for examples. */
  examples(n: number): string[] {
    return this.items.slice(0, n).sort();
  }

  merge(other: ItemSample): void {
    for (let i = 0; i < other.size; i++) this.add(other.items[i], other.counts[i], other.hashes[i]);
  }

  get bytes(): number {
    let b = 96 + this.hashes.length * 24;
    for (const s of this.items) b += 16 + s.length;
    return b;
  }

  write(w: ByteWriter): void {
    w.uint(this.hashes.length);
    for (let i = 0; i < this.hashes.length; i++) w.string(this.items[i]).uint(this.counts[i]);
  }

  static read(r: ByteReader, k: number): ItemSample {
    const s = new ItemSample(k);
    const n = r.count(k);
    for (let i = 0; i < n; i++) {
      const item = r.string();
      s.add(item, r.uint());
    }
    return s;
  }
}
