/**
 * Fixed-size caches keyed by byte ranges of a buffer being decoded. Strings and whole fields repeat from item to
 * item in telemetry (attribute keys, methods, addresses): recognising their bytes with one hash and one compare is
 * much cheaper than decoding them again. No growth, entries are overwritten on collision: memory stays bounded.
 */
import type { ProtoReader } from './reader.ts';

/** Strings of at most this many bytes are looked up in an intern table before being decoded. */
export const INTERN_MAX_BYTES = 128;
const INTERN_SLOTS = 2048;

/**
 * Attribute keys, resource values, methods, addresses and user agents repeat across spans; decoding
 * them once and recognising their bytes afterwards is much cheaper than building a new string each
 * time. A fixed-size table (no growth, entries are overwritten on collision) keeps memory bounded.
 */
export class InternTable {
  readonly maxBytes: number;
  /** Per entry the string and what `classify` said about it, handed back on every hit as `reader.meta`. */
  private readonly cache: BytesCache<{ value: string; meta: number }>;
  private readonly classify: ((value: string) => number) | undefined;

  /** `slots` must be a power of two. */
  constructor(slots = INTERN_SLOTS, maxBytes = INTERN_MAX_BYTES, classify?: (value: string) => number) {
    this.maxBytes = maxBytes;
    this.cache = new BytesCache(slots, maxBytes);
    this.classify = classify;
  }

  /** The string for buf[start, end) (1..maxBytes bytes); `reader` decodes it on a miss. */
  lookup(buf: Uint8Array, view: DataView, start: number, end: number, reader: ProtoReader): string {
    const hit = this.cache.find(buf, view, start, end);
    if (hit !== undefined) {
      reader.meta = hit.meta;
      return hit.value;
    }
    const value = reader.decodeUtf8(start, end);
    const meta = this.classify === undefined ? 0 : this.classify(value);
    reader.meta = meta;
    this.cache.store(buf, view, start, end, { value, meta });
    return value;
  }
}

/** Hash of the length and eight sampled bytes of buf[start, end) (end > start): cheap; callers compare in full. */
function hashRange(buf: Uint8Array, start: number, end: number): number {
  const length = end - start;
  const quarter = length >> 2;
  const mid = start + (length >> 1);
  let h = Math.imul(length, 0x9e3779b1) ^ buf[start];
  h = Math.imul(h, 0x01000193) ^ buf[end - 1];
  h = Math.imul(h, 0x01000193) ^ buf[mid];
  h = Math.imul(h, 0x01000193) ^ buf[start + quarter];
  h = Math.imul(h, 0x01000193) ^ buf[end - 1 - quarter];
  h = Math.imul(h, 0x01000193) ^ buf[mid - (length > 1 ? 1 : 0)];
  return h ^ (h >>> 15);
}

/**
 * A fixed-size cache from byte strings to values (entries overwritten on collision). The decoders
 * use it for whole KeyValue messages: an attribute seen before, byte for byte, is recognised with one
 * hash and one compare instead of being parsed again.
 */
export class BytesCache<T> {
  readonly maxBytes: number;
  /** Slot computed by the last `find`, used by the `store` that follows a miss. */
  private slot = 0;
  private readonly mask: number;
  private readonly bytes: Uint8Array;
  private readonly words: DataView;
  private readonly lengths: Int32Array;
  private readonly entries: Array<T | undefined>;

  /** `slots` must be a power of two. */
  constructor(slots: number, maxBytes: number) {
    this.mask = slots - 1;
    this.maxBytes = maxBytes;
    this.bytes = new Uint8Array(slots * maxBytes);
    this.words = new DataView(this.bytes.buffer);
    this.lengths = new Int32Array(slots).fill(-1);
    this.entries = new Array<T | undefined>(slots).fill(undefined);
  }

  /** The entry stored for exactly buf[start, end) (1..maxBytes bytes), or undefined. */
  find(buf: Uint8Array, view: DataView, start: number, end: number): T | undefined {
    const length = end - start;
    const slot = hashRange(buf, start, end) & this.mask;
    this.slot = slot;
    if (this.lengths[slot] !== length) return undefined;
    const base = slot * this.maxBytes;
    const words = this.words;
    let i = 0;
    const whole = length & ~3;
    while (i < whole && words.getInt32(base + i) === view.getInt32(start + i)) i += 4;
    if (i < whole) return undefined;
    const table = this.bytes;
    while (i < length && table[base + i] === buf[start + i]) i++;
    return i === length ? this.entries[slot] : undefined;
  }

  /** Stores `entry` for buf[start, end) in the slot the preceding `find` of the same bytes computed. */
  store(buf: Uint8Array, view: DataView, start: number, end: number, entry: T): void {
    const length = end - start;
    const slot = this.slot;
    const base = slot * this.maxBytes;
    const words = this.words;
    const whole = length & ~3;
    let i = 0;
    for (; i < whole; i += 4) words.setInt32(base + i, view.getInt32(start + i));
    const table = this.bytes;
    for (; i < length; i++) table[base + i] = buf[start + i];
    this.lengths[slot] = length;
    this.entries[slot] = entry;
  }
}

