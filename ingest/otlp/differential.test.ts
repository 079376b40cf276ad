/**
 * The hot-path wire decoders, the protobufjs reference decoders and the OTLP/JSON decoders must give
 * identical events for SDK-built payloads and for seeded random payloads.
 */
import { describe, expect, it } from 'vitest';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, AggregationType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { JsonLogsSerializer, JsonMetricsSerializer, ProtobufLogsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { decodeTraceRequest } from './traces.ts';
import { decodeMetricsRequest } from './metrics.ts';
import { decodeLogsRequest } from './logs.ts';
import { decodeLogsRequestJson, decodeMetricsRequestJson, decodeTraceRequestJson } from './json.ts';
import { exportLogsServiceRequestType, ExportMetricsServiceRequest, ExportTraceServiceRequest } from './proto-types.ts';
import { referenceDecodeLogsRequest, referenceDecodeMetricsRequest, referenceDecodeTraceRequest } from './testing/reference-decoders.ts';
import { hrTime, sdkTraceRequest, sdkTraceRequestJson } from './testing/sdk-requests.ts';
import { CumulativeToDelta } from '../normalize/metrics.ts';
import { randomLogsRequest, randomMetricsRequest, randomTraceRequest, toJson, toProtobufjs } from './testing/random-requests.ts';

describe('traces: SDK-built payloads', () => {
  for (const [seed, spans] of [[1, 1], [2, 100], [3, 1000], [4, 4096]] as const) {
    it(`seed ${seed}, ${spans} spans: wire = protobufjs = JSON`, { timeout: 120_000 }, () => {
      const bytes = sdkTraceRequest({ seed, spans });
      const wire = decodeTraceRequest(bytes);
      expect(wire).toHaveLength(spans);
      expect(wire).toEqual(referenceDecodeTraceRequest(bytes));
      expect(wire).toEqual(decodeTraceRequestJson(sdkTraceRequestJson({ seed, spans })));
    });
  }

  it('normalizes the SDK spans the way the conventions say', () => {
    const events = decodeTraceRequest(sdkTraceRequest({ seed: 5, spans: 500 }));
    for (const e of events) {
      expect(e.service).toBe('frontend');
      expect(e.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(e.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(e.timeMs).toBeGreaterThan(1_764_547_200_000);
      expect(e.timeMs).toBeLessThan(1_764_547_200_000 + 500 * 5 + 1);
      expect(e.durationMs).toBeGreaterThan(0);
      expect(e.resource['k8s.namespace.name']).toBe('shop');
      if (e.protocol === 'http') {
        expect(e.method).toMatch(/^(GET|POST)$/);
        expect(e.route).toMatch(/^\/[a-z{}/]*$/); // templated: no raw ids left
        expect(e.attributes['http.method']).toBeUndefined();
        expect(e.attributes['http.request.method']).toBeUndefined();
      }
      if (e.httpStatus !== undefined && e.httpStatus >= 500) expect(e.error).toBe(true);
      if (e.protocol === 'grpc') expect(e.route).toMatch(/^oteldemo\.ProductCatalogService\//);
    }
    const kinds = new Set(events.map((e) => `${e.spanKind}/${e.protocol}`));
    expect([...kinds].sort()).toEqual(['client/db', 'client/grpc', 'client/http', 'server/http']);
    const old = events.find((e) => e.operation === 'GET' && e.spanKind === 'server');
    expect(old?.serverAddress).toBe('frontend');
    expect(old?.clientAddress).toMatch(/[.:]/);
    expect(old?.userAgent).toBeDefined();
  });
});

describe('traces: seeded random payloads', () => {
  it('1,000 random requests decode identically through all three decoders', () => {
    for (let seed = 1; seed <= 1000; seed++) {
      const request = randomTraceRequest(seed);
      const bytes = ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(toProtobufjs(request))).finish();
      const wire = decodeTraceRequest(bytes);
      const reference = referenceDecodeTraceRequest(bytes);
      const json = decodeTraceRequestJson(JSON.stringify(toJson(request)));
      try {
        expect(wire).toEqual(reference);
        expect(json).toEqual(reference);
      } catch (error) {
        throw new Error(`seed ${seed}: ${(error as Error).message}`);
      }
    }
  }, 120_000);
});

class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function sdkMetricsPayloads(temporality: AggregationTemporality): Promise<Array<{ proto: Uint8Array; json: Uint8Array }>> {
  const reader = new ManualReader({ aggregationTemporalitySelector: () => temporality });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'host.name': 'node-1' }),
    readers: [reader],
    views: [{ instrumentName: 'rpc.server.duration.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter('checkout-meter', '1.0.0');
  const requests = meter.createCounter('http.server.requests', { unit: '{request}' });
  const inflight = meter.createUpDownCounter('http.server.active_requests');
  const latency = meter.createHistogram('http.server.request.duration', { unit: 's' });
  const expLatency = meter.createHistogram('rpc.server.duration.exp', { unit: 'ms' });
  const gauge = meter.createGauge('process.memory.usage', { unit: 'By' });
  const out: Array<{ proto: Uint8Array; json: Uint8Array }> = [];
  let x = 7;
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 50; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const route = ['/a', '/b', '/c'][x % 3];
      requests.add(1 + (x % 3), { 'http.route': route, 'http.response.status_code': 200 });
      inflight.add((x % 5) - 2, { route });
      latency.record((x % 1000) / 1000, { 'http.route': route });
      expLatency.record(0.5 + (x % 5000) / 7, { method: 'Get' });
      gauge.record(1e6 + x, { kind: 'heap' });
    }
    const { resourceMetrics } = await reader.collect();
    out.push({ proto: ProtobufMetricsSerializer.serializeRequest(resourceMetrics)!, json: JsonMetricsSerializer.serializeRequest(resourceMetrics)! });
  }
  return out;
}

describe('metrics', () => {
  for (const temporality of [AggregationTemporality.CUMULATIVE, AggregationTemporality.DELTA]) {
    it(`SDK ${temporality === AggregationTemporality.CUMULATIVE ? 'cumulative' : 'delta'} collections: wire = protobufjs = JSON, deltas included`, async () => {
      const payloads = await sdkMetricsPayloads(temporality);
      const [a, b, c] = [new CumulativeToDelta(), new CumulativeToDelta(), new CumulativeToDelta()];
      let total = 0;
      for (const { proto, json } of payloads) {
        const wire = decodeMetricsRequest(proto, { deltas: a });
        expect(wire).toEqual(referenceDecodeMetricsRequest(proto, { deltas: b }));
        expect(wire).toEqual(decodeMetricsRequestJson(json, { deltas: c }));
        total += wire.length;
      }
      expect(total).toBeGreaterThan(0);
      if (temporality === AggregationTemporality.CUMULATIVE) {
        // The first collection only seeds the converter; the counter's deltas add up to what was added after it.
        const converter = new CumulativeToDelta();
        const counts = payloads.map(({ proto }) =>
          decodeMetricsRequest(proto, { deltas: converter })
            .filter((p) => p.name === 'http.server.requests')
            .reduce((s, p) => s + p.value, 0));
        expect(counts[0]).toBe(0);
        for (const n of counts.slice(1)) expect(n).toBeGreaterThan(50);
        const types = new Set(decodeMetricsRequest(payloads[3].proto, { deltas: converter }).map((p) => p.metricType));
        expect([...types]).toEqual(['gauge']); // same payload again: cumulative points are duplicates and dropped
      }
    });
  }

  it('seeded random requests (all five point types): wire = protobufjs = JSON', () => {
    for (let seed = 1; seed <= 600; seed++) {
      const request = randomMetricsRequest(seed);
      const bytes = ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(toProtobufjs(request))).finish();
      const opts = () => ({ deltas: new CumulativeToDelta({ firstPoint: 'emit' }) });
      const wire = decodeMetricsRequest(bytes, opts());
      try {
        expect(wire).toEqual(referenceDecodeMetricsRequest(bytes, opts()));
        expect(wire).toEqual(decodeMetricsRequestJson(JSON.stringify(toJson(request)), opts()));
      } catch (error) {
        throw new Error(`seed ${seed}: ${(error as Error).message}`);
      }
    }
  }, 120_000);
});

describe('logs', () => {
  it('SDK log records: wire = protobufjs = JSON', () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'auth' }),
      processors: [new SimpleLogRecordProcessor(exporter)],
    });
    const logger = provider.getLogger('auth-logger');
    for (let i = 0; i < 200; i++) {
      logger.emit({
        timestamp: hrTime(1_764_547_200_000 + i * 13.5),
        severityNumber: i % 7 === 0 ? SeverityNumber.ERROR : SeverityNumber.INFO,
        severityText: i % 7 === 0 ? 'ERROR' : 'INFO',
        body: i % 3 === 0 ? { message: 'login failed', user: `u${i}` } : `login ok for u${i}`,
        attributes: { 'user.id': `u${i}`, attempt: i % 4, 'client.address': '10.0.0.9' },
      });
    }
    const records = exporter.getFinishedLogRecords();
    const proto = ProtobufLogsSerializer.serializeRequest(records)!;
    const json = JsonLogsSerializer.serializeRequest(records)!;
    const wire = decodeLogsRequest(proto);
    expect(wire).toHaveLength(200);
    expect(wire).toEqual(referenceDecodeLogsRequest(proto));
    expect(wire).toEqual(decodeLogsRequestJson(json));
    expect(wire[0]).toMatchObject({ kind: 'log', service: 'auth', severity: 17, severityText: 'ERROR', timeMs: 1_764_547_200_000 });
    expect(JSON.parse(wire[0].body)).toEqual({ message: 'login failed', user: 'u0' });
    expect(wire[1].body).toBe('login ok for u1');
  });

  it('seeded random requests: wire = protobufjs = JSON', () => {
    const type = exportLogsServiceRequestType();
    for (let seed = 1; seed <= 600; seed++) {
      const request = randomLogsRequest(seed);
      const bytes = type.encode(type.fromObject(toProtobufjs(request))).finish();
      const wire = decodeLogsRequest(bytes);
      try {
        expect(wire).toEqual(referenceDecodeLogsRequest(bytes));
        expect(wire).toEqual(decodeLogsRequestJson(JSON.stringify(toJson(request))));
      } catch (error) {
        throw new Error(`seed ${seed}: ${(error as Error).message}`);
      }
    }
  }, 120_000);
});
