import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../core/errors.ts';
import { bigNanosDiffMs, bigNanosToMs, nanosToMs, WireReader } from './wire.ts';
import { decodeTraceRequest } from './traces.ts';
import { ExportTraceServiceRequest } from './reference.ts';

const reader = (bytes: number[]) => new WireReader(Uint8Array.from(bytes));

describe('WireReader', () => {
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
    const r = new WireReader(Uint8Array.from([bytes.length, ...bytes, bytes.length, ...bytes, 2, 0xc3, 0x28]));
    expect(r.string()).toBe(text);
    expect(r.string()).toBe(text); // second time from the intern table
    expect(r.string()).toBe('\ufffd(');
  });
});

describe('unix nanos to milliseconds', () => {
  it('keeps the integer milliseconds exact and rounds the fraction once', () => {
    const cases = [0n, 1n, 999_999n, 1_000_000n, 1_764_547_200_123_456_789n, 0xffffffffffffffffn, 4_102_444_800_000_000_001n];
    for (const ns of cases) {
      const ms = bigNanosToMs(ns);
      expect(Math.floor(ms)).toBe(Number(ns / 1_000_000n));
      expect(ms).toBe(Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6);
      expect(nanosToMs(Number(ns & 0xffffffffn), Number(ns >> 32n))).toBe(ms);
    }
    // Converting the 64-bit value to a double first would lose the microseconds.
    expect(bigNanosToMs(1_764_547_200_123_456_789n)).toBe(1764547200123.4568);
    const ns = 1_764_547_200_123_528_060n;
    expect(bigNanosToMs(ns)).toBe(1764547200123.528);
    expect(Number(ns) / 1e6).toBe(1764547200123.5278); // the naive conversion is off by 0.2 µs
  });

  it('computes durations from the exact difference', () => {
    expect(bigNanosDiffMs(1_764_547_200_000_000_000n, 1_764_547_200_000_000_001n)).toBe(0.000001);
    expect(bigNanosDiffMs(1_764_547_200_000_000_000n, 1_764_547_201_500_000_000n)).toBe(1500);
  });
});

describe('decodeTraceRequest on hand-made bytes', () => {
  const encode = (request: object) => ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request as Record<string, unknown>)).finish();
  const span = {
    traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'),
    spanId: Buffer.from('b7ad6b7169203331', 'hex'),
    name: 'GET /x',
    kind: 2,
    startTimeUnixNano: '1764547200000000000',
    endTimeUnixNano: '1764547200002500000',
    attributes: [{ key: 'http.request.method', value: { stringValue: 'GET' } }],
  };

  it('skips unknown fields of every wire type wherever they appear', () => {
    const plain = encode({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] }, scopeSpans: [{ spans: [span] }] }] });
    const unknown = [0xa0, 0x06, 0x05, 0xa9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xa2, 0x06, 0x01, 0x00, 0xad, 0x06, 1, 2, 3, 4]; // fields 100 (all wire types)
    // Append unknown fields at the top level: decoding must be unchanged.
    const withUnknown = Uint8Array.from([...plain, ...unknown]);
    expect(decodeTraceRequest(withUnknown)).toEqual(decodeTraceRequest(plain));
    expect(decodeTraceRequest(plain)[0]).toMatchObject({ service: 'svc', method: 'GET', durationMs: 2.5, spanKind: 'server', timeMs: 1764547200000 });
  });

  it('finds the resource even when it follows the scope spans on the wire', () => {
    const scopeSpans = encode({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
    const resourceOnly = encode({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'late' } }] } }] });
    // Both messages have one ResourceSpans (field 1); concatenate their contents into one.
    const inner = (bytes: Uint8Array) => bytes.subarray(bytes[1] < 0x80 ? 2 : 3);
    const merged = Uint8Array.from([...inner(scopeSpans), ...inner(resourceOnly)]);
    const request = Uint8Array.from([0x0a, ...(merged.length < 0x80 ? [merged.length] : [(merged.length & 0x7f) | 0x80, merged.length >> 7]), ...merged]);
    expect(decodeTraceRequest(request)[0].service).toBe('late');
  });

  it('reads a message that sits at an odd offset inside a larger buffer (as Kafka clients hand them out)', () => {
    const plain = encode({ resourceSpans: [{ scopeSpans: [{ spans: [span, { ...span, name: 'second' }] }] }] });
    const pool = Buffer.alloc(plain.length + 7, 0xee);
    pool.set(plain, 3);
    const slice = pool.subarray(3, 3 + plain.length);
    expect(decodeTraceRequest(slice)).toEqual(decodeTraceRequest(plain));
    expect(decodeTraceRequest(slice).map((e) => e.operation)).toEqual(['GET /x', 'second']);
  });

  it('rejects a known field sent with the wrong wire type', () => {
    // ExportTraceServiceRequest.resource_spans as a varint.
    expect(() => decodeTraceRequest(Uint8Array.from([0x08, 0x01]))).toThrow(/field 1 has wire type 0/);
  });

  it('maps unknown span kinds to unspecified and an empty request to no events', () => {
    expect(decodeTraceRequest(new Uint8Array(0))).toEqual([]);
    const bytes = encode({ resourceSpans: [{ scopeSpans: [{ spans: [{ ...span, kind: 1 }] }] }] });
    const kindAt = bytes.indexOf(0x30); // Span.kind tag
    const patched = bytes.slice();
    patched[kindAt + 1] = 9;
    expect(decodeTraceRequest(patched)[0].spanKind).toBe('unspecified');
  });
});
