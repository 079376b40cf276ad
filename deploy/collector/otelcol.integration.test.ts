/**
 * deploy/collector/otelcol.yaml, unchanged, loaded by a stock OpenTelemetry Collector build (the stack's Jaeger v2
 * binary: otlp receiver, memory_limiter and batch processors, kafka exporter) with only its environment variables
 * pointing it at free ports and this test's topics. The real JS SDK sends spans (OTLP/HTTP and OTLP/gRPC), metric
 * points and log records; Peregrine's decoders read them back from Kafka: one message per trace, keyed by its id.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, trace as traceApi, ROOT_CONTEXT } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadAppConfig } from '../../app/config.ts';
import { createKafkaAdapter } from '../../core/kafka/kafkajs.ts';
import { createLogger } from '../../core/log.ts';
import { waitFor } from '../../app/testing/pipeline.ts';
import { decodeLogs, decodeMetrics, decodeTraces } from '../../ingest/otlp/index.ts';
import { readTopic } from '../../ingest/receiver/testing/test-receiver.ts';
import { stackPaths } from '../local/paths.ts';
import { freePort, startLogged, type LoggedProcess } from '../testing/process.ts';

const CONFIG = new URL('./otelcol.yaml', import.meta.url).pathname;
const run = randomUUID().slice(0, 8);
const topics = { spans: `test-otelcol-${run}-spans`, metrics: `test-otelcol-${run}-metrics`, logs: `test-otelcol-${run}-logs` };
const kafkaConfig = loadAppConfig({ env: {} }).kafka;
const kafka = createKafkaAdapter(kafkaConfig, createLogger({ level: 'error', pretty: false }));
const dir = mkdtempSync(join(tmpdir(), 'peregrine-otelcol-'));
const service = `otelcol-test-${run}`;
let collector: LoggedProcess | undefined;
let ports: { grpc: number; http: number; telemetry: number };

beforeAll(async () => {
  const binary = stackPaths().jaeger.binary;
  if (!existsSync(binary)) throw new Error(`${binary} is missing: \`peregrine stack up\` builds it (the Jaeger v2 binary is an OpenTelemetry Collector build)`);
  ports = { grpc: await freePort(), http: await freePort(), telemetry: await freePort() };
  await kafka.ensureTopics(Object.values(topics).map((topic) => ({ topic, partitions: 3 })));
  collector = startLogged(binary, ['--config', CONFIG], {
    logFile: join(dir, 'collector.log'), cwd: dir,
    env: {
      ...process.env,
      KAFKA_BROKER: kafkaConfig.brokers[0], OTLP_GRPC_ENDPOINT: `127.0.0.1:${ports.grpc}`, OTLP_HTTP_ENDPOINT: `127.0.0.1:${ports.http}`,
      KAFKA_TOPIC_SPANS: topics.spans, KAFKA_TOPIC_METRICS: topics.metrics, KAFKA_TOPIC_LOGS: topics.logs,
      TELEMETRY_METRICS_HOST: '127.0.0.1', TELEMETRY_METRICS_PORT: String(ports.telemetry),
    },
  });
  await waitFor('the collector listening on its test ports', async () => {
    if (collector!.child.exitCode !== null) throw new Error(`the collector exited:\n${collector!.tail()}`);
    const res = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  }, 60_000);
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  await kafka.close();
  const admin = new Kafka({ brokers: kafkaConfig.brokers, clientId: `cleanup-${run}`, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const resource = resourceFromAttributes({ 'service.name': service });

/** Two traces of two server spans each (gateway → catalog), made by the SDK; sent in one request by `send`. */
async function twoTraces(prefix: string): Promise<{ spans: ReadableSpan[]; traceIds: string[] }> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('otelcol-test');
  const traceIds: string[] = [];
  for (const id of [1, 2]) {
    const route = `/${prefix}/${id}`;
    const root = tracer.startSpan(`GET ${route}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'url.path': route, 'http.response.status_code': 200 } }, ROOT_CONTEXT);
    tracer.startSpan('GetProduct', { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc' } }, traceApi.setSpan(ROOT_CONTEXT, root)).end();
    root.end();
    traceIds.push(root.spanContext().traceId);
  }
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return { spans, traceIds };
}

async function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
  expect(result.code, String(result.error)).toBe(ExportResultCode.SUCCESS);
  await exporter.shutdown();
}

describe('deploy/collector/otelcol.yaml in a stock collector build', () => {
  it('the file is used as shipped: only environment variables differ', () => {
    const config = parseYaml(readFileSync(CONFIG, 'utf8')) as { exporters: { kafka: Record<string, any> }; service: { pipelines: Record<string, unknown> } };
    expect(Object.keys(config.service.pipelines).sort()).toEqual(['logs', 'metrics', 'traces']);
    expect(config.exporters.kafka.traces).toEqual({ topic: '${env:KAFKA_TOPIC_SPANS:-otlp_spans}', encoding: 'otlp_proto' });
    expect(config.exporters.kafka.partition_traces_by_id).toBe(true);
  });

  it('delivers spans (HTTP and gRPC), metric points and log records into the topics, one message per trace keyed by its id', async () => {
    // Two traces in one request each, over OTLP/HTTP and OTLP/gRPC: the exporter splits them into a message per trace.
    const overHttp = await twoTraces('http');
    const overGrpc = await twoTraces('grpc');
    await exportOnce(new TraceProto({ url: `http://127.0.0.1:${ports.http}/v1/traces` }), overHttp.spans);
    await exportOnce(new TraceGrpc({ url: `http://127.0.0.1:${ports.grpc}` }), overGrpc.spans);
    const traceIds = [...overHttp.traceIds, ...overGrpc.traceIds];

    // Delta temporality: a cumulative sum decodes only from its second point on (Peregrine turns cumulative into deltas).
    const meters = new MeterProvider({ resource, readers: [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `http://127.0.0.1:${ports.http}/v1/metrics`, temporalityPreference: AggregationTemporalityPreference.DELTA }), exportIntervalMillis: 600_000 })] });
    meters.getMeter('otelcol-test').createCounter('peregrine.test.requests').add(3, { 'http.route': '/products/{id}' });
    await meters.shutdown();

    const logs = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor(new OTLPLogExporter({ url: `http://127.0.0.1:${ports.http}/v1/logs` }))] });
    logs.getLogger('otelcol-test').emit({ severityNumber: 13, severityText: 'WARN', body: 'login failed for user u1', attributes: { 'user.id': 'u1' } });
    await logs.forceFlush();
    await logs.shutdown();

    const spanRecords = await readTopic(kafka, topics.spans, (rs) => rs.flatMap((r) => decodeTraces(r.value, 'otlp_proto')).length >= 8, 60_000);
    const events = spanRecords.flatMap((r) => decodeTraces(r.value, 'otlp_proto'));
    expect(events.map((e) => `${e.traceId} ${e.operation}`).sort()).toEqual([
      ...['http', 'grpc'].flatMap((p, i) => [1, 2].flatMap((n, j) => [`${traceIds[i * 2 + j]} GET /${p}/${n}`, `${traceIds[i * 2 + j]} GetProduct`])),
    ].sort());
    expect(new Set(events.map((e) => e.service))).toEqual(new Set([service]));
    // partition_traces_by_id: every message holds one trace and is keyed by its id.
    for (const r of spanRecords) expect(new Set(decodeTraces(r.value, 'otlp_proto').map((e) => e.traceId))).toEqual(new Set([r.key!.toString()]));
    expect(new Set(spanRecords.map((r) => r.key!.toString()))).toEqual(new Set(traceIds));

    const metricRecords = await readTopic(kafka, topics.metrics, (rs) => rs.some((r) => decodeMetrics(r.value, 'otlp_proto').some((p) => p.name === 'peregrine.test.requests')), 60_000);
    const point = metricRecords.flatMap((r) => decodeMetrics(r.value, 'otlp_proto')).find((p) => p.name === 'peregrine.test.requests');
    expect(point).toMatchObject({ service, value: 3, attributes: { 'http.route': '/products/{id}' } });

    const logRecords = await readTopic(kafka, topics.logs, (rs) => rs.length > 0, 60_000);
    expect(logRecords.flatMap((r) => decodeLogs(r.value, 'otlp_proto'))).toEqual([
      expect.objectContaining({ service, severity: 13, severityText: 'WARN', body: 'login failed for user u1', attributes: expect.objectContaining({ 'user.id': 'u1' }) }),
    ]);

    // The collector's own metrics answer on the port its environment gave it.
    const telemetry = await (await fetch(`http://127.0.0.1:${ports.telemetry}/metrics`)).text();
    const accepted = [...telemetry.matchAll(/^otelcol_receiver_accepted_spans_total\{[^}]*transport="(\w+)"[^}]*\} (\d+)$/gm)].map(([, transport, n]) => `${transport} ${n}`);
    expect(accepted.sort()).toEqual(['grpc 4', 'http 4']);
  }, 180_000);
});
