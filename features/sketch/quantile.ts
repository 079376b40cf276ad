/**
 * A mergeable quantile sketch for non-negative values (latencies, byte counts): DDSketch with 1% relative accuracy,
 * using @datadog/sketches-js's LogarithmicMapping for the value ↔ bucket mapping and its quantile rule. Buckets live
 * in a sparse list while few (most entity windows touch a handful: the library's own DenseStore starts at 128 bins,
 * 1 KiB per sketch, which three sketches per window at 100,000 active entities cannot afford) and move to a dense
 * array of counts once a window has many, where adding is one increment (busy services and operations: the hot path).
 * Bucket counts are integers, so merging is exact and order-free: the same values give the same sketch whatever the
 * grouping of partial merges and whichever form holds them (the bit-for-bit replay guarantee rests on that).
 */
import { LogarithmicMapping } from '@datadog/sketches-js/dist/ddsketch/mapping/index.js';
import { DecodeError } from '../../core/errors.ts';
import type { ByteReader, ByteWriter } from '../codec.ts';
import { insertedAt } from './hash.ts';

export const RELATIVE_ACCURACY = 0.01;
const mapping = new LogarithmicMapping(RELATIVE_ACCURACY);
/** Buckets a sketch may hold (see MIN_VALUE): anything past this is corrupt input. */
const MAX_BUCKETS = 4096;
/** Sparse buckets beyond which the sketch turns dense (a dense array of a few hundred counts beats their search). */
const SPARSE_LIMIT = 8;
/** The key of values counted in the zero bucket. */
export const ZERO_KEY = -Infinity;
/**
 * Values below this count as zero and values above it as it: 1e-6 (a nanosecond in ms, a millionth of a byte) to 1e15
 * spans about 2,400 buckets, so no input, however hostile, makes a sketch wider than that.
 */
const MIN_VALUE = 1e-6;
const MAX_VALUE = 1e15;
const MIN_KEY = mapping.key(MIN_VALUE);
const MAX_KEY = mapping.key(MAX_VALUE);
/** LogarithmicMapping's key(v) = ceil(log2(v) · multiplier) with its offset 0, computed as it does, inlined for the hot path (tested equal). */
const MULTIPLIER = (1 / Math.log1p((2 * RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY))) * Math.log(2);

/**
 * The bucket of a value (`ZERO_KEY` for zero, tiny, negative or non-finite values, which callers should not pass):
 * computed once per event and added to every sketch the event counts in.
 */
export function sketchKey(value: number): number {
  return value >= MIN_VALUE ? Math.ceil(Math.log2(value < MAX_VALUE ? value : MAX_VALUE) * MULTIPLIER) : ZERO_KEY;
}

/** The dense form of a sketch's buckets: counts[key - offset], and how many are non-zero. */
class DenseBuckets {
  constructor(public counts: Uint32Array, public offset: number, public size: number) {}

  /** From a sparse list, with room on both sides: a busy window's range settles after a few widenings. */
  static of(bins: readonly number[], extraKey: number): DenseBuckets {
    const min = Math.min(bins[0], extraKey);
    const max = Math.max(bins[bins.length - 2], extraKey);
    const slack = Math.max(16, (max - min) >> 1);
    const dense = new DenseBuckets(new Uint32Array(max - min + 1 + 2 * slack), min - slack, bins.length >> 1);
    for (let i = 0; i < bins.length; i += 2) dense.counts[bins[i] - dense.offset] = bins[i + 1];
    return dense;
  }

  add(key: number, count: number): void {
    let i = key - this.offset;
    if (i < 0 || i >= this.counts.length) {
      this.growTo(key);
      i = key - this.offset;
    }
    if (this.counts[i] === 0) this.size++;
    this.counts[i] += count;
  }

  private growTo(key: number): void {
    const counts = this.counts;
    const min = Math.min(this.offset, key);
    const max = Math.max(this.offset + counts.length - 1, key);
    const slack = Math.max(16, (max - min) >> 2);
    const offset = key < this.offset ? min - slack : this.offset;
    const next = new Uint32Array(max - offset + 1 + (key < this.offset ? 0 : slack));
    next.set(counts, this.offset - offset);
    this.counts = next;
    this.offset = offset;
  }
}

export class QuantileSketch {
  zeroCount = 0;
  /**
   * Sparse form: [key, count, key, count, ...] sorted by key (a small array of small integers); dense form, created
   * once past SPARSE_LIMIT keys. One field for both: most windows hold a few sketches of a few buckets each, and a
   * field per sketch is 8 bytes times sketches times active entities.
   */
  private buckets: number[] | DenseBuckets = [];

  /** Keys held. */
  private get size(): number {
    const b = this.buckets;
    return b instanceof DenseBuckets ? b.size : b.length >> 1;
  }

  /** Adds a value; negative and non-finite values are the caller's to reject (they are counted as zero here). */
  add(value: number): void {
    this.addKey(sketchKey(value), 1);
  }

  /** Adds `count` to the bucket `key` (from `sketchKey`). */
  addKey(key: number, count = 1): void {
    if (key === ZERO_KEY) {
      this.zeroCount += count;
      return;
    }
    const bins = this.buckets;
    if (bins instanceof DenseBuckets) {
      bins.add(key, count);
      return;
    }
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
    if (bins.length >= SPARSE_LIMIT * 2) {
      const dense = DenseBuckets.of(bins, key);
      dense.add(key, count);
      this.buckets = dense;
      return;
    }
    this.buckets = insertedAt(bins, i, key, count);
  }

  /** Calls `visit(key, count)` for every bucket in key order. */
  private forEachBucket(visit: (key: number, count: number) => void): void {
    const bins = this.buckets;
    if (bins instanceof DenseBuckets) {
      const { counts, offset } = bins;
      for (let i = 0; i < counts.length; i++) if (counts[i] !== 0) visit(i + offset, counts[i]);
      return;
    }
    for (let i = 0; i < bins.length; i += 2) visit(bins[i], bins[i + 1]);
  }

  get count(): number {
    let n = this.zeroCount;
    this.forEachBucket((_, c) => (n += c));
    return n;
  }

  /** DDSketch's rule: the bucket holding rank q·(n−1), as the bucket's representative value; 0 when empty. */
  quantile(q: number): number {
    const n = this.count;
    if (n === 0) return 0;
    const rank = q * (n - 1);
    if (rank < this.zeroCount) return 0;
    let running = this.zeroCount;
    let found: number | undefined;
    let last = 0;
    this.forEachBucket((key, c) => {
      last = key;
      if (found !== undefined) return;
      running += c;
      if (running > rank) found = key;
    });
    return mapping.value(found ?? last);
  }

  /** Adds the other sketch's counts. */
  merge(other: QuantileSketch): void {
    this.zeroCount += other.zeroCount;
    const a = this.buckets;
    const b = other.buckets;
    if (other.size === 0) return;
    if (!(b instanceof DenseBuckets) && !(a instanceof DenseBuckets)) {
      if (a.length === 0) {
        this.buckets = b.slice();
        return;
      }
      if (a.length + b.length <= SPARSE_LIMIT * 2) {
        this.buckets = mergeSorted(a, b);
        return;
      }
    }
    if (b instanceof DenseBuckets) {
      const { counts, offset } = b;
      for (let i = 0; i < counts.length; i++) if (counts[i] !== 0) this.addKey(i + offset, counts[i]);
      return;
    }
    for (let i = 0; i < b.length; i += 2) this.addKey(b[i], b[i + 1]);
  }

  /** The buckets in key order (the same bytes whichever form holds them). */
  write(w: ByteWriter): void {
    w.uint(this.zeroCount).uint(this.size);
    // Loops of their own rather than forEachBucket: every partial writes its sketches, and a dense one is hundreds of slots.
    let previous = 0;
    const bins = this.buckets;
    if (bins instanceof DenseBuckets) {
      const { counts, offset } = bins;
      for (let i = 0; i < counts.length; i++) {
        if (counts[i] === 0) continue;
        w.int(i + offset - previous).uint(counts[i]);
        previous = i + offset;
      }
      return;
    }
    for (let i = 0; i < bins.length; i += 2) {
      w.int(bins[i] - previous).uint(bins[i + 1]);
      previous = bins[i];
    }
  }

  static read(r: ByteReader): QuantileSketch {
    const s = new QuantileSketch();
    s.zeroCount = r.uint();
    const size = r.count(MAX_BUCKETS);
    // Buckets come in key order: the sparse list is read as it is, a dense one sized to the keys read.
    const bins: number[] = [];
    let key = 0;
    for (let i = 0; i < size; i++) {
      const delta = r.int();
      if (i > 0 && delta <= 0) throw new DecodeError('quantile sketch: buckets out of order');
      key += delta;
      if (key < MIN_KEY || key > MAX_KEY) throw new DecodeError('quantile sketch: bucket out of range');
      const count = r.uint();
      if (count === 0 || count > 0xffffffff) throw new DecodeError('quantile sketch: bad bucket count');
      bins.push(key, count);
    }
    if (size <= SPARSE_LIMIT) s.buckets = bins;
    else {
      const dense = new DenseBuckets(new Uint32Array(bins[bins.length - 2] - bins[0] + 1), bins[0], size);
      for (let i = 0; i < bins.length; i += 2) dense.counts[bins[i] - dense.offset] = bins[i + 1];
      s.buckets = dense;
    }
    return s;
  }
}

/** Two sorted [key, count, ...] lists merged into one (counts of equal keys added). */
function mergeSorted(a: number[], b: number[]): number[] {
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
  return out.length < 16 ? out.slice() : out; // exact size when short (see insertedAt)
}
