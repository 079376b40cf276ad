/**
 * A mergeable distinct counter: the exact set of 32-bit item hashes while it is small, a HyperLogLog of 2^14
 * one-byte registers (standard error 0.81%) once it passes `EXACT_LIMIT` items, estimated with Ertl's improved
 * estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), which needs no bias tables
 * and has no weak range. Most entity windows see a handful of routes or peers: the exact form keeps them at a few
 * bytes, which the 2 KiB-per-entity budget needs (a dense HyperLogLog is 16 KiB). Registers merge by max and the
 * exact set by union, so the result is the same whatever the grouping of merges.
 *
 * Checked npm first: bloom-filters 3.0.4 (the maintained one) keeps 2^p JS numbers (8 bytes each), hashes each
 * item through xxhashjs's 64-bit string form and has no sparse mode — 32 KiB per counter at this precision.
 */
import { DecodeError } from '../../core/errors.ts';
import type { ByteReader, ByteWriter } from '../codec.ts';
import { insertedAt, lowerBound } from './hash.ts';

export const PRECISION = 14;
const M = 1 << PRECISION;
/** Bits of the hash left for the geometric draw: register values are 0 .. Q + 1. */
const Q = 32 - PRECISION;
/** Above this many distinct hashes the set becomes registers (2 KiB of hashes vs 16 KiB of registers). */
export const EXACT_LIMIT = 512;

export class DistinctCounter {
  /** Sorted distinct hashes (exact form): a plain array of doubles, far smaller than a typed array when short. */
  private hashes: number[] | undefined;
  /** HyperLogLog registers (dense form). */
  private registers: Uint8Array | undefined;
  /**
   * A hash the exact set holds, as an int32 (a window repeats items back to back: one comparison instead of a
   * search). Int32 rather than the hash itself so that V8 keeps it in the object: a uint32 field above 2^31 would
   * be a boxed double, 16 more bytes per counter. Meaningful whenever `hashes` is set.
   */
  private last = 0;

  addHash(h: number): void {
    if (this.registers) {
      addToRegisters(this.registers, h);
      return;
    }
    const hashes = this.hashes;
    if (!hashes) {
      this.hashes = [h];
      this.last = h | 0;
      return;
    }
    if ((h | 0) === this.last) return;
    const lo = lowerBound(hashes, hashes.length, h);
    if (lo < hashes.length && hashes[lo] === h) {
      this.last = h | 0;
      return;
    }
    if (hashes.length === EXACT_LIMIT) {
      this.toRegisters();
      addToRegisters(this.registers!, h);
      return;
    }
    this.hashes = insertedAt(hashes, lo, h);
    this.last = h | 0;
  }

  private toRegisters(): void {
    const registers = new Uint8Array(M);
    for (const h of this.hashes ?? []) addToRegisters(registers, h);
    this.registers = registers;
    this.hashes = undefined;
  }

  get exact(): boolean {
    return this.registers === undefined;
  }

  /** The number of distinct items: exact below EXACT_LIMIT, else the HyperLogLog estimate (rounded). */
  estimate(): number {
    return this.registers ? Math.round(ertlEstimate(this.registers)) : this.hashes?.length ?? 0;
  }

  merge(other: DistinctCounter): void {
    if (other.registers) {
      if (!this.registers) this.toRegisters();
      const r = this.registers!;
      const o = other.registers;
      for (let i = 0; i < M; i++) if (o[i] > r[i]) r[i] = o[i];
      return;
    }
    const b = other.hashes;
    if (!b || b.length === 0) return;
    if (this.registers) {
      for (const h of b) addToRegisters(this.registers, h);
      return;
    }
    const a = this.hashes ?? [];
    // One pass over both sorted lists.
    const out: number[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (j >= b.length || (i < a.length && a[i] < b[j])) out.push(a[i++]);
      else if (i >= a.length || b[j] < a[i]) out.push(b[j++]);
      else {
        out.push(a[i++]);
        j++;
      }
    }
    this.hashes = out.length < 16 ? out.slice() : out;
    this.last = out[0] | 0;
    if (out.length > EXACT_LIMIT) this.toRegisters();
  }

  write(w: ByteWriter): void {
    if (this.registers) {
      w.uint(1).bytes(this.registers);
      return;
    }
    const hashes = this.hashes ?? [];
    w.uint(0).uint(hashes.length);
    let previous = 0;
    for (const h of hashes) {
      w.uint(h - previous); // sorted: small deltas
      previous = h;
    }
  }

  static read(r: ByteReader): DistinctCounter {
    const c = new DistinctCounter();
    const form = r.uint();
    if (form === 1) {
      const registers = r.bytes();
      if (registers.length !== M) throw new DecodeError(`distinct counter: ${registers.length} registers, want ${M}`);
      for (const v of registers) if (v > Q + 1) throw new DecodeError('distinct counter: register out of range');
      c.registers = new Uint8Array(registers);
      return c;
    }
    if (form !== 0) throw new DecodeError(`distinct counter: unknown form ${form}`);
    const size = r.count(EXACT_LIMIT);
    const hashes = new Array<number>(size);
    let h = 0;
    for (let i = 0; i < size; i++) {
      const delta = r.uint();
      if (i > 0 && delta === 0) throw new DecodeError('distinct counter: hashes out of order');
      h += delta;
      if (h > 0xffffffff) throw new DecodeError('distinct counter: hash out of range');
      hashes[i] = h;
    }
    if (size > 0) {
      c.hashes = hashes;
      c.last = hashes[0] | 0;
    }
    return c;
  }
}

function addToRegisters(registers: Uint8Array, h: number): void {
  const index = h >>> Q;
  const rest = (h << PRECISION) >>> 0;
  const rank = rest === 0 ? Q + 1 : Math.min(Q + 1, Math.clz32(rest) + 1);
  if (rank > registers[index]) registers[index] = rank;
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const previous = z;
    z += x * y;
    y += y;
    if (z === previous) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === previous) return z / 3;
  }
}

function ertlEstimate(registers: Uint8Array): number {
  const histogram = new Array<number>(Q + 2).fill(0);
  for (let i = 0; i < M; i++) histogram[registers[i]]++;
  let z = M * tau(1 - histogram[Q + 1] / M);
  for (let k = Q; k >= 1; k--) z = 0.5 * (z + histogram[k]);
  z += M * sigma(histogram[0] / M);
  return (M * M) / (2 * Math.LN2) / z;
}
