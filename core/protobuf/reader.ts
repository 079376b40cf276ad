/**
 * The protobuf wire format, read: varints, fixed-width numbers, length-delimited fields, skipping of unknown fields
 * and groups, every read bounds-checked against the end of the message being read. Malformed input raises
 * DecodeError and nothing else; no read ever goes past `end`. Used by every decoder and scanner of protobuf bytes
 * (OTLP decoding, the receiver's request splitting).
 */
import { DecodeError } from '../errors.ts';
import { INTERN_MAX_BYTES, InternTable } from './bytes-cache.ts';

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

const sharedInterns = new InternTable();

/**
 * Node's Buffer has slice decoders (`latin1Slice`, `hexSlice`, `base64Slice`) that `toString` calls
 * after argument checks; calling them directly saves that on the hot path. Undocumented, so fall back
 * to `toString` where they are missing.
 */
interface SliceDecoders {
  latin1Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
  base64Slice(start: number, end: number): string;
}
function sliceDecoders(buf: Buffer): SliceDecoders {
  const fast = buf as unknown as Partial<SliceDecoders>;
  if (typeof fast.latin1Slice === 'function' && typeof fast.hexSlice === 'function' && typeof fast.base64Slice === 'function') {
    return fast as SliceDecoders;
  }
  return {
    latin1Slice: (start, end) => buf.toString('latin1', start, end),
    hexSlice: (start, end) => buf.toString('hex', start, end),
    base64Slice: (start, end) => buf.toString('base64', start, end),
  };
}
const utf8Decoder = new TextDecoder('utf-8');

/**
 * A cursor over one protobuf-encoded buffer. `end` is the end of the message being read: a caller reading a nested
 * message sets it to the message's end and restores it afterwards.
 */
export class ProtoReader {
  readonly buf: Uint8Array;
  pos: number;
  end: number;
  /** Low and high 32 bits of the last 64-bit value read (unsigned). */
  lo = 0;
  hi = 0;
  /** Classification of the last string read through a classifying InternTable. */
  meta = 0;
  readonly view: DataView;
  private readonly node: SliceDecoders;

  /** `what` names the message in errors (`malformed <what>: <reason> at byte <n>`). */
  constructor(buf: Uint8Array, readonly what = 'protobuf') {
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.node = sliceDecoders(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  }

  fail(reason: string): never {
    throw new DecodeError(`malformed ${this.what}: ${reason} at byte ${this.pos}`);
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
    // Two bytes (lengths of 128..16383: attributes with long values, whole spans) without the general loop.
    if (pos < this.end) {
      const b2 = buf[pos];
      if (b2 < 0x80) {
        this.pos = pos + 1;
        this.hi = 0;
        return (b & 0x7f) | (b2 << 7);
      }
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
    // Almost every tag is one byte with a valid field number and wire type.
    const pos = this.pos;
    if (pos < this.end) {
      const b = this.buf[pos];
      if (b < 0x80 && b >= 8 && (b & 7) <= 5) {
        this.pos = pos + 1;
        return b;
      }
    }
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
    if (end - start <= INTERN_MAX_BYTES) return sharedInterns.lookup(this.buf, this.view, start, end, this);
    return this.decodeUtf8(start, end);
  }

  /** A string looked up in `table` (sets `meta`); longer strings are decoded with meta = `fallbackMeta`. */
  internedString(table: InternTable, fallbackMeta: (value: string) => number): string {
    const end = this.lengthEnd();
    const start = this.pos;
    this.pos = end;
    if (start !== end && end - start <= table.maxBytes) return table.lookup(this.buf, this.view, start, end, this);
    const value = start === end ? '' : this.decodeUtf8(start, end);
    this.meta = fallbackMeta(value);
    return value;
  }

  /** A string that is unlikely to repeat (paths, statements): decoded without the intern table. */
  uniqueString(): string {
    const end = this.lengthEnd();
    const start = this.pos;
    this.pos = end;
    return start === end ? '' : this.decodeUtf8(start, end);
  }

  /** buf[start, end) as UTF-8; pure ASCII (the common case) takes the latin1 fast path. */
  decodeUtf8(start: number, end: number): string {
    const view = this.view;
    let i = start;
    for (const whole = end - 3; i < whole; i += 4) {
      if ((view.getInt32(i) & 0x80808080) !== 0) return utf8Decoder.decode(this.buf.subarray(start, end));
    }
    const buf = this.buf;
    for (; i < end; i++) {
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
    const v = this.view;
    if ((v.getInt32(start) | v.getInt32(start + 4) | v.getInt32(start + 8) | v.getInt32(start + 12)) === 0) return '';
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

