/**
 * Interoperability (a): the real OpenTelemetry JS SDK exporters (OTLP/HTTP protobuf, OTLP/HTTP JSON, OTLP/gRPC) and
 * the Python SDK → our receivers → Kafka (real broker) → our decoders: every span, metric data point and log record
 * arrives with its resource, scope and attributes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SpanKind } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as TraceJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPMetricExporter as MetricProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as MetricJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPLogExporter as LogProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as LogJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { decodeLogsRequest, decodeMetricsRequest, decodeTraceRequest } from '../otlp/index.ts';
import { ExportMetricsServiceRequest, ExportTraceServiceRequest, exportLogsServiceRequestType } from '../otlp/proto-types.ts';
import { ensurePythonSdk } from './python-sdk.ts';
import { readTopic, startTestReceiver, type TestReceiver } from './testing/test-receiver.ts';

type Obj = Record<string, any>;
const run = randomUUID().slice(0, 8);
const FLAVORS = ['proto', 'json', 'grpc'] as const;
type Flavor = (typeof FLAVORS)[number];

function attrs(list: Obj[] | undefined): Obj {
  const out: Obj = {};
  for (const kv of list ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue ?? v.boolValue);
  }
  return out;
}

/** Every item of a decoded request with its resource and scope, flattened. */
function items(request: Obj, rKey: string, sKey: string, iKey: string): Array<{ resource: Obj; scope: Obj; item: Obj }> {
  return (request[rKey] ?? []).flatMap((r: Obj) => (r[sKey] ?? []).flatMap((s: Obj) => (s[iKey] ?? []).map((item: Obj) => ({
    resource: attrs(r.resource?.attributes), scope: { name: s.scope?.name, version: s.scope?.version, attributes: attrs(s.scope?.attributes) }, item,
  }))));
}

const logsType = exportLogsServiceRequestType();
const decodeObj = {
  traces: (b: Uint8Array) => items(ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(b), { defaults: false }), 'resourceSpans', 'scopeSpans', 'spans'),
  metrics: (b: Uint8Array) => items(ExportMetricsServiceRequest.toObject(ExportMetricsServiceRequest.decode(b), { defaults: false }), 'resourceMetrics', 'scopeMetrics', 'metrics'),
  logs: (b: Uint8Array) => items(logsType.toObject(logsType.decode(b), { defaults: false }), 'resourceLogs', 'scopeLogs', 'logRecords'),
};

const service = (flavor: string) => `sdk-${flavor}-${run}`;
const resource = (flavor: string) => resourceFromAttributes({ 'service.name': service(flavor), 'service.version': '2.0.1', 'deployment.environment.name': 'test', 'peregrine.flavor': flavor });
const SCOPE = { name: 'peregrine-interop', version: '0.3.0' };

async function sendTraces(exporter: SpanExporter, flavor: string): Promise<void> {
  const provider = new BasicTracerProvider({ resource: resource(flavor), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer(SCOPE.name, SCOPE.version);
  for (let t = 0; t < 5; t++) {
    tracer.startActiveSpan(`GET /api/items/{id}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'url.path': `/api/items/${t}`, 'http.response.status_code': 200, 'http.route': '/api/items/{id}', 'app.trace.number': t } }, (root) => {
      const child = tracer.startSpan('SELECT items', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'db.query.text': 'SELECT * FROM items WHERE id = $1' } });
      child.end();
      root.end();
    });
  }
  await provider.forceFlush();
  await provider.shutdown();
}

async function sendMetrics(exporter: PushMetricExporter, flavor: string): Promise<void> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 600_000 });
  const provider = new MeterProvider({ resource: resource(flavor), readers: [reader] });
  const meter = provider.getMeter(SCOPE.name, SCOPE.version);
  const counter = meter.createCounter('peregrine.test.requests', { unit: '{request}' });
  const histogram = meter.createHistogram('peregrine.test.duration', { unit: 'ms' });
  for (const route of ['/a', '/b', '/c']) {
    counter.add(3, { 'http.route': route });
    histogram.record(12.5, { 'http.route': route });
  }
  // shutdown() exports the one final collection (a forceFlush before it would export the cumulative points twice).
  await provider.shutdown();
}

async function sendLogs(exporter: LogRecordExporter, flavor: string): Promise<void> {
  const provider = new LoggerProvider({ resource: resource(flavor), processors: [new SimpleLogRecordProcessor(exporter)] });
  const logger = provider.getLogger(SCOPE.name, SCOPE.version);
  for (let i = 0; i < 4; i++) logger.emit({ severityNumber: 13, severityText: 'WARN', body: `login failed for user ${i}`, attributes: { 'user.id': `u${i}`, 'peregrine.n': i } });
  await provider.forceFlush();
  await provider.shutdown();
}

describe('OpenTelemetry SDKs → our receivers → Kafka → our decoders', () => {
  let rx: TestReceiver;
  beforeAll(async () => {
    rx = await startTestReceiver();
  });
  afterAll(async () => rx?.close());

  it('JS SDK: spans, metric points and log records over OTLP/HTTP protobuf, OTLP/HTTP JSON and OTLP/gRPC arrive intact', async () => {
    const http = rx.httpUrl;
    const grpc = rx.grpcUrl;
    for (const flavor of FLAVORS) {
      const trace = { proto: () => new TraceProto({ url: `${http}/v1/traces` }), json: () => new TraceJson({ url: `${http}/v1/traces` }), grpc: () => new TraceGrpc({ url: grpc }) }[flavor]();
      const metric = { proto: () => new MetricProto({ url: `${http}/v1/metrics` }), json: () => new MetricJson({ url: `${http}/v1/metrics` }), grpc: () => new MetricGrpc({ url: grpc }) }[flavor]();
      const log = { proto: () => new LogProto({ url: `${http}/v1/logs` }), json: () => new LogJson({ url: `${http}/v1/logs` }), grpc: () => new LogGrpc({ url: grpc }) }[flavor]();
      await sendTraces(trace, flavor);
      await sendMetrics(metric, flavor);
      await sendLogs(log, flavor);
    }
    await checkArrived(rx, FLAVORS, { spans: 10, points: 6, logs: 4 });
  });

  it('Python SDK: the same over OTLP/HTTP protobuf and OTLP/gRPC', async () => {
    const python = await ensurePythonSdk();
    for (const [flavor, protocol, endpoint] of [['py-http', 'http/protobuf', rx.httpUrl], ['py-grpc', 'grpc', rx.grpcUrl]] as const) {
      // Asynchronously: the receiver answering it runs in this process.
      await promisify(execFile)(python, [new URL('./python_sdk_emit.py', import.meta.url).pathname], {
        env: { ...process.env, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_INSECURE: 'true', PEREGRINE_FLAVOR: flavor, PEREGRINE_SERVICE: service(flavor) },
        timeout: 120_000,
      });
    }
    await checkArrived(rx, ['py-http', 'py-grpc'], { spans: 10, points: 6, logs: 4 });
  }, 600_000);
});

async function checkArrived(rx: TestReceiver, flavors: readonly string[], want: { spans: number; points: number; logs: number }): Promise<void> {
  const mine = <T extends { resource: Obj }>(list: T[], flavor: string): T[] => list.filter((x) => x.resource['service.name'] === service(flavor));
  const spanRecords = await readTopic(rx.kafka, rx.topics.traces, (rs) => flavors.every((f) => mine(rs.flatMap((r) => decodeObj.traces(r.value)), f).length >= want.spans));
  const metricRecords = await readTopic(rx.kafka, rx.topics.metrics, (rs) => flavors.every((f) => mine(rs.flatMap((r) => decodeObj.metrics(r.value)), f).length >= 2));
  const logRecords = await readTopic(rx.kafka, rx.topics.logs, (rs) => flavors.every((f) => mine(rs.flatMap((r) => decodeObj.logs(r.value)), f).length >= want.logs));
  for (const flavor of flavors) {
    const expectedResource = { 'service.name': service(flavor), 'service.version': '2.0.1', 'deployment.environment.name': 'test', 'peregrine.flavor': flavor };
    // Spans: resource, scope, attributes as sent; the hot-path decoder reads them as request events.
    const spans = mine(spanRecords.flatMap((r) => decodeObj.traces(r.value)), flavor);
    expect(spans, flavor).toHaveLength(want.spans);
    for (const s of spans) {
      expect(s.resource).toMatchObject(expectedResource);
      expect(s.scope).toMatchObject(SCOPE);
    }
    const servers = spans.filter((s) => s.item.name === 'GET /api/items/{id}');
    expect(servers.map((s) => attrs(s.item.attributes)['app.trace.number']).sort()).toEqual([0, 1, 2, 3, 4]);
    const events = spanRecords.flatMap((r) => decodeTraceRequest(r.value)).filter((e) => e.service === service(flavor));
    expect(events).toHaveLength(want.spans);
    expect(events.filter((e) => e.route === '/api/items/{id}' && e.method === 'GET' && e.httpStatus === 200)).toHaveLength(5);
    expect(events.filter((e) => e.dbSystem === 'postgresql')).toHaveLength(5);
    // Every span's message is keyed by its trace id.
    for (const r of spanRecords) for (const e of decodeTraceRequest(r.value)) expect(e.traceId).toBe(r.key!.toString());

    // Metrics: both instruments, three series each (one data point per series), attributes intact.
    const metrics = mine(metricRecords.flatMap((r) => decodeObj.metrics(r.value)), flavor);
    const byName = new Map(metrics.map((m) => [m.item.name, m]));
    expect([...byName.keys()].sort(), flavor).toEqual(['peregrine.test.duration', 'peregrine.test.requests']);
    let points = 0;
    for (const m of metrics) {
      expect(m.resource).toMatchObject(expectedResource);
      expect(m.scope).toMatchObject(SCOPE);
      const data = m.item.sum ?? m.item.histogram;
      points += data.dataPoints.length;
      expect(data.dataPoints.map((p: Obj) => attrs(p.attributes)['http.route']).sort()).toEqual(['/a', '/b', '/c']);
    }
    expect(points).toBe(want.points);
    for (const r of metricRecords) decodeMetricsRequest(r.value);

    // Logs: body, severity, attributes, resource through our decoder too.
    const logs = mine(logRecords.flatMap((r) => decodeObj.logs(r.value)), flavor);
    expect(logs).toHaveLength(want.logs);
    for (const l of logs) expect(l.scope).toMatchObject(SCOPE);
    const logEvents = logRecords.flatMap((r) => decodeLogsRequest(r.value)).filter((e) => e.service === service(flavor));
    expect(logEvents.map((e) => e.body).sort()).toEqual([0, 1, 2, 3].map((i) => `login failed for user ${i}`));
    for (const e of logEvents) {
      expect(e.severity).toBe(13);
      expect(e.severityText).toBe('WARN');
      expect(e.attributes['user.id']).toMatch(/^u\d$/);
      expect(e.resource).toMatchObject(expectedResource);
    }
  }
}
