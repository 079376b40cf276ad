/**
 * The OTLP part of the sensor's protobuf writing, on core/protobuf/writer.ts: KeyValue attributes from flat lists
 * (short ASCII keys and values with every length prefix sized up front, repeated key/value pairs copied from a
 * cache), AnyValue as otlp-transformer's serializer types attribute values, and wall-clock timestamps from the
 * records' monotonic clock. The generic serializer of @opentelemetry/otlp-transformer spent ~25% of the agent's CPU
 * on the same bytes. Field numbers: opentelemetry/proto/{collector/trace,trace,common,resource}/v1 (schemas/otlp).
 */
import { ProtoWriter, varintSize } from '../../core/protobuf/writer.ts';

/** Attribute values as the sensor produces them (arrays are header values). */
export type AttrValue = string | number | boolean | string[];
/** Attributes as a flat list, `[key0, value0, key1, value1, …]`: no per-span object with dynamic keys. */
export type AttrList = Array<string | AttrValue>;

const TWO32 = 4294967296;
const MAX_ASCII_RUN = 512; // the one-pass ASCII paths copy at most this many chars (then utf8Write is cheaper)

// Most attributes of a span repeat the previous span's (scheme, method, the same headers, the
// connection's addresses): their encoded KeyValue is kept per key and copied when the value is the same.
interface CachedKeyValue { field: number; value: string; array: boolean; bytes: Buffer; hits: number; misses: number }
const kvCache = new Map<string, CachedKeyValue>();
const MAX_CACHED_KEYS = 2048;
const MAX_CACHED_VALUE = 96;

export class OtlpWriter extends ProtoWriter {
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

  /**
   * Tag (field < 16) and length of a length-delimited field at `at`, past content the ASCII paths wrote ahead; the
   * caller made room. Returns the content start.
   */
  private headAt(at: number, field: number, length: number): number {
    this.buf[at] = (field << 3) | 2;
    this.pos = at + 1;
    this.putVarint(length);
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
    const at = this.headAt(this.headAt(start, field, kvLen), 1, klen);
    if (!this.ascii(key, at)) {
      this.rewind(start);
      return -1;
    }
    return this.headAt(at + klen, 2, anyLen);
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
    at = this.headAt(at, 1, vlen);
    return this.asciiValue(value, at, start);
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
    at = this.headAt(at, 5, arrayLen);
    at = this.headAt(at, 1, entryLen);
    at = this.headAt(at, 1, vlen);
    return this.asciiValue(value, at, start);
  }

  /** The value that ends an ASCII KeyValue, at `at`; when it is not ASCII, back to `start` (the KeyValue's) and false. */
  private asciiValue(value: string, at: number, start: number): boolean {
    if (!this.ascii(value, at)) {
      this.rewind(start);
      return false;
    }
    this.pos = at + value.length;
    return true;
  }

  /** KeyValue{key, AnyValue{int_value}} for an ASCII key and a non-negative safe integer. */
  private asciiUintKeyValue(field: number, key: string, value: number): boolean {
    if (key.length > MAX_ASCII_RUN) return false;
    const at = this.asciiKeyHead(field, key, 1 + varintSize(value));
    if (at < 0) return false;
    this.buf[at] = 3 << 3; // AnyValue.int_value, room made by asciiKeyHead
    this.pos = at + 1;
    this.putVarint(value);
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
      if (Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63) {
        this.tag(3, 0);
        this.int64(value);
      } else {
        this.tag(4, 1);
        this.double(value);
      }
    } else if (typeof value === 'boolean') {
      this.varintField(2, value ? 1 : 0);
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
