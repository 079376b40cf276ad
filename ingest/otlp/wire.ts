/**
 * Protobuf wire-format reading for the hot-path OTLP decoders: varints, fixed-width numbers,
 * length-delimited fields and skipping of unknown fields, every read bounds-checked. Malformed
 * input raises DecodeError and nothing else; no read ever goes past the end of its message.
 */
import { DecodeError } from '../../core/errors.ts';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** Nesting allowed for AnyValue arrays/kvlists and groups; deeper input is rejected, never recursed into. */
export const MAX_NESTING = 32;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const TWO_POW_32 = 4294967296;

/** Strings of at most this many bytes are looked up in the intern table before being decoded. */
const INTERN_MAX_BYTES = 48;
const INTERN_SLOTS = 8192;

/**
 * Attribute keys, resource values, methods, addresses and user agents repeat across spans; decoding
 * them once and recognising their bytes afterwards is much cheaper than building a new string each
 * time. A fixed-size table (no growth, entries are overwritten on collision) keeps memory bounded.
 */
class InternTable {
  private readonly bytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX_BYTES);
  private readonly lengths = new Int32Array(INTERN_SLOTS).fill(-1);
  private readonly strings: string[] = new Array<string>(INTERN_SLOTS).fill('');

  lookup(buf: Uint8Array, start: number, end: number, decode: (start: number, end: number) => string): string {
    const length = end - start;
    // Hash of length and up to eight sampled bytes: cheap, and the full compare below keeps it exact.
    let h = Math.imul(length, 0x9e3779b1);
    h = Math.imul(h ^ buf[start], 0x01000193);
    h = Math.imul(h ^ buf[end - 1], 0x01000193);
    if (length > 2) {
      const mid = start + (length >> 1);
      h = Math.imul(h ^ buf[mid], 0x01000193);
      h = Math.imul(h ^ buf[mid - 1], 0x01000193);
      h = Math.imul(h ^ buf[end - 2], 0x01000193);
      h = Math.imul(h ^ buf[start + (length >> 2)], 0x01000193);
      h = Math.imul(h ^ buf[end - 1 - (length >> 2)], 0x01000193);
    }
    const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
    const base = slot * INTERN_MAX_BYTES;
    const table = this.bytes;
    if (this.lengths[slot] === length) {
      let i = 0;
      while (i < length && table[base + i] === buf[start + i]) i++;
      if (i === length) return this.strings[slot];
    }
    const value = decode(start, end);
    table.set(buf.subarray(start, end), base);
    this.lengths[slot] = length;
    this.strings[slot] = value;
    return value;
  }
}

const sharedInterns = new InternTable();
const utf8Decoder = new TextDecoder('utf-8');

/** A cursor over one protobuf-encoded buffer. `end` is the end of the message being read. */
export class WireReader {
  readonly buf: Uint8Array;
  pos: number;
  end: number;
  /** Low and high 32 bits of the last 64-bit value read (unsigned). */
  lo = 0;
  hi = 0;
  private readonly view: DataView;
  private readonly node: Buffer;
  private readonly decodeSlice = (start: number, end: number): string => this.decodeUtf8(start, end);

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.node = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(reason: string): never {
    throw new DecodeError(`malformed protobuf at byte ${this.pos}: ${reason}`);
  }

  /** A varint of at most 64 bits, returned as its low 32 bits (unsigned); the high bits go to `hi`. */
  varint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= this.end) this.fail('truncated varint');
    const b = buf[pos++];
    if (b < 0x80) {
      this.pos = pos;
      this.hi = 0;
      return b;
    }
    this.pos = pos - 1;
    this.varint64();
    return this.lo;
  }

  /** A varint of at most 64 bits into `lo`/`hi`. */
  varint64(): void {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) this.fail('truncated varint');
      b = buf[pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = 0;
        this.pos = pos;
        return;
      }
    }
    // Byte 5 carries bits 28..34: four for lo, three for hi.
    if (pos >= end) this.fail('truncated varint');
    b = buf[pos++];
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b >= 0x80) {
      for (let shift = 3; ; shift += 7) {
        if (shift > 31) this.fail('varint longer than 10 bytes');
        if (pos >= end) this.fail('truncated varint');
        b = buf[pos++];
        if (shift < 32) hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.pos = pos;
  }

  /** A tag; field number 0 and the two reserved wire types are rejected. */
  tag(): number {
    const tag = this.varint32();
    if (this.hi !== 0) this.fail('tag out of range');
    if (tag >>> 3 === 0) this.fail('field number 0');
    const wire = tag & 7;
    if (wire > 5) this.fail(`invalid wire type ${wire}`);
    return tag;
  }

  /** Reads a length prefix and returns the end offset of the field it announces. */
  lengthEnd(): number {
    const length = this.varint32();
    if (this.hi !== 0 || length > this.end - this.pos) this.fail(`length ${length} runs past the end of the message`);
    return this.pos + length;
  }

  fixed32(): number {
    const pos = this.pos;
    if (pos + 4 > this.end) this.fail('truncated fixed32');
    this.pos = pos + 4;
    return this.view.getUint32(pos, true);
  }

  /** A fixed64 into `lo`/`hi`. */
  fixed64(): void {
    const pos = this.pos;
    if (pos + 8 > this.end) this.fail('truncated fixed64');
    this.lo = this.view.getUint32(pos, true);
    this.hi = this.view.getUint32(pos + 4, true);
    this.pos = pos + 8;
  }

  double(): number {
    const pos = this.pos;
    if (pos + 8 > this.end) this.fail('truncated double');
    this.pos = pos + 8;
    return this.view.getFloat64(pos, true);
  }

  /** The last 64-bit value read as a signed integer, rounded to the nearest double like Long#toNumber. */
  int64Number(): number {
    return (this.hi | 0) * TWO_POW_32 + this.lo;
  }

  /** The last 64-bit value read as an unsigned integer, rounded to the nearest double. */
  uint64Number(): number {
    return this.hi * TWO_POW_32 + this.lo;
  }

  /** A length-delimited UTF-8 string; invalid sequences become U+FFFD, as TextDecoder does. */
  string(): string {
    const end = this.lengthEnd();
    const start = this.pos;
    this.pos = end;
    if (start === end) return '';
    if (end - start <= INTERN_MAX_BYTES) return sharedInterns.lookup(this.buf, start, end, this.decodeSlice);
    return this.decodeUtf8(start, end);
  }

  /** A string that is unlikely to repeat (paths, statements): decoded without the intern table. */
  uniqueString(): string {
    const end = this.lengthEnd();
    const start = this.pos;
    this.pos = end;
    return start === end ? '' : this.decodeUtf8(start, end);
  }

  private decodeUtf8(start: number, end: number): string {
    const buf = this.buf;
    for (let i = start; i < end; i++) {
      if (buf[i] >= 0x80) return utf8Decoder.decode(buf.subarray(start, end));
    }
    return this.node.latin1Slice(start, end);
  }

  /** A length-delimited bytes field as a fresh copy. */
  bytes(): Uint8Array {
    const end = this.lengthEnd();
    const start = this.pos;
    this.pos = end;
    return this.buf.slice(start, end);
  }

  /** A length-delimited bytes field as base64 (how OTLP/JSON and our flattened attributes carry bytes). */
  base64(): string {
    const end = this.lengthEnd();
    const start = this.pos;
    this.pos = end;
    return this.node.base64Slice(start, end);
  }

  /**
   * A trace or span id as lowercase hex. `size` is the only length allowed besides empty; an id of
   * all zero bytes (or empty) comes back as ''.
   */
  id(size: 8 | 16, what: string): string {
    const end = this.lengthEnd();
    const start = this.pos;
    this.pos = end;
    const length = end - start;
    if (length === 0) return '';
    if (length !== size) this.fail(`${what} must be ${size} bytes, got ${length}`);
    const b = this.buf;
    if (size === 8) {
      if ((b[start] | b[start + 1] | b[start + 2] | b[start + 3] | b[start + 4] | b[start + 5] | b[start + 6] | b[start + 7]) === 0) return '';
      return (
        HEX[b[start]] + HEX[b[start + 1]] + HEX[b[start + 2]] + HEX[b[start + 3]] +
        HEX[b[start + 4]] + HEX[b[start + 5]] + HEX[b[start + 6]] + HEX[b[start + 7]]
      );
    }
    let any = 0;
    for (let i = start; i < end; i++) any |= b[i];
    if (any === 0) return '';
    return this.node.hexSlice(start, end);
  }

  /** Skips one field whose tag was just read. */
  skip(tag: number, depth = 0): void {
    switch (tag & 7) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lengthEnd();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_NESTING) this.fail('groups nested too deeply');
        const field = tag >>> 3;
        for (;;) {
          if (this.pos >= this.end) this.fail('unterminated group');
          const inner = this.tag();
          if ((inner & 7) === WIRE_END_GROUP) {
            if (inner >>> 3 !== field) this.fail('mismatched end group');
            return;
          }
          this.skip(inner, depth + 1);
        }
      }
      default:
        this.fail(`unexpected end group for field ${tag >>> 3}`);
    }
  }

  /** For a known field number seen with the wrong wire type: the encoder and we disagree on the schema. */
  wrongType(tag: number, message: string): never {
    this.fail(`${message} field ${tag >>> 3} has wire type ${tag & 7}`);
  }
}

/**
 * Unix nanoseconds (as 32-bit halves of an unsigned 64-bit value) to milliseconds. The integer part of
 * the milliseconds is exact; only the sub-millisecond fraction is rounded, once. Splitting 2^32 as
 * 4294 * 10^6 + 967296 keeps every intermediate below 2^53.
 */
export function nanosToMs(lo: number, hi: number): number {
  const low = hi * 967296 + lo;
  const whole = hi * 4294 + Math.floor(low / 1e6);
  return whole + (low % 1e6) / 1e6;
}

/** Difference of two unix-nano timestamps in ms; exact while the difference is below 2^53 ns. */
export function nanosDiffMs(startLo: number, startHi: number, endLo: number, endHi: number): number {
  return ((endHi - startHi) * TWO_POW_32 + (endLo - startLo)) / 1e6;
}

/** The same conversion for a BigInt (JSON strings, protobufjs Longs): identical results by construction. */
export function bigNanosToMs(nanos: bigint): number {
  const unsigned = BigInt.asUintN(64, nanos);
  return nanosToMs(Number(unsigned & 0xffffffffn), Number(unsigned >> 32n));
}

export function bigNanosDiffMs(start: bigint, end: bigint): number {
  const s = BigInt.asUintN(64, start);
  const e = BigInt.asUintN(64, end);
  return nanosDiffMs(Number(s & 0xffffffffn), Number(s >> 32n), Number(e & 0xffffffffn), Number(e >> 32n));
}
