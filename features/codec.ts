/**
 * The byte format of partial aggregates and history on Peregrine's internal topics: unsigned varints, doubles,
 * UTF-8 strings. Small on purpose (partials cross Kafka once per entity, window and source partition) and
 * bounds-checked on read: a corrupt record raises DecodeError, never a crash or an endless loop.
 */
import { DecodeError } from '../core/errors.ts';

export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A non-negative integer below 2^53. */
  uint(n: number): this {
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
    return this;
  }

  /** A signed integer in ±2^52 (zigzag). */
  int(n: number): this {
    return this.uint(n < 0 ? -2 * n - 1 : 2 * n);
  }

  double(n: number): this {
    this.room(8);
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
    return this;
  }

  string(s: string): this {
    const length = Buffer.byteLength(s, 'utf8');
    this.uint(length);
    this.room(length);
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  bytes(b: Uint8Array): this {
    this.uint(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Starts over (a writer reused for record after record keeps its grown buffer: no growth copies, no new buffer). */
  reset(): this {
    this.pos = 0;
    return this;
  }

  /** The bytes written, as a copy of their own (the writer's buffer is larger and may be reused). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

export class ByteReader {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  uint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.buf.length) throw new DecodeError('truncated varint');
      const b = this.buf[this.pos++];
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
    throw new DecodeError('varint longer than 8 bytes');
  }

  /** A count that must not exceed `max` (guards allocations against corrupt lengths). */
  count(max: number): number {
    const n = this.uint();
    if (n > max) throw new DecodeError(`count ${n} above its limit ${max}`);
    return n;
  }

  int(): number {
    const z = this.uint();
    return z % 2 === 1 ? -(z + 1) / 2 : z / 2;
  }

  double(): number {
    if (this.pos + 8 > this.buf.length) throw new DecodeError('truncated double');
    const n = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return n;
  }

  bytes(): Uint8Array {
    const n = this.uint();
    if (this.pos + n > this.buf.length) throw new DecodeError('truncated bytes');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.uint();
    if (this.pos + n > this.buf.length) throw new DecodeError('truncated string');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}
