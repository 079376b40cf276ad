import { describe, expect, it } from 'vitest';
import { decodeTraceRequest } from './traces.ts';
import { ExportTraceServiceRequest } from './proto-types.ts';

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
