import { describe, expect, it } from 'vitest';
import { DecodeError } from '../errors.ts';
import { ProtoReader } from './reader.ts';

const reader = (bytes: number[]) => new ProtoReader(Uint8Array.from(bytes));

describe('ProtoReader', () => {
  it('reads varints of 1 to 10 bytes into 32-bit halves', () => {
    const r = reader([0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(r.varint32()).toBe(1);
    expect(r.varint32()).toBe(300);
    r.varint64();
    expect([r.lo, r.hi]).toEqual([0xffffffff, 0]);
    r.varint64();
    expect([r.lo, r.hi]).toEqual([0xffffffff, 0xffffffff]);
    expect(r.int64Number()).toBe(-1);
    expect(r.pos).toBe(18);
  });

  it('rejects varints longer than 10 bytes and truncated ones', () => {
    expect(() => reader(Array(11).fill(0xff).concat([0x01])).varint64()).toThrow(/longer than 10 bytes/);
    expect(() => reader([0x80, 0x80]).varint64()).toThrow(DecodeError);
    expect(() => reader([]).varint32()).toThrow(/truncated/);
  });

  it('rejects lengths past the end, field number 0 and wire types 6 and 7', () => {
    expect(() => reader([0x05, 0x00]).lengthEnd()).toThrow(/runs past the end/);
    expect(() => reader([0x02]).tag()).toThrow(/field number 0/);
    expect(() => reader([0x0e]).tag()).toThrow(/wire type 6/);
    expect(() => reader([0x0f]).tag()).toThrow(/wire type 7/);
  });

  it('skips every wire type, groups included, and rejects stray end-groups', () => {
    // varint, fixed64, length-delimited, fixed32, group{varint}, then a marker byte
    const r = reader([0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 0x02, 9, 9, 0x25, 1, 2, 3, 4, 0x2b, 0x08, 0x01, 0x2c, 0x7f]);
    for (let i = 0; i < 5; i++) r.skip(r.tag());
    expect(r.buf[r.pos]).toBe(0x7f);
    expect(() => {
      const s = reader([0x2c]);
      s.skip(s.tag());
    }).toThrow(/end group/);
    expect(() => {
      const s = reader([0x2b, 0x08]);
      s.skip(s.tag());
    }).toThrow(DecodeError);
  });

  it('reads ids as lowercase hex, all-zero and empty as absent, other lengths rejected', () => {
    expect(reader([0x08, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0xff]).id(8, 'span_id')).toBe('deadbeef000102ff');
    expect(reader([0x08, 0, 0, 0, 0, 0, 0, 0, 0]).id(8, 'span_id')).toBe('');
    expect(reader([0x00]).id(16, 'trace_id')).toBe('');
    expect(() => reader([0x04, 1, 2, 3, 4]).id(8, 'span_id')).toThrow(/span_id must be 8 bytes, got 4/);
  });

  it('decodes UTF-8 (including invalid sequences, as U+FFFD) the same way interned or not', () => {
    const text = 'héllo 🚀 日本';
    const bytes = Buffer.from(text);
    const r = new ProtoReader(Uint8Array.from([bytes.length, ...bytes, bytes.length, ...bytes, 2, 0xc3, 0x28]));
    expect(r.string()).toBe(text);
    expect(r.string()).toBe(text); // second time from the intern table
    expect(r.string()).toBe('\ufffd(');
  });
});
