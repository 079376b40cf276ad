/**
 * Interoperability with the stock parts of the stack:
 *  (b) what our receiver writes to otlp_spans is read by Jaeger's kafka receiver: the trace comes back from the query API;
 *  (c) the stock collector (the stack's Jaeger binary in the collector role, kafka exporter with otlp_proto and otlp_json,
 *      run here on other ports) writes messages our decoders read into the same events as our receiver's output for the
 *      same requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { context, SpanKind, trace as traceApi } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ensureStackUp, STACK_URLS } from '../../deploy/local/stack.ts';
import { stackPaths } from '../../deploy/local/paths.ts';
import { decodeLogs, decodeMetrics, decodeTraces, type OtlpEncoding } from '../otlp/index.ts';
import { ExportMetricsServiceRequest, exportLogsServiceRequestType } from '../otlp/proto-types.ts';
import { randomLogsRequest, randomMetricsRequest, toProtobufjs } from '../otlp/testing/random-requests.ts';
import { sdkTraceRequest } from '../otlp/testing/sdk-requests.ts';
import type { IncomingRecord } from '../../core/kafka/adapter.ts';
import { freePort, readTopic, startTestReceiver, type TestReceiver } from './testing/test-receiver.ts';

const run = randomUUID().slice(0, 8);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('(b) Jaeger reads what our receiver writes to otlp_spans', () => {
  let rx: TestReceiver;
  beforeAll(async () => {
    await ensureStackUp({ only: ['kafka', 'elasticsearch', 'jaeger-query'], progress: 'silent' });
    // The real otlp_spans topic, which jaeger-query's kafka receiver consumes.
    rx = await startTestReceiver({ 'topics.spans': 'otlp_spans' });
  });
  afterAll(async () => rx?.close());

  it('returns the trace from the query API with every span, its service and attributes', async () => {
    const service = `peregrine-receiver-${run}`;
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${rx.httpUrl}/v1/traces` }))],
    });
    const tracer = provider.getTracer('interop');
    let traceId = '';
    const root = tracer.startSpan('POST /api/checkout', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'http.route': '/api/checkout', 'app.order.id': 'o-77' } });
    traceId = root.spanContext().traceId;
    // No context manager is registered: the parent is passed explicitly.
    tracer.startSpan('charge card', { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'grpc' } }, traceApi.setSpan(context.active(), root)).end();
    root.end();
    await provider.shutdown();
    const trace = await waitFor('the trace in Jaeger', async () => {
      const res = await fetch(`${STACK_URLS.jaegerQuery}/api/traces/${traceId}`);
      if (!res.ok) return undefined;
      const body = (await res.json()) as { data: Array<{ spans: Array<{ operationName: string; tags: Array<{ key: string; value: unknown }>; processID: string }>; processes: Record<string, { serviceName: string }> }> };
      return body.data?.[0]?.spans.length === 2 ? body.data[0] : undefined;
    }, 90_000);
    expect(trace.spans.map((s) => s.operationName).sort()).toEqual(['POST /api/checkout', 'charge card']);
    expect(Object.values(trace.processes).map((p) => p.serviceName)).toContain(service);
    const server = trace.spans.find((s) => s.operationName === 'POST /api/checkout')!;
    expect(server.tags).toContainEqual(expect.objectContaining({ key: 'app.order.id', value: 'o-77' }));
  });
});

describe('(c) the stock collector and our receiver write the same events for the same requests', () => {
  let rx: TestReceiver;
  let collector: ChildProcess | undefined;
  let collectorHttp = 0;
  const topic = (signal: string, encoding: string) => `test-col-${signal}-${encoding}-${run}`;

  beforeAll(async () => {
    rx = await startTestReceiver();
    await rx.kafka.ensureTopics(['spans', 'metrics', 'logs'].flatMap((s) => ['otlp_proto', 'otlp_json'].map((e) => ({ topic: topic(s, e), partitions: 3 }))));
    const paths = stackPaths();
    collectorHttp = await freePort();
    const collectorGrpc = await freePort();
    const dir = join(paths.tmp, `collector-${run}`);
    mkdirSync(dir, { recursive: true });
    const exporter = (encoding: string) => `
  kafka/${encoding}:
    brokers: [127.0.0.1:9092]
    client_id: interop-${encoding}
    partition_traces_by_id: true
    traces: { topic: ${topic('spans', encoding)}, encoding: ${encoding} }
    metrics: { topic: ${topic('metrics', encoding)}, encoding: ${encoding} }
    logs: { topic: ${topic('logs', encoding)}, encoding: ${encoding} }
    producer: { required_acks: -1, max_message_bytes: 1000000 }`;
    const config = `
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [kafka/otlp_proto, kafka/otlp_json] }
    metrics: { receivers: [otlp], exporters: [kafka/otlp_proto, kafka/otlp_json] }
    logs: { receivers: [otlp], exporters: [kafka/otlp_proto, kafka/otlp_json] }
  telemetry:
    metrics: { level: none }
    logs: { level: warn }
receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:${collectorGrpc} }
      http: { endpoint: 127.0.0.1:${collectorHttp} }
exporters:${exporter('otlp_proto')}${exporter('otlp_json')}
`;
    const file = join(dir, 'collector.yaml');
    writeFileSync(file, config);
    const out = openSync(join(dir, 'collector.log'), 'a');
    collector = spawn(paths.jaeger.binary, ['--config', file], { stdio: ['ignore', out, out], cwd: dir });
    await waitFor('the collector on its test ports', async () => {
      const res = await fetch(`http://127.0.0.1:${collectorHttp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return res.status === 200 ? true : undefined;
    });
  });

  afterAll(async () => {
    if (collector && collector.exitCode === null) {
      const exited = new Promise((r) => collector!.once('exit', r));
      collector.kill('SIGTERM');
      await exited;
    }
    await rx?.close();
  });

  async function postBoth(path: string, body: Uint8Array): Promise<void> {
    for (const url of [`http://127.0.0.1:${collectorHttp}${path}`, `${rx.httpUrl}${path}`]) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
      expect(res.status, url).toBe(200);
    }
  }

  const canon = (events: unknown[]) => events.map((e) => JSON.stringify(e)).sort();

  async function eventsOf(t: string, want: number, decode: (r: IncomingRecord) => unknown[]): Promise<{ events: string[]; records: IncomingRecord[] }> {
    const records = await readTopic(rx.kafka, t, (rs) => rs.reduce((n, r) => n + decode(r).length, 0) >= want, 30_000);
    return { events: canon(records.flatMap(decode)), records };
  }

  it('traces: same request events from otlp_proto, otlp_json and ours, and the same trace-id keys', async () => {
    const requests = [1, 2, 3].map((seed) => sdkTraceRequest({ seed: 100 + seed, spans: 120 }));
    for (const r of requests) await postBoth('/v1/traces', r);
    const expected = canon(requests.flatMap((r) => decodeTraces(r, 'otlp_proto')));
    const dec = (encoding: OtlpEncoding) => (r: IncomingRecord) => decodeTraces(r.value, encoding);
    const ours = await eventsOf(rx.topics.traces, expected.length, dec('otlp_proto'));
    const proto = await eventsOf(topic('spans', 'otlp_proto'), expected.length, dec('otlp_proto'));
    const json = await eventsOf(topic('spans', 'otlp_json'), expected.length, dec('otlp_json'));
    expect(ours.events).toEqual(expected);
    expect(proto.events).toEqual(ours.events);
    expect(json.events).toEqual(ours.events);
    const keys = (records: IncomingRecord[]) => [...new Set(records.map((r) => r.key!.toString()))].sort();
    expect(keys(ours.records)).toEqual(keys(proto.records));
    for (const r of proto.records) expect(new Set(decodeTraces(r.value, 'otlp_proto').map((e) => e.traceId))).toEqual(new Set([r.key!.toString()]));
  });

  it('metrics and logs: same events from otlp_proto, otlp_json and ours', async () => {
    const metrics = [5, 6].map((seed) => ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(toProtobufjs(randomMetricsRequest(seed)))).finish());
    const logsType = exportLogsServiceRequestType();
    const logs = [5, 6].map((seed) => logsType.encode(logsType.fromObject(toProtobufjs(randomLogsRequest(seed)))).finish());
    for (const m of metrics) await postBoth('/v1/metrics', m);
    for (const l of logs) await postBoth('/v1/logs', l);
    // Metric messages are decoded one by one (no cumulative state across them), as written.
    const mdec = (encoding: OtlpEncoding) => (r: IncomingRecord) => decodeMetrics(r.value, encoding);
    const wantPoints = metrics.reduce((n, m) => n + decodeMetrics(m, 'otlp_proto').length, 0);
    const oursM = await eventsOf(rx.topics.metrics, wantPoints, mdec('otlp_proto'));
    expect(oursM.events).toEqual(canon(metrics.flatMap((m) => decodeMetrics(m, 'otlp_proto'))));
    expect((await eventsOf(topic('metrics', 'otlp_proto'), wantPoints, mdec('otlp_proto'))).events).toEqual(oursM.events);
    expect((await eventsOf(topic('metrics', 'otlp_json'), wantPoints, mdec('otlp_json'))).events).toEqual(oursM.events);
    const ldec = (encoding: OtlpEncoding) => (r: IncomingRecord) => decodeLogs(r.value, encoding);
    const wantLogs = logs.reduce((n, l) => n + decodeLogs(l, 'otlp_proto').length, 0);
    const oursL = await eventsOf(rx.topics.logs, wantLogs, ldec('otlp_proto'));
    expect(oursL.events).toEqual(canon(logs.flatMap((l) => decodeLogs(l, 'otlp_proto'))));
    expect((await eventsOf(topic('logs', 'otlp_proto'), wantLogs, ldec('otlp_proto'))).events).toEqual(oursL.events);
    expect((await eventsOf(topic('logs', 'otlp_json'), wantLogs, ldec('otlp_json'))).events).toEqual(oursL.events);
  });
});
