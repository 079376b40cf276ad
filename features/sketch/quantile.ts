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
import { lowerBound } from './hash.ts';

export const RELATIVE_ACCURACY = 0.01;
const mapping = new LogarithmicMapping(RELATIVE_ACCURACY);
/** Buckets a sketch may hold: 1% buckets cover 1e-9 .. 1e12 in about 2,400; anything past this is corrupt input. */
const MAX_BUCKETS = 4096;

export class QuantileSketch {
  zeroCount = 0;
  private keys: Int32Array | undefined;
  private counts: Uint32Array | undefined;
  private size = 0;

  /** Adds a value; negative and non-finite values are the caller's to reject (they are counted as zero here). */
  add(value: number): void {
    if (!(value > mapping.minPossible)) {
      this.zeroCount++;
      return;
    }
    this.addKey(mapping.key(Math.min(value, mapping.maxPossible)), 1);
  }

  private addKey(key: number, count: number): void {
    const keys = this.keys;
    const lo = lowerBound(keys ?? [], this.size, key);
    if (lo < this.size && keys![lo] === key) {
      this.counts![lo] += count;
      return;
    }
    if (this.size >= MAX_BUCKETS) throw new RangeError('quantile sketch bucket limit');
    if (!keys || this.size === keys.length) this.grow();
    this.keys!.copyWithin(lo + 1, lo, this.size);
    this.counts!.copyWithin(lo + 1, lo, this.size);
    this.keys![lo] = key;
    this.counts![lo] = count;
    this.size++;
  }

  private grow(): void {
    const capacity = this.keys ? this.keys.length * 2 : 4;
    const keys = new Int32Array(capacity);
    const counts = new Uint32Array(capacity);
    if (this.keys) {
      keys.set(this.keys.subarray(0, this.size));
      counts.set(this.counts!.subarray(0, this.size));
    }
    this.keys = keys;
    this.counts = counts;
  }

  get count(): number {
    let n = this.zeroCount;
    for (let i = 0; i < this.size; i++) n += this.counts![i];
    return n;
  }

  /** DDSketch's rule: the bucket holding rank q·(n−1), as the bucket's representative value; 0 when empty. */
  quantile(q: number): number {
    const n = this.count;
    if (n === 0) return 0;
    const rank = q * (n - 1);
    if (rank < this.zeroCount) return 0;
    let running = this.zeroCount;
    for (let i = 0; i < this.size; i++) {
      running += this.counts![i];
      if (running > rank) return mapping.value(this.keys![i]);
    }
    return mapping.value(this.keys![this.size - 1]);
  }

  merge(other: QuantileSketch): void {
    this.zeroCount += other.zeroCount;
    for (let i = 0; i < other.size; i++) this.addKey(other.keys![i], other.counts![i]);
  }

  /** Approximate bytes held (for the memory figures). */
  get bytes(): number {
    return 48 + (this.keys ? this.keys.length * 8 + 128 : 0);
  }

  write(w: ByteWriter): void {
    w.uint(this.zeroCount).uint(this.size);
    let previous = 0;
    for (let i = 0; i < this.size; i++) {
      w.int(this.keys![i] - previous).uint(this.counts![i]);
      previous = this.keys![i];
    }
  }

  static read(r: ByteReader): QuantileSketch {
    const s = new QuantileSketch();
    s.zeroCount = r.uint();
    const size = r.count(MAX_BUCKETS);
    let key = 0;
    for (let i = 0; i < size; i++) {
      key += r.int();
      const count = r.uint();
      if (count === 0 || count > 0xffffffff) throw new DecodeError('quantile sketch: bad bucket count');
      s.addKey(key, count);
    }
    return s;
  }
}
