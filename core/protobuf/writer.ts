/**
 * The protobuf wire format, written: one growable Buffer, varints inline, strings written straight into the buffer
 * (a char loop for short ASCII, Buffer's `utf8Write` otherwise). A nested message's length prefix is reserved
 * before its content is written and the content moved in the rare case the prefix needs more bytes than reserved,
 * so nothing is written twice. Callers that know a field's size up front (`varintSize`, `fieldSize`) write it
 * with no move at all.
 */

const TWO_POW_32 = 4294967296;
/** Below this many UTF-16 units a JS char loop beats the native utf8Write call. */
const SHORT_STRING = 48;
/** Wire type of length-delimited fields. */
const LEN = 2;

/** Bytes a varint of `v` (a non-negative integer below 2^53) takes. */
export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  v = Math.floor(v / 0x800000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 0x80);
  }
  return n;
}

/** Encoded size of a length-delimited field of `length` content bytes (field numbers 1–15: one-byte tag). */
export function fieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

type Utf8Buffer = Buffer & { utf8Write(s: string, offset: number, length?: number): number };

export class ProtoWriter {
  buf: Utf8Buffer;
  pos = 0;

  /** `initialSize`: the exact size when the caller knows it (no growth), else a guess. */
  constructor(initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(1, initialSize)) as Utf8Buffer;
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n)) as Utf8Buffer;
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The bytes written (a view of the writer's buffer: do not write again while it is in use). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Back to `pos`, dropping what was written after it. */
  rewind(pos: number): void {
    this.pos = pos;
  }

  /** A non-negative integer below 2^53. */
  varint(v: number): void {
    // Exact room only near the end, so a writer sized exactly for its message never grows.
    if (this.pos + 10 > this.buf.length) this.ensure(varintSize(v));
    this.putVarint(v);
  }

  /** `varint` without the room check: the caller made room (or the bytes are already there). Exact up to 2^64. */
  protected putVarint(v: number): void {
    const buf = this.buf;
    let pos = this.pos;
    if (v < 0x80) {
      buf[pos++] = v;
    } else if (v < TWO_POW_32) {
      while (v > 0x7f) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[pos++] = v;
    } else {
      while (v > 0x7f) {
        buf[pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      buf[pos++] = v;
    }
    this.pos = pos;
  }

  /** An int64 varint of any integer in [-2^63, 2^63): negative numbers as ten-byte two's complement, as protobuf writes them. */
  int64(v: number): void {
    if (v >= 0) {
      this.varint(v);
      return;
    }
    this.ensure(10);
    let n = BigInt.asUintN(64, BigInt(v));
    const buf = this.buf;
    while (n > 0x7fn) {
      buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    buf[this.pos++] = Number(n);
  }

  /** A field's key. */
  tag(field: number, wire: number): void {
    const key = field * 8 + wire;
    if (key < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = key;
    } else this.varint(key);
  }

  fixed32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** A fixed64 given as its low and high 32 bits. */
  fixed64(low: number, high: number): void {
    this.ensure(8);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = low & 0xff;
    buf[pos++] = (low >>> 8) & 0xff;
    buf[pos++] = (low >>> 16) & 0xff;
    buf[pos++] = low >>> 24;
    buf[pos++] = high & 0xff;
    buf[pos++] = (high >>> 8) & 0xff;
    buf[pos++] = (high >>> 16) & 0xff;
    buf[pos++] = high >>> 24;
    this.pos = pos;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Bytes as they are (already encoded fields, or the content of a field whose head was written). */
  raw(bytes: Uint8Array, start = 0, end = bytes.length): void {
    const n = end - start;
    this.ensure(n);
    this.buf.set(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), this.pos);
    this.pos += n;
  }

  varintField(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  /** Tag and length of a length-delimited field whose content (`length` bytes) the caller writes next. */
  lengthHead(field: number, length: number): void {
    this.tag(field, LEN);
    this.varint(length);
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.lengthHead(field, bytes.length);
    this.raw(bytes);
  }

  stringField(field: number, s: string): void {
    this.tag(field, LEN);
    this.ensure(s.length * 3 + 10);
    const reserved = varintSize(s.length);
    const n = this.utf8(s, this.pos + reserved);
    this.closeAt(this.pos, reserved, n);
  }

  /** Opens a length-delimited field (a nested message); `expected` content size sizes the reserved prefix. Returns a mark for `end`. */
  begin(field: number, expected = 100): number {
    this.tag(field, LEN);
    const reserved = varintSize(expected);
    this.ensure(reserved);
    const at = this.pos;
    this.pos += reserved;
    return at * 8 + reserved;
  }

  /** Closes the field `begin` opened: writes its length, moving the content if the prefix needs more room. */
  end(mark: number): void {
    const reserved = mark % 8;
    const at = (mark - reserved) / 8;
    this.closeAt(at, reserved, this.pos - at - reserved);
  }

  /** `s` as UTF-8 at `at` (room for 3 bytes per UTF-16 unit ensured); returns the byte count. */
  protected utf8(s: string, at: number): number {
    const len = s.length;
    if (len < SHORT_STRING) {
      const buf = this.buf;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) return buf.utf8Write(s, at);
        buf[at + i] = c;
      }
      return len;
    }
    return this.buf.utf8Write(s, at);
  }

  /**
   * Writes the length `n` of content already placed at `at + reserved` into the prefix at `at`, moving the content
   * if its length needs more or fewer bytes than reserved; ends the write.
   */
  protected closeAt(at: number, reserved: number, n: number): void {
    const size = varintSize(n);
    if (size !== reserved) {
      this.pos = at + reserved + n;
      if (size > reserved) this.ensure(size - reserved);
      this.buf.copyWithin(at + size, at + reserved, at + reserved + n);
    }
    this.pos = at;
    this.putVarint(n);
    this.pos = at + size + n;
  }
}
