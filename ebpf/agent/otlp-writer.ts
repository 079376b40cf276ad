/**
 * A small protobuf writer for the sensor's hot path: ExportTraceServiceRequest bytes for a batch of
 * HTTP spans. One growable Buffer, varints inline, strings written straight into the buffer (a
 * char loop for short ASCII, `utf8Write` otherwise) with their length prefix reserved from the
 * UTF-16 length and shifted in the rare case the UTF-8 form needs a longer prefix. The generic
 * serializer of @opentelemetry/otlp-transformer spent ~25% of the agent's CPU on the same bytes.
 * Field numbers: opentelemetry/proto/{collector/trace,trace,common,resource}/v1 (schemas/otlp).
 */

/** Attribute values as the sensor produces them (arrays are header values). */
export type AttrValue = string | number | boolean | string[];
/** Attributes as a flat list, `[key0, value0, key1, value1, …]`: no per-span object with dynamic keys. */
export type AttrList = Array<string | AttrValue>;

const TWO32 = 4294967296;
const SHORT_STRING = 48; // below this a JS char loop beats the native utf8Write call
const MAX_ASCII_RUN = 512; // the one-pass ASCII paths copy at most this many chars (then utf8Write is cheaper)

/** Bytes a varint of `v` (a non-negative integer below 2^53) takes. */
function varintSize(v: number): number {
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

// Most attributes of a span repeat the previous span's (scheme, method, the same headers, the
// connection's addresses): their encoded KeyValue is kept per key and copied when the value is the same.
interface CachedKeyValue { field: number; value: string; array: boolean; bytes: Buffer; hits: number; misses: number }
const kvCache = new Map<string, CachedKeyValue>();
const MAX_CACHED_KEYS = 2048;
const MAX_CACHED_VALUE = 96;

type Utf8Buffer = Buffer & { utf8Write(s: string, offset: number, length?: number): number };

export class ProtoWriter {
  buf: Utf8Buffer;
  pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize) as Utf8Buffer;
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n)) as Utf8Buffer;
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The bytes written (a view of the writer's buffer: the writer must not be reused while it lives). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** A non-negative integer below 2^53 (callers ensure room for 8 bytes). */
  varint(v: number): void {
    const buf = this.buf;
    let pos = this.pos;
    if (v < 0x80) {
      buf[pos++] = v;
    } else if (v < TWO32) {
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

  /** An int64 varint: negative numbers as ten-byte two's complement, as protobuf does. */
  int64(v: number): void {
    if (v >= 0) {
      this.varint(v);
      return;
    }
    let n = BigInt.asUintN(64, BigInt(v));
    const buf = this.buf;
    while (n > 0x7fn) {
      buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    buf[this.pos++] = Number(n);
  }

  /** Field key; fields and wire types here always fit one byte (field < 16). */
  tag(field: number, wire: number): void {
    this.buf[this.pos++] = (field << 3) | wire;
  }

  fixed64(low: number, high: number): void {
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
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.ensure(bytes.length + 12);
    this.tag(field, 2);
    this.varint(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** `s` as UTF-8 at `at` (room for 3 bytes per UTF-16 unit ensured); returns the byte count. */
  private utf8(s: string, at: number): number {
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

  stringField(field: number, s: string): void {
    this.ensure(s.length * 3 + 12);
    this.tag(field, 2);
    const guess = varintSize(s.length);
    const n = this.utf8(s, this.pos + guess);
    this.closeAt(this.pos, guess, n);
  }

  /**
   * Writes the length `n` of content already placed at `at + reserved` into the prefix at `at`,
   * moving the content if its length needs more than the reserved bytes; ends the write.
   */
  private closeAt(at: number, reserved: number, n: number): void {
    const size = varintSize(n);
    if (size !== reserved) {
      this.pos = at + reserved + n;
      if (size > reserved) this.ensure(size - reserved);
      this.buf.copyWithin(at + size, at + reserved, at + reserved + n);
    }
    this.pos = at;
    this.varint(n);
    this.pos = at + size + n;
  }

  /** Opens a length-delimited field; `expected` content size sizes the reserved prefix. Returns a mark for `end`. */
  begin(field: number, expected = 100): number {
    this.ensure(16);
    this.tag(field, 2);
    const at = this.pos;
    const reserved = varintSize(expected);
    this.pos += reserved;
    return at * 8 + reserved;
  }

  end(mark: number): void {
    const reserved = mark % 8;
    const at = (mark - reserved) / 8;
    this.closeAt(at, reserved, this.pos - at - reserved);
  }

  /**
   * `s` as ASCII at `at`, when it is ASCII and short: false (nothing meaningful written) otherwise.
   * Lets the callers size every length prefix before writing, with no moves afterwards.
   */
  private ascii(s: string, at: number): boolean {
    const len = s.length;
    if (len > MAX_ASCII_RUN) return false;
    const buf = this.buf;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    return true;
  }

  /** Tag and length of a length-delimited field whose content size is known; returns the content start. */
  private head(at: number, field: number, length: number): number {
    this.buf[at] = (field << 3) | 2;
    this.pos = at + 1;
    this.varint(length);
    return this.pos;
  }

  /**
   * The part every short-ASCII KeyValue shares: its tag and length, the key, and the tag and length of an AnyValue of
   * `anyLen` bytes. Returns where the AnyValue's content goes, or -1 (nothing written) when the key is not ASCII.
   */
  private asciiKeyHead(field: number, key: string, anyLen: number): number {
    const klen = key.length;
    const kvLen = 1 + varintSize(klen) + klen + 1 + varintSize(anyLen) + anyLen;
    this.ensure(kvLen + 8);
    const start = this.pos;
    const at = this.head(this.head(start, field, kvLen), 1, klen);
    if (!this.ascii(key, at)) {
      this.rewind(start);
      return -1;
    }
    return this.head(at + klen, 2, anyLen);
  }

  /**
   * KeyValue{key, AnyValue{string_value}} for an ASCII key and value, every length known up front;
   * false (nothing written) when either is not short ASCII — the general path takes it.
   */
  private asciiStringKeyValue(field: number, key: string, value: string): boolean {
    const vlen = value.length;
    if (key.length > MAX_ASCII_RUN || vlen > MAX_ASCII_RUN) return false;
    const start = this.pos;
    let at = this.asciiKeyHead(field, key, 1 + varintSize(vlen) + vlen);
    if (at < 0) return false;
    at = this.head(at, 1, vlen);
    if (!this.ascii(value, at)) return this.rewind(start);
    this.pos = at + vlen;
    return true;
  }

  /** The same for a header's one-value array: KeyValue{key, AnyValue{array_value{values: [AnyValue{string_value}]}}}. */
  private asciiArrayKeyValue(field: number, key: string, value: string): boolean {
    const vlen = value.length;
    if (key.length > MAX_ASCII_RUN || vlen > MAX_ASCII_RUN) return false;
    const entryLen = 1 + varintSize(vlen) + vlen; // AnyValue{string_value}
    const arrayLen = 1 + varintSize(entryLen) + entryLen; // ArrayValue{values}
    const start = this.pos;
    let at = this.asciiKeyHead(field, key, 1 + varintSize(arrayLen) + arrayLen); // AnyValue{array_value}
    if (at < 0) return false;
    at = this.head(at, 5, arrayLen);
    at = this.head(at, 1, entryLen);
    at = this.head(at, 1, vlen);
    if (!this.ascii(value, at)) return this.rewind(start);
    this.pos = at + vlen;
    return true;
  }

  /** KeyValue{key, AnyValue{int_value}} for an ASCII key and a non-negative safe integer. */
  private asciiUintKeyValue(field: number, key: string, value: number): boolean {
    if (key.length > MAX_ASCII_RUN) return false;
    const at = this.asciiKeyHead(field, key, 1 + varintSize(value));
    if (at < 0) return false;
    this.buf[at] = (3 << 3) | 0;
    this.pos = at + 1;
    this.varint(value);
    return true;
  }

  /** Copies the bytes of this very key/value pair when the last span had it too. */
  private cachedKeyValue(field: number, key: string, value: string, array: boolean): boolean {
    const known = kvCache.get(key);
    if (known === undefined || known.value !== value || known.array !== array || known.field !== field) return false;
    const bytes = known.bytes;
    const n = bytes.length;
    this.ensure(n);
    const buf = this.buf;
    const pos = this.pos;
    if (n > 48) buf.set(bytes, pos); // a memcpy; for short runs the loop is cheaper than the call
    else for (let i = 0; i < n; i++) buf[pos + i] = bytes[i];
    this.pos = pos + n;
    known.hits++;
    return true;
  }

  /** Keeps the bytes just written for `key`, unless its values never repeat. */
  private remember(field: number, key: string, value: string, array: boolean, start: number): void {
    if (value.length > MAX_CACHED_VALUE) return;
    let known = kvCache.get(key);
    if (known === undefined) {
      if (kvCache.size >= MAX_CACHED_KEYS) kvCache.clear();
      known = { field, value, array, bytes: Buffer.from(this.buf.subarray(start, this.pos)) /* a copy: the writer moves bytes */, hits: 0, misses: 0 };
      kvCache.set(key, known);
      return;
    }
    if (++known.misses > 8 && known.hits < known.misses) return; // a value per span (a query, an id): not worth a copy
    known.field = field;
    known.value = value;
    known.array = array;
    known.bytes = Buffer.from(this.buf.subarray(start, this.pos)) /* a copy: the writer moves bytes */;
  }

  private rewind(pos: number): false {
    this.pos = pos;
    return false;
  }

  /** A KeyValue in repeated field `field` (attributes). */
  keyValue(field: number, key: string, value: AttrValue): void {
    if (typeof value === 'string') {
      const start = this.pos;
      if (this.cachedKeyValue(field, key, value, false)) return;
      if (this.asciiStringKeyValue(field, key, value)) {
        this.remember(field, key, value, false, start);
        return;
      }
    } else if (Array.isArray(value) && value.length === 1) {
      const start = this.pos;
      if (this.cachedKeyValue(field, key, value[0], true)) return;
      if (this.asciiArrayKeyValue(field, key, value[0])) {
        this.remember(field, key, value[0], true, start);
        return;
      }
    } else if (typeof value === 'number') {
      if (Number.isSafeInteger(value) && value >= 0 && this.asciiUintKeyValue(field, key, value)) return;
    } else if (Array.isArray(value) && value.length === 1) {
      if (this.asciiArrayKeyValue(field, key, value[0])) return;
    }
    this.generalKeyValue(field, key, value);
  }

  private generalKeyValue(field: number, key: string, value: AttrValue): void {
    const kv = this.begin(field, 16 + key.length + (typeof value === 'string' ? value.length : 16));
    this.stringField(1, key);
    const any = this.begin(2, typeof value === 'string' ? value.length + 2 : 16);
    this.anyValue(value);
    this.end(any);
    this.end(kv);
  }

  /** AnyValue content, typed as otlp-transformer's serializer types attribute values. */
  anyValue(value: AttrValue): void {
    if (typeof value === 'string') {
      this.stringField(1, value);
    } else if (typeof value === 'number') {
      this.ensure(12);
      if (Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63) {
        this.tag(3, 0);
        if (Math.abs(value) <= Number.MAX_SAFE_INTEGER) this.int64(value);
        else this.int64Big(value);
      } else {
        this.tag(4, 1);
        this.double(value);
      }
    } else if (typeof value === 'boolean') {
      this.ensure(2);
      this.tag(2, 0);
      this.buf[this.pos++] = value ? 1 : 0;
    } else {
      const array = this.begin(5, value.length * 24);
      for (const item of value) {
        const entry = this.begin(1, item.length + 2);
        this.stringField(1, item);
        this.end(entry);
      }
      this.end(array);
    }
  }

  /** Integers beyond 2^53 (exact as doubles only in part): through BigInt, rare. */
  private int64Big(value: number): void {
    let n = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (n > 0x7fn) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.pos++] = Number(n);
  }

  attributes(field: number, list: AttrList): void {
    for (let i = 0; i + 1 < list.length; i += 2) this.keyValue(field, list[i] as string, list[i + 1] as AttrValue);
  }
}

/** `offsetNs + round(monoNs)` split in 32-bit halves without BigInt per call (the offset is split once). */
export class WallClock {
  private offset = -1n;
  private offLow = 0;
  private offHigh = 0;

  fixed64(w: ProtoWriter, monoNs: number, offsetNs: bigint): void {
    if (offsetNs !== this.offset) {
      this.offset = offsetNs;
      this.offLow = Number(BigInt.asUintN(32, offsetNs));
      this.offHigh = Number(BigInt.asUintN(32, offsetNs >> 32n));
    }
    const m = Math.round(monoNs);
    const mHigh = Math.floor(m / TWO32);
    let low = this.offLow + (m - mHigh * TWO32);
    let high = this.offHigh + mHigh;
    if (low >= TWO32) {
      low -= TWO32;
      high += 1;
    }
    w.fixed64(low >>> 0, high >>> 0);
  }
}
