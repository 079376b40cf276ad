/**
 * A mergeable quantile sketch for non-negative values (latencies, byte counts): DDSketch with 1% relative accuracy,
 * using @datadog/sketches-js's LogarithmicMapping for the value ↔ bucket mapping and its quantile rule, over a sparse
 * store of (bucket, count) pairs. The library's own DenseStore starts at 128 bins (1 KiB) per sketch, which three
 * sketches per entity window cannot afford at 100,000 active entities; a window typically touches a few dozen buckets.
 * Bucket counts are integers, so merging is exact and order-free: the same values give the same sketch whatever the
 * grouping of partial merges (the bit-for-bit replay guarantee rests on that).
 */
import { LogarithmicMapping } from '@datadog/sketches-js/dist/ddsketch/mapping/index.js';
import { DecodeError } from '../../core/errors.ts';
import type { ByteReader, ByteWriter } from '../codec.ts';
import { insertedAt } from './hash.ts';

export const RELATIVE_ACCURACY = 0.01;
const mapping = new LogarithmicMapping(RELATIVE_ACCURACY);
/** Buckets a sketch may hold: 1% buckets cover 1e-9 .. 1e12 in about 2,400; anything past this is corrupt input. */
const MAX_BUCKETS = 4096;

export class QuantileSketch {
  zeroCount = 0;
  /**
   * Buckets as [key, count, key, count, ...] sorted by key: one small array of small integers (4 bytes an element
   * in V8) instead of two typed arrays (a hundred bytes of overhead each) — the memory budget per entity is 2 KiB.
   */
  private bins: number[] = [];

  /** Adds a value; negative and non-finite values are the caller's to reject (they are counted as zero here). */
  add(value: number): void {
    if (!(value > mapping.minPossible)) {
      this.zeroCount++;
      return;
    }
    this.addKey(mapping.key(Math.min(value, mapping.maxPossible)), 1);
  }

  private addKey(key: number, count: number): void {
    const bins = this.bins;
    let lo = 0;
    let hi = bins.length >> 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bins[mid * 2] < key) lo = mid + 1;
      else hi = mid;
    }
    const i = lo * 2;
    if (i < bins.length && bins[i] === key) {
      bins[i + 1] += count;
      return;
    }
    if (bins.length >= MAX_BUCKETS * 2) throw new RangeError('quantile sketch bucket limit');
    this.bins = insertedAt(bins, i, key, count);
  }

  get count(): number {
    let n = this.zeroCount;
    for (let i = 1; i < this.bins.length; i += 2) n += this.bins[i];
    return n;
  }

  /** DDSketch's rule: the bucket holding rank q·(n−1), as the bucket's representative value; 0 when empty. */
  quantile(q: number): number {
    const n = this.count;
    if (n === 0) return 0;
    const rank = q * (n - 1);
    if (rank < this.zeroCount) return 0;
    let running = this.zeroCount;
    const bins = this.bins;
    for (let i = 0; i < bins.length; i += 2) {
      running += bins[i + 1];
      if (running > rank) return mapping.value(bins[i]);
    }
    return mapping.value(bins[bins.length - 2]);
  }

  /** Adds the other sketch's counts: one pass over both sorted bucket lists. */
  merge(other: QuantileSketch): void {
    this.zeroCount += other.zeroCount;
    const a = this.bins;
    const b = other.bins;
    if (b.length === 0) return;
    if (a.length === 0) {
      this.bins = b.slice();
      return;
    }
    const out: number[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (j >= b.length || (i < a.length && a[i] < b[j])) {
        out.push(a[i], a[i + 1]);
        i += 2;
      } else if (i >= a.length || b[j] < a[i]) {
        out.push(b[j], b[j + 1]);
        j += 2;
      } else {
        out.push(a[i], a[i + 1] + b[j + 1]);
        i += 2;
        j += 2;
      }
    }
    this.bins = out.length < 16 ? out.slice() : out; // exact size when short (see insertedAt)
  }

  write(w: ByteWriter): void {
    const bins = this.bins;
    w.uint(this.zeroCount).uint(bins.length >> 1);
    let previous = 0;
    for (let i = 0; i < bins.length; i += 2) {
      w.int(bins[i] - previous).uint(bins[i + 1]);
      previous = bins[i];
    }
  }

  static read(r: ByteReader): QuantileSketch {
    const s = new QuantileSketch();
    s.zeroCount = r.uint();
    const size = r.count(MAX_BUCKETS);
    const bins = new Array<number>(size * 2);
    let key = 0;
    for (let i = 0; i < size; i++) {
      const delta = r.int();
      if (i > 0 && delta <= 0) throw new DecodeError('quantile sketch: buckets out of order');
      key += delta;
      const count = r.uint();
      if (count === 0 || count > 0xffffffff) throw new DecodeError('quantile sketch: bad bucket count');
      bins[2 * i] = key;
      bins[2 * i + 1] = count;
    }
    s.bins = bins;
    return s;
  }
}
