/**
 * A bottom-k sample: of the items seen, the `k` with the smallest hashes, each with its exact count. Which items
 * are kept depends only on the set of items, never on arrival order, and an item kept in the merged sample was kept
 * (and fully counted) in every partial that saw it — so merging partial samples gives exactly the sample of the
 * whole window. Feature vectors take their named examples from it (a few missing routes, user names tried, new
 * binaries) and first-seen checks and route entropy use it for items beyond what a window can list.
 */
import type { ByteReader, ByteWriter } from '../codec.ts';
import { hash32, insertedAt } from './hash.ts';

/** Longest item kept, in UTF-16 units: examples go into findings, not whole payloads. */
export const MAX_ITEM_LENGTH = 256;

/** The hash the sketches use for an item: of the item as kept (at most MAX_ITEM_LENGTH units). */
export function itemHash(item: string): number {
  return hash32(item.length > MAX_ITEM_LENGTH ? item.slice(0, MAX_ITEM_LENGTH) : item);
}

export class ItemSample {
  /** [hash, count, hash, count, ...] in hash order (one array of doubles rather than two: less memory per sample). */
  private slots: number[] = [];
  private items: string[] = [];
  /** Index of the item added last: windows repeat items (a client's route, a service's caller) back to back. */
  private last = -1;

  constructor(readonly k: number) {}

  /** `knownHash` must be `itemHash(item)` (callers that hash once for several sketches pass it). */
  add(item: string, count = 1, knownHash?: number): void {
    if (item.length > MAX_ITEM_LENGTH) item = item.slice(0, MAX_ITEM_LENGTH);
    const last = this.last;
    // The hash first when the caller knows it: one number comparison usually tells a different item.
    if (last >= 0 && (knownHash === undefined || this.slots[2 * last] === knownHash) && this.items[last] === item) {
      this.slots[2 * last + 1] += count;
      return;
    }
    const h = knownHash ?? hash32(item);
    const slots = this.slots;
    const n = this.items.length;
    if (n === this.k && h > slots[2 * (n - 1)]) return;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (slots[2 * mid] < h) lo = mid + 1;
      else hi = mid;
    }
    // Equal hashes of different strings are ordered by the string, so the kept set never depends on arrival order.
    while (lo < n && slots[2 * lo] === h && this.items[lo] < item) lo++;
    if (lo < n && slots[2 * lo] === h && this.items[lo] === item) {
      slots[2 * lo + 1] += count;
      this.last = lo;
      return;
    }
    if (n === this.k) {
      if (lo === n) return;
      slots.length -= 2; // the largest hash leaves
      this.items.length -= 1;
    }
    this.slots = insertedAt(slots, 2 * lo, h, count);
    this.items = insertedAt(this.items, lo, item);
    this.last = lo;
  }

  get size(): number {
    return this.items.length;
  }

  /** Items in hash order (a stable, arrival-independent order). */
  itemAt(i: number): string {
    return this.items[i];
  }

  hashAt(i: number): number {
    return this.slots[2 * i];
  }

  countAt(i: number): number {
    return this.slots[2 * i + 1];
  }

  /** The total count of the kept items. */
  get keptCount(): number {
    let n = 0;
    for (let i = 1; i < this.slots.length; i += 2) n += this.slots[i];
    return n;
  }

  /** Up to `n` items in sorted order, for examples. */
  examples(n: number): string[] {
    return this.items.slice(0, n).sort();
  }

  merge(other: ItemSample): void {
    for (let i = 0; i < other.size; i++) this.add(other.items[i], other.countAt(i), other.hashAt(i));
  }


  write(w: ByteWriter): void {
    w.uint(this.items.length);
    for (let i = 0; i < this.items.length; i++) w.string(this.items[i]).uint(this.countAt(i));
  }

  static read(r: ByteReader, k: number): ItemSample {
    const s = new ItemSample(k);
    const n = r.count(k);
    for (let i = 0; i < n; i++) {
      let item = r.string();
      const count = r.uint();
      if (item.length > MAX_ITEM_LENGTH) item = item.slice(0, MAX_ITEM_LENGTH);
      const h = hash32(item);
      // Written in sample order: appended as read; anything else (corrupt input) goes through add.
      const previous = s.items.length - 1;
      if (previous < 0 || h > s.slots[2 * previous] || (h === s.slots[2 * previous] && item > s.items[previous])) {
        s.slots.push(h, count);
        s.items.push(item);
      } else s.add(item, count, h);
    }
    return s;
  }
}
