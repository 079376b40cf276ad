import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { ProtoReader } from './reader.ts';
import { fieldSize, ProtoWriter, varintSize } from './writer.ts';

describe('ProtoWriter', () => {
  it('writes varints protobufjs reads back, up to 2^53', () => {
    const values = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER];
    const w = new ProtoWriter(4); // grows as needed
    for (const v of values) w.varint(v);
    const r = protobuf.Reader.create(w.finish());
    for (const v of values) expect(Number(r.uint64())).toBe(v);
    expect(r.pos).toBe(w.pos);
    expect(values.map(varintSize)).toEqual(values.map((v) => protobuf.Writer.create().uint64(v).finish().length));
  });

  it('writes negative int64 as ten bytes of two’s complement', () => {
    const w = new ProtoWriter();
    w.int64(-1);
    w.int64(-300);
    expect(w.pos).toBe(20);
    const r = protobuf.Reader.create(w.finish());
    expect(Number(r.int64())).toBe(-1);
    expect(Number(r.int64())).toBe(-300);
  });

  it('writes int64 beyond 2^53 as protobuf does, positive and negative', () => {
    const values = [2 ** 53 + 2, 2 ** 60, 2 ** 63 - 1024, -(2 ** 53) - 2, -(2 ** 60) - 4096, -(2 ** 63)];
    const w = new ProtoWriter(4);
    for (const v of values) w.int64(v);
    const r = protobuf.Reader.create(w.finish());
    for (const v of values) expect(r.int64().toString()).toBe(BigInt(v).toString());
    expect(r.pos).toBe(w.pos);
  });

  it('writes strings with the shortest length prefix at every prefix-size boundary, growing its buffer', () => {
    for (const n of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
      const w = new ProtoWriter(16);
      w.stringField(1, 'a'.repeat(n));
      const bytes = w.finish();
      expect(bytes.length).toBe(fieldSize(n));
      const r = new ProtoReader(bytes);
      expect(r.tag()).toBe(0x0a);
      expect(r.string().length).toBe(n);
    }
  });

  it('writes tags of large field numbers, fixed-width numbers and strings', () => {
    const w = new ProtoWriter(1);
    w.tag(16, 5);
    w.fixed32(0xdeadbeef);
    w.tag(2 ** 20, 1);
    w.fixed64(0x01020304, 0x05060708);
    w.tag(3, 1);
    w.double(-2.5);
    w.stringField(4, 'héllo 🚀');
    w.stringField(5, 'x'.repeat(200)); // length prefix needs two bytes: content moved once
    const r = new ProtoReader(w.finish());
    expect(r.tag()).toBe((16 << 3) | 5);
    expect(r.fixed32()).toBe(0xdeadbeef);
    expect(r.tag() >>> 3).toBe(2 ** 20);
    r.fixed64();
    expect([r.lo, r.hi]).toEqual([0x01020304, 0x05060708]);
    r.tag();
    expect(r.double()).toBe(-2.5);
    expect(r.tag()).toBe(0x22);
    expect(r.string()).toBe('héllo 🚀');
    expect(r.tag()).toBe(0x2a);
    expect(r.string()).toBe('x'.repeat(200));
    expect(r.pos).toBe(r.end);
  });

  it('closes nested messages of any size, moving content when the reserved prefix is too short or too long', () => {
    for (const size of [0, 5, 127, 128, 20_000, 3_000_000]) {
      const w = new ProtoWriter(16);
      const outer = w.begin(1, 100);
      const inner = w.begin(2, 1);
      w.bytesField(3, new Uint8Array(size).fill(7));
      w.end(inner);
      w.end(outer);
      const bytes = w.finish();
      expect(bytes.length).toBe(fieldSize(fieldSize(fieldSize(size))));
      const r = new ProtoReader(bytes);
      expect(r.tag()).toBe(0x0a);
      r.end = r.lengthEnd();
      expect(r.tag()).toBe(0x12);
      r.end = r.lengthEnd();
      expect(r.tag()).toBe(0x1a);
      const end = r.lengthEnd();
      expect(end - r.pos).toBe(size);
      expect(bytes.subarray(r.pos, end).every((b) => b === 7)).toBe(true);
    }
  });

  it('copies raw byte ranges and writes a known-size message with no growth', () => {
    const source = Buffer.from([9, 8, 7, 6, 5]);
    const w = new ProtoWriter(fieldSize(3));
    const buffer = w.buf;
    w.lengthHead(1, 3);
    w.raw(source, 1, 4);
    expect(w.buf).toBe(buffer);
    expect([...w.finish()]).toEqual([0x0a, 3, 8, 7, 6]);
  });
});
