import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../core/errors.ts';
import { decodeTraceRequest, decodeMetricsRequest, decodeLogsRequest } from '../otlp/index.ts';
import { ExportMetricsServiceRequest, ExportTraceServiceRequest, exportLogsServiceRequestType } from '../otlp/proto-types.ts';
import { randomLogsRequest, randomMetricsRequest, randomTraceRequest, toJson, toProtobufjs } from '../otlp/testing/random-requests.ts';
import { sdkTraceRequest, sdkTraceRequestJson } from '../otlp/testing/sdk-requests.ts';
import { otlpJsonToProto } from './json.ts';
import { parseExportRequest, resourceKey, splitRequest } from './split.ts';

type Obj = Record<string, any>;
const decodeTraceObj = (b: Uint8Array): Obj => ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(b), { defaults: false });
const sortKey = (e: { traceId?: string; spanId?: string }) => `${e.traceId}/${e.spanId}`;

function spansOf(request: Obj): Obj[] {
  return (request.resourceSpans ?? []).flatMap((rs: Obj) => (rs.scopeSpans ?? []).flatMap((ss: Obj) => (ss.spans ?? []).map((s: Obj) => ({ resource: rs.resource, scope: ss.scope, span: s }))));
}

function encodeTrace(obj: Obj): Uint8Array {
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(obj)).finish();
}

describe('splitRequest (traces, partitioned by trace id)', () => {
  it('writes one message per trace id, keyed by the hex id, with every span and its resource and scope intact', () => {
    const request = sdkTraceRequest({ seed: 7, spans: 300 });
    const result = splitRequest(parseExportRequest('traces', request), { maxMessageBytes: 1_000_000, partition: 'traceId' });
    const original = spansOf(decodeTraceObj(request));
    expect(result.accepted).toBe(original.length);
    expect(result.rejected).toBe(0);
    const traceIds = new Set(original.map((s) => Buffer.from(s.span.traceId).toString('hex')));
    expect(result.messages.length).toBe(traceIds.size);
    const seen: Obj[] = [];
    for (const m of result.messages) {
      const spans = spansOf(decodeTraceObj(m.value));
      expect(new Set(spans.map((s) => Buffer.from(s.span.traceId).toString('hex')))).toEqual(new Set([m.key]));
      expect(m.count).toBe(spans.length);
      seen.push(...spans);
    }
    const canon = (list: Obj[]) => list.map((s) => JSON.stringify(s)).sort();
    expect(canon(seen)).toEqual(canon(original));
    // The hot-path decoder reads the same events from the messages as from the request.
    const events = result.messages.flatMap((m) => decodeTraceRequest(m.value)).sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
    expect(events).toEqual(decodeTraceRequest(request).sort((a, b) => sortKey(a).localeCompare(sortKey(b))));
  });

  it('splits a trace larger than the maximum message size into several valid messages, none over the limit', () => {
    const base = decodeTraceObj(sdkTraceRequest({ seed: 3, spans: 400 }));
    const traceId = spansOf(base)[0]!.span.traceId;
    for (const rs of base.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) s.traceId = traceId;
    const request = encodeTrace(base);
    const max = 20_000;
    const result = splitRequest(parseExportRequest('traces', request), { maxMessageBytes: max, partition: 'traceId' });
    expect(request.length).toBeGreaterThan(5 * max);
    expect(result.messages.length).toBeGreaterThan(5);
    expect(result.rejected).toBe(0);
    for (const m of result.messages) {
      expect(m.value.length).toBeLessThanOrEqual(max);
      expect(m.key).toBe(Buffer.from(traceId).toString('hex'));
    }
    const total = result.messages.reduce((n, m) => n + spansOf(decodeTraceObj(m.value)).length, 0);
    expect(total).toBe(400);
    // Messages fill up: no more than one message's worth of slack beyond the minimum count.
    expect(result.messages.length).toBeLessThanOrEqual(Math.ceil(request.length / max) + 1);
  });

  it('rejects, and counts, spans too big for any message and spans without a valid trace id', () => {
    const obj = decodeTraceObj(sdkTraceRequest({ seed: 5, spans: 10 }));
    const spans = obj.resourceSpans[0].scopeSpans[0].spans;
    spans[0].attributes.push({ key: 'huge', value: { stringValue: 'x'.repeat(50_000) } });
    spans[1].traceId = new Uint8Array(0);
    spans[2].traceId = new Uint8Array(8);
    const result = splitRequest(parseExportRequest('traces', encodeTrace(obj)), { maxMessageBytes: 10_000, partition: 'traceId' });
    expect(result.rejected).toBe(3);
    expect(result.accepted).toBe(7);
    expect(result.errors.join('; ')).toMatch(/2 span\(s\) without a valid 16-byte trace id; 1 span\(s\) larger than the maximum Kafka message size \(10000 bytes\)/);
  });

  it('keeps the whole request in one message without partitioning when it fits', () => {
    const request = sdkTraceRequest({ seed: 9, spans: 50 });
    const result = splitRequest(parseExportRequest('traces', request), { maxMessageBytes: 1_000_000, partition: 'none' });
    expect(result.messages).toHaveLength(1);
    expect(result.messages[0]!.key).toBeUndefined();
    expect(Buffer.from(result.messages[0]!.value)).toEqual(Buffer.from(request));
  });

  it('passes fields it does not know through unchanged', () => {
    const request = sdkTraceRequest({ seed: 2, spans: 3 });
    // field 15 (varint) appended to the request, to every resource entry would need re-encoding: one at the top is dropped
    // like the collector does (it re-marshals known fields), one inside a scope entry is kept.
    const obj = decodeTraceObj(request);
    const scopeBytes = ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(obj)).finish();
    const parsed = parseExportRequest('traces', scopeBytes);
    const scope = parsed.resources[0]!.scopes[0]!;
    const unknown = Buffer.from([0x78, 0x2a]); // field 15, varint 42
    scope.header.push(unknown);
    scope.headerSize += unknown.length;
    const out = splitRequest(parsed, { maxMessageBytes: 1_000_000, partition: 'none' }).messages[0]!.value;
    expect(out.includes(unknown)).toBe(true);
    expect(spansOf(decodeTraceObj(out))).toHaveLength(3);
  });

  it('holds for randomized requests: every span with a valid id arrives once, each message decodes', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const request = encodeTrace(toProtobufjs(randomTraceRequest(seed)));
      const result = splitRequest(parseExportRequest('traces', request), { maxMessageBytes: 2048, partition: 'traceId' });
      const spans = spansOf(decodeTraceObj(request));
      expect(result.accepted + result.rejected).toBe(spans.length);
      let total = 0;
      for (const m of result.messages) {
        expect(m.value.length).toBeLessThanOrEqual(2048);
        total += spansOf(decodeTraceObj(m.value)).length;
      }
      expect(total).toBe(result.accepted);
    }
  });
});

describe('parseExportRequest without item checks (the request was fully decoded already)', () => {
  it('finds the same items and trace ids, also when trace_id is not a span\'s first field', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const request = encodeTrace(toProtobufjs(randomTraceRequest(seed)));
      const a = splitRequest(parseExportRequest('traces', request), { maxMessageBytes: 4096, partition: 'traceId' });
      const b = splitRequest(parseExportRequest('traces', request, { checkItems: false }), { maxMessageBytes: 4096, partition: 'traceId' });
      expect(b).toEqual(a);
    }
    const field = (tag: number, bytes: Buffer) => Buffer.concat([Buffer.from([tag, bytes.length]), bytes]);
    const span = Buffer.concat([field(0x12, Buffer.alloc(8, 2)), field(0x0a, Buffer.alloc(16, 0xab))]);
    const parsed = parseExportRequest('traces', field(0x0a, field(0x12, field(0x12, span))), { checkItems: false });
    expect(parsed.resources[0]!.scopes[0]!.items[0]!.traceId).toBe('ab'.repeat(16));
  });
});

describe('parseExportRequest', () => {
  it('rejects malformed bytes with a DecodeError naming the offset', () => {
    const request = sdkTraceRequest({ seed: 1, spans: 5 });
    expect(() => parseExportRequest('traces', request.subarray(0, request.length - 7))).toThrow(DecodeError);
    expect(() => parseExportRequest('traces', request.subarray(0, request.length - 7))).toThrow(/malformed ExportTraceServiceRequest: .* at byte \d+/);
    expect(() => parseExportRequest('traces', Buffer.from([0x0a, 0xff, 0xff, 0x01]))).toThrow(DecodeError);
    expect(() => parseExportRequest('traces', Buffer.from([0x08, 0x01]))).toThrow(/not a message/);
    expect(parseExportRequest('traces', new Uint8Array(0)).count).toBe(0);
  });

  it('counts metric data points and log records', () => {
    const metrics = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(toProtobufjs(randomMetricsRequest(4)))).finish();
    const obj = ExportMetricsServiceRequest.toObject(ExportMetricsServiceRequest.decode(metrics), { defaults: false });
    let points = 0;
    for (const rm of obj.resourceMetrics ?? []) for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) {
      for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) points += m[kind]?.dataPoints?.length ?? 0;
    }
    expect(points).toBeGreaterThan(3);
    expect(parseExportRequest('metrics', metrics).count).toBe(points);
    const logsType = exportLogsServiceRequestType();
    const logs = logsType.encode(logsType.fromObject(toProtobufjs(randomLogsRequest(4)))).finish();
    expect(parseExportRequest('logs', logs).count).toBe(decodeLogsRequest(logs).length);
  });
});

describe('partitioning metrics and logs by resource', () => {
  it('writes one message per resource, keyed by its attributes whatever their order', () => {
    const obj = toProtobufjs(randomMetricsRequest(11));
    while (obj.resourceMetrics.length < 2) obj.resourceMetrics.push(structuredClone(obj.resourceMetrics[0]));
    obj.resourceMetrics[0].resource = { attributes: [{ key: 'a', value: { stringValue: '1' } }, { key: 'b', value: { intValue: '2' } }] };
    obj.resourceMetrics[1].resource = { attributes: [{ key: 'b', value: { intValue: '2' } }, { key: 'a', value: { stringValue: '1' } }] };
    const bytes = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(obj)).finish();
    const parsed = parseExportRequest('metrics', bytes);
    expect(resourceKey(parsed.resources[0]!.resource)).toEqual(resourceKey(parsed.resources[1]!.resource));
    const result = splitRequest(parsed, { maxMessageBytes: 1_000_000, partition: 'resource' });
    const keys = new Set(result.messages.map((m) => Buffer.from(m.key as Buffer).toString('hex')));
    expect(keys.size).toBe(new Set(parsed.resources.map((r) => resourceKey(r.resource).toString('hex'))).size);
    const points = result.messages.flatMap((m) => decodeMetricsRequest(m.value));
    expect(points.length).toBe(decodeMetricsRequest(bytes).length);
  });
});

describe('otlpJsonToProto', () => {
  it('turns SDK JSON into the same protobuf request the SDK would have sent', () => {
    const proto = otlpJsonToProto('traces', sdkTraceRequestJson({ seed: 4, spans: 40 }));
    expect(decodeTraceRequest(proto)).toEqual(decodeTraceRequest(sdkTraceRequest({ seed: 4, spans: 40 })));
  });

  it('converts randomized JSON for every signal, matching the JSON decoder', () => {
    const logsType = exportLogsServiceRequestType();
    for (let seed = 1; seed <= 50; seed++) {
      const traces = toProtobufjs(randomTraceRequest(seed));
      const tb = Buffer.from(JSON.stringify(toJson(randomTraceRequest(seed))));
      expect(decodeTraceRequest(otlpJsonToProto('traces', tb))).toEqual(decodeTraceRequest(encodeTrace(traces)));
      const mb = Buffer.from(JSON.stringify(toJson(randomMetricsRequest(seed))));
      const mp = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(toProtobufjs(randomMetricsRequest(seed)))).finish();
      expect(decodeMetricsRequest(otlpJsonToProto('metrics', mb))).toEqual(decodeMetricsRequest(mp));
      const lb = Buffer.from(JSON.stringify(toJson(randomLogsRequest(seed))));
      const lp = logsType.encode(logsType.fromObject(toProtobufjs(randomLogsRequest(seed)))).finish();
      expect(decodeLogsRequest(otlpJsonToProto('logs', lb))).toEqual(decodeLogsRequest(lp));
    }
  });

  it('rejects bad JSON with a clear DecodeError', () => {
    expect(() => otlpJsonToProto('traces', Buffer.from('{"resourceSpans": ['))).toThrow(DecodeError);
    expect(() => otlpJsonToProto('traces', Buffer.from('{"resourceSpans": 5}'))).toThrow(/resourceSpans/);
    expect(() => otlpJsonToProto('traces', Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"0102030405060708"}]}]}]}'))).toThrow(DecodeError);
  });
});
