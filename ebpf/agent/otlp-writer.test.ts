import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import {
  encodeLogs, encodeResource, encodeSpan, encodeTraces, processResource, TraceRequestBuilder, type LogItem, type ResourceGroup, type SpanData, type TraceRequest,
} from './otlp.ts';
import { OtlpWriter, type AttrList } from './otlp-writer.ts';
import { referenceDecodeLogsRequest, referenceDecodeTraceRequest } from '../../ingest/otlp/testing/reference-decoders.ts';
import { mulberry32 } from '../../core/random.ts';

// The hand-written span encoder against the encoder it replaced (otlp-transformer's ProtobufWriter
// and writeAttributes, field by field as otlp.ts used them): same spans in, same bytes out, and
// what protobufjs decodes from them is every field we put in.

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

interface OtelWriter {
  pos: number;
  finish(): Uint8Array;
  startLengthDelimited(): number;
  finishLengthDelimited(pos: number, length: number): void;
  writeVarint(value: number): void;
  writeFixed64(low: number, high: number): void;
  writeBytes(bytes: Uint8Array): void;
  writeTag(fieldNumber: number, wireType: number): void;
  writeString(str: string): void;
}
const { ProtobufWriter } = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-writer.js') as {
  ProtobufWriter: new (estimatedSize?: number) => OtelWriter;
};
const { writeAttributes } = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/common-serializer.js') as {
  writeAttributes(writer: OtelWriter, attributes: object, fieldNumber: number): void;
};

function nested(w: OtelWriter, field: number, body: () => void): void {
  w.writeTag(field, 2);
  const at = w.startLengthDelimited();
  const start = w.pos;
  body();
  w.finishLengthDelimited(at, w.pos - start);
}

const asObject = (list: AttrList): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < list.length; i += 2) out[list[i] as string] = list[i + 1];
  return out;
};

/** The previous encodeTraces (otlp.ts before otlp-writer.ts), verbatim but for the span's shape. */
function referenceEncode(groups: ReadonlyArray<ResourceGroup<SpanData>>): Uint8Array {
  const w = new ProtobufWriter(64 * 1024);
  const MASK32 = 0xffffffffn;
  for (const g of groups) {
    nested(w, 1, () => {
      const resource = Object.fromEntries(Object.entries(g.resource).filter(([, v]) => v !== undefined && v !== ''));
      nested(w, 1, () => writeAttributes(w, resource, 1));
      nested(w, 2, () => {
        nested(w, 1, () => {
          w.writeTag(1, 2); w.writeString('peregrine-ebpf-sensor');
          w.writeTag(2, 2); w.writeString('0.1.0');
        });
        for (const s of g.items) {
          nested(w, 2, () => {
            const start = BigInt(Math.round(s.startNs)) + s.realtimeOffsetNs;
            const end = BigInt(Math.round(s.endNs)) + s.realtimeOffsetNs;
            w.writeTag(1, 2); w.writeBytes(s.traceId);
            w.writeTag(2, 2); w.writeBytes(s.spanId);
            if (s.parentSpanId) { w.writeTag(4, 2); w.writeBytes(s.parentSpanId); }
            w.writeTag(5, 2); w.writeString(s.name);
            w.writeTag(6, 0); w.writeVarint(s.kind);
            w.writeTag(7, 1); w.writeFixed64(Number(start & MASK32), Number(start >> 32n));
            w.writeTag(8, 1); w.writeFixed64(Number(end & MASK32), Number(end >> 32n));
            writeAttributes(w, asObject(s.attributes), 9);
            nested(w, 15, () => {
              if (s.statusMessage) { w.writeTag(2, 2); w.writeString(s.statusMessage); }
              if (s.error) { w.writeTag(3, 0); w.writeVarint(2); }
            });
          });
        }
      });
    });
  }
  return w.finish();
}

const { ProtobufLogsSerializer } = require('@opentelemetry/otlp-transformer') as {
  ProtobufLogsSerializer: { serializeRequest(records: object[]): Uint8Array | undefined };
};

const LOG_SCOPE = { name: 'peregrine-ebpf-sensor', version: '0.1.0' };

/** The previous encodeLogs (otlp.ts before it used otlp-writer.ts), verbatim. */
function referenceEncodeLogs(groups: ReadonlyArray<ResourceGroup<LogItem>>, observedWallNs: bigint): Uint8Array {
  const hrTime = (wallNs: bigint): [number, number] => [Number(wallNs / 1_000_000_000n), Number(wallNs % 1_000_000_000n)];
  const records: object[] = [];
  for (const g of groups) {
    const resource = { attributes: Object.fromEntries(Object.entries(g.resource).filter(([, v]) => v !== undefined && v !== '')) };
    for (const item of g.items) {
      records.push({
        hrTime: hrTime(item.timeWallNs),
        hrTimeObserved: hrTime(observedWallNs),
        severityNumber: 9,
        severityText: 'INFO',
        body: item.body,
        attributes: Object.fromEntries(Object.entries(item.attributes).filter(([, v]) => v !== undefined && v !== '')),
        droppedAttributesCount: 0,
        resource,
        instrumentationScope: LOG_SCOPE, // one object: the serializer groups records by scope identity
      });
    }
  }
  return ProtobufLogsSerializer.serializeRequest(records) ?? new Uint8Array();
}

const rng = mulberry32;

const PIECES = ['a', 'GET', '/items', 'é', '€', '😀', 'x'.repeat(200), 'y'.repeat(20_000), '', ' ', '\u0000', '\ud800', 'keep-alive'];

function randomText(random: () => number): string {
  let s = '';
  const n = Math.floor(random() * 4);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(random() * PIECES.length)];
  return s || 'v';
}

function randomValue(random: () => number): string | number | boolean | string[] {
  const r = random();
  if (r < 0.4) return randomText(random);
  if (r < 0.5) return Math.floor(random() * 70000);
  if (r < 0.55) return -Math.floor(random() * 1e6) - 1;
  if (r < 0.6) return Math.floor(random() * 2 ** 53);
  if (r < 0.61) return 2 ** 60;
  if (r < 0.62) return -(2 ** 60) - 4096;
  if (r < 0.63) return 2 ** 63 - 1024;
  if (r < 0.68) return random() * 1000;
  if (r < 0.72) return random() < 0.5;
  return Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomText(random));
}

function randomSpan(random: () => number, i: number): SpanData {
  const attributes: AttrList = [];
  const n = Math.floor(random() * 40);
  for (let k = 0; k < n; k++) attributes.push(`attr.${k}.${randomText(random).slice(0, 30)}`, randomValue(random));
  const error = random() < 0.3;
  return {
    traceId: Buffer.alloc(16, i),
    spanId: Buffer.alloc(8, i + 1),
    parentSpanId: random() < 0.5 ? Buffer.alloc(8, 9) : undefined,
    name: `${randomText(random)} /r/${i}`,
    kind: 1 + Math.floor(random() * 3),
    startNs: Math.floor(random() * 2 ** 50) + random(),
    endNs: Math.floor(random() * 2 ** 50),
    realtimeOffsetNs: BigInt(Math.floor(random() * 2 ** 31)) * 1_000_000_000n + BigInt(Math.floor(random() * 1e9)),
    attributes,
    error,
    statusMessage: error && random() < 0.8 ? `HTTP ${500 + i}` : undefined,
  };
}

describe('the hand-written OTLP span writer', () => {
  it('writes the same bytes as the otlp-transformer serializer it replaced, on random spans (fixed seed)', () => {
    const random = rng(42);
    for (let round = 0; round < 25; round++) {
      const groups: ResourceGroup<SpanData>[] = [];
      const groupCount = 1 + Math.floor(random() * 3);
      for (let g = 0; g < groupCount; g++) {
        const resource = processResource({ pid: 100 + g, comm: 'node', executable: '/usr/bin/node', args: ['node', randomText(random)], containerId: random() < 0.5 ? 'c'.repeat(64) : undefined }, { hostName: 'h' });
        groups.push({ resource, items: Array.from({ length: Math.floor(random() * 30) }, (_, i) => randomSpan(random, i)) });
      }
      const ours = Buffer.from(encodeTraces(groups));
      const theirs = Buffer.from(referenceEncode(groups));
      expect(ours.equals(theirs)).toBe(true);
    }
  });

  it('encodes spans whose every field protobufjs and the reference decoder read back', () => {
    const span: SpanData = {
      traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex'),
      spanId: Buffer.from('b7ad6b7169203331', 'hex'),
      parentSpanId: Buffer.from('00f067aa0ba902b7', 'hex'),
      name: 'GET /items',
      kind: 2,
      startNs: 5_000_000,
      endNs: 7_500_000,
      realtimeOffsetNs: 1_796_109_142_852_927_764n,
      attributes: ['http.request.method', 'GET', 'http.response.status_code', 503, 'ratio', 0.25, 'flag', true, 'neg', -7,
        'http.request.header.accept', ['a/b', 'c/d'], 'http.response.body', 'ü'.repeat(100), 'long', 'z'.repeat(70_000)],
      error: true,
      statusMessage: 'HTTP 503',
    };
    const bytes = encodeTraces([{ resource: { 'service.name': 'node', 'process.pid': 7, 'unset': undefined, 'empty': '' }, items: [span] }]);
    const decoded = ExportTraceServiceRequest.decode(bytes).toJSON();
    const rs = decoded.resourceSpans[0];
    expect(rs.resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'node' } }, { key: 'process.pid', value: { intValue: '7' } }]);
    expect(rs.scopeSpans[0].scope).toEqual({ name: 'peregrine-ebpf-sensor', version: '0.1.0' });
    const s = rs.scopeSpans[0].spans[0];
    expect(s).toMatchObject({
      traceId: span.traceId.toString('base64'), spanId: span.spanId.toString('base64'), parentSpanId: span.parentSpanId!.toString('base64'),
      name: 'GET /items', kind: 'SPAN_KIND_SERVER', startTimeUnixNano: '1796109142857927764', endTimeUnixNano: '1796109142860427764',
      status: { code: 'STATUS_CODE_ERROR', message: 'HTTP 503' },
    });
    expect(s.attributes).toEqual([
      { key: 'http.request.method', value: { stringValue: 'GET' } },
      { key: 'http.response.status_code', value: { intValue: '503' } },
      { key: 'ratio', value: { doubleValue: 0.25 } },
      { key: 'flag', value: { boolValue: true } },
      { key: 'neg', value: { intValue: '-7' } },
      { key: 'http.request.header.accept', value: { arrayValue: { values: [{ stringValue: 'a/b' }, { stringValue: 'c/d' }] } } },
      { key: 'http.response.body', value: { stringValue: 'ü'.repeat(100) } },
      { key: 'long', value: { stringValue: 'z'.repeat(70_000) } },
    ]);
    const events = referenceDecodeTraceRequest(bytes);
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0])).toContain('b7ad6b7169203331');
  });

  it('writes log records as the otlp-transformer logs serializer did (connection and exec logs)', () => {
    const random = rng(9);
    for (let round = 0; round < 20; round++) {
      const groups: ResourceGroup<LogItem>[] = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, g) => ({
        resource: processResource({ pid: 10 + g, comm: 'curl', args: random() < 0.5 ? ['curl', '-s'] : undefined }, { hostName: 'h' }),
        items: Array.from({ length: Math.floor(random() * 6) }, (_, i) => ({
          timeWallNs: 1_796_109_142_852_927_764n + BigInt(Math.floor(random() * 1e12)),
          body: random() < 0.5 ? 'connection open' : `exec curl -s ${randomText(random)}`,
          attributes: {
            'event.name': 'network.connection.close', 'network.local.port': 40000 + i, 'network.peer.address': random() < 0.5 ? '127.0.0.1' : undefined,
            'peregrine.connection.duration_ms': random() * 100, 'peregrine.connection.preexisting': random() < 0.5 || undefined,
            'process.command_args': random() < 0.3 ? ['curl', randomText(random)] : undefined, 'user.id': '', 'process.pid': i,
          },
        })),
      }));
      const observed = 1_796_109_143_000_000_000n + BigInt(round);
      expect(Buffer.from(encodeLogs(groups, observed)).equals(Buffer.from(referenceEncodeLogs(groups, observed)))).toBe(true);
    }
    const one = encodeLogs([{ resource: { 'service.name': 'curl' }, items: [{ timeWallNs: 5_000_000_123n, body: 'exec curl -s', attributes: { 'event.name': 'process.exec', 'process.pid': 7 } }] }], 6n);
    const [event] = referenceDecodeLogsRequest(one);
    expect(JSON.stringify(event)).toContain('exec curl -s');
    expect(JSON.stringify(event)).toContain('process.exec');
    expect(encodeLogs([], 1n).length).toBe(0);
  });

  it('builds export requests from the loader\'s batches, the same bytes encodeTraces writes, in reused writers', () => {
    const random = rng(7);
    const builder = new TraceRequestBuilder(64); // grows on the first batch
    const sent: Array<TraceRequest['backing']> = [];
    for (let round = 0; round < 3; round++) {
      const groups: ResourceGroup<SpanData>[] = [];
      for (let g = 0; g < 2 + round; g++) {
        const resource = processResource({ pid: 100 + g, comm: 'node', executable: '/usr/bin/node', args: ['node', randomText(random)] }, { hostName: 'h' });
        const items = Array.from({ length: 1 + Math.floor(random() * 20) }, (_, i) => randomSpan(random, i));
        groups.push({ resource, items });
        // The loader's batch: ScopeSpans.spans entries (key, length, Span) back to back.
        const entries = items.map((span) => {
          const w = new OtlpWriter(64);
          w.bytesField(2, encodeSpan(span));
          return Buffer.from(w.finish());
        });
        builder.add(encodeResource(resource), Buffer.concat(entries), items.length);
      }
      const request = builder.take();
      // The writer in use when a request is taken is the one recycled the time before: its request went out two takes ago.
      if (round >= 2) expect(request.backing === sent[round - 2]).toBe(true);
      expect(request.spans).toBe(groups.reduce((n, g) => n + g.items.length, 0));
      expect(request.body.equals(Buffer.from(encodeTraces(groups)))).toBe(true);
      expect(ExportTraceServiceRequest.decode(request.body).resourceSpans).toHaveLength(groups.length);
      expect(builder.size).toBe(0);
      builder.recycle(request.backing);
      sent.push(request.backing);
    }
  });
});
