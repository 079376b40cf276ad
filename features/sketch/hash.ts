/**
 * A 32-bit string hash for the sketches: FNV-1a over UTF-16 code units, finished with MurmurHash3's fmix32 so that
 * every output bit depends on every input bit (HyperLogLog reads the top bits as a register index and the rest as a
 * geometric draw; plain FNV-1a's top bits are too weak for that). Pure and seedless: the same string gives the same
 * hash in every process, which the bit-for-bit replay guarantee needs.
 */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The first index in sorted[0, size) whose value is not below `key` (binary search). */
export function lowerBound(sorted: ArrayLike<number>, size: number, key: number): number {
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Below this length an insert makes an exact-size copy; from it on, the array grows in place. */
const SHORT = 16;

/**
 * `list` with `values` inserted at `index`. A short list becomes a new array of exactly the new length: V8 gives an
 * array that grows by push or splice room for 16 more elements (a hundred bytes or more), and sketches hold many
 * short arrays per entity. A longer one grows in place (amortized; its spare room is small beside its size).
 */
export function insertedAt<T>(list: T[], index: number, ...values: T[]): T[] {
  if (list.length >= SHORT) {
    list.splice(index, 0, ...values);
    return list;
  }
  return list.slice(0, index).concat(values, list.slice(index));
}
