/**
 * The receivers' limits and answers, with real HTTP and gRPC clients, against a receiver whose Kafka producer writes
 * to the real broker of the local stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { decodeTraceRequest } from '../otlp/index.ts';
import { mutateBytes, mutateText, seedPayloads } from '../otlp/testing/fuzz-cases.ts';
import { seededRandom } from '../otlp/testing/sdk-requests.ts';
import { ExportTraceServiceRequest, type MessageType } from '../otlp/proto-types.ts';
import generatedRoot from '@opentelemetry/otlp-transformer/build/src/generated/root.js';
import { sdkTraceRequest, sdkTraceRequestJson } from '../otlp/testing/sdk-requests.ts';
import { readTopic, startTestReceiver, type TestReceiver } from './testing/test-receiver.ts';

const ExportTraceServiceResponseType = (generatedRoot as unknown as { opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceResponse: MessageType } } } } } })
  .opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** POST with node:http; an answer that arrives while the body is still being sent counts (the receiver may refuse early). */
function post(url: string, body: Buffer, headers: Record<string, string>, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { 'content-length': String(body.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (e) => setTimeout(() => reject(e), 200));
    req.end(body);
  });
}

const PROTO = { 'content-type': 'application/x-protobuf' };
const TOKEN = 'test-token-not-a-secret';

function grpcExport(url: string, path: string, body: Buffer, options: { token?: string; gzip?: boolean } = {}): Promise<{ error?: ServiceError; response?: Buffer }> {
  const client = new Client(url.replace(/^https?:\/\//, ''), credentials.createInsecure(), options.gzip ? { 'grpc.default_compression_algorithm': 2 } : {});
  const metadata = new Metadata();
  if (options.token) metadata.set('authorization', `Bearer ${options.token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, metadata, {}, (error, response) => {
      client.close();
      resolve({ error: error ?? undefined, response });
    });
  });
}

const TRACE_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

describe('OTLP receivers: answers and limits', () => {
  let rx: TestReceiver;
  let authed: TestReceiver;
  beforeAll(async () => {
    rx = await startTestReceiver({ 'receiver.maxRequestBytes': 200_000, 'receiver.maxDecompressedBytes': 2_000_000, 'receiver.maxMessageBytes': 100_000 });
    authed = await startTestReceiver({ 'receiver.authToken': TOKEN });
  });
  afterAll(async () => {
    await rx?.close();
    await authed?.close();
  });

  it('acknowledges protobuf, gzip and JSON only after Kafka has every span, one message per trace keyed by its id', async () => {
    const proto = Buffer.from(sdkTraceRequest({ seed: 21, spans: 60 }));
    const a = await post(`${rx.httpUrl}/v1/traces`, proto, PROTO);
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('application/x-protobuf');
    expect(a.body.length).toBe(0);
    const b = await post(`${rx.httpUrl}/v1/traces`, gzipSync(Buffer.from(sdkTraceRequest({ seed: 22, spans: 40 }))), { ...PROTO, 'content-encoding': 'gzip' });
    expect(b.status).toBe(200);
    const c = await post(`${rx.httpUrl}/v1/traces`, Buffer.from(sdkTraceRequestJson({ seed: 23, spans: 30 })), { 'content-type': 'application/json; charset=utf-8' });
    expect(c.status).toBe(200);
    expect(JSON.parse(c.body.toString())).toEqual({});
    const g = await grpcExport(rx.grpcUrl, TRACE_PATH, Buffer.from(sdkTraceRequest({ seed: 24, spans: 20 })), { gzip: true });
    expect(g.error).toBeUndefined();

    const expected = [21, 22, 23, 24].flatMap((seed, i) => decodeTraceRequest(sdkTraceRequest({ seed, spans: [60, 40, 30, 20][i] })));
    const records = await readTopic(rx.kafka, rx.topics.traces, (rs) => rs.reduce((n, r) => n + decodeTraceRequest(r.value).length, 0) >= expected.length);
    const events = records.flatMap((r) => decodeTraceRequest(r.value));
    const key = (e: { traceId?: string; spanId?: string }) => `${e.traceId}/${e.spanId}`;
    expect(events.map(key).sort()).toEqual(expected.map(key).sort());
    for (const r of records) {
      const ids = new Set(decodeTraceRequest(r.value).map((e) => e.traceId));
      expect([...ids]).toEqual([r.key!.toString()]);
    }
    const text = await rx.metrics.registry.metrics();
    expect(text).toMatch(/peregrine_receiver_items_total\{signal="traces",outcome="accepted"\} 150/);
    expect(text).toMatch(/peregrine_receiver_requests_total\{transport="grpc",signal="traces",outcome="ok"\} 1/);
  });

  it('answers partial_success with the rejected count and a message for spans it cannot store', async () => {
    const obj = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(sdkTraceRequest({ seed: 30, spans: 5 })), { defaults: false });
    obj.resourceSpans[0].scopeSpans[0].spans[0].traceId = new Uint8Array(0);
    obj.resourceSpans[0].scopeSpans[0].spans[1].attributes.push({ key: 'big', value: { stringValue: 'x'.repeat(150_000) } });
    const body = Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(obj)).finish());
    const a = await post(`${rx.httpUrl}/v1/traces`, body, PROTO);
    expect(a.status).toBe(200);
    const response = ExportTraceServiceResponse(a.body);
    expect(response.rejected).toBe(2);
    expect(response.message).toMatch(/without a valid 16-byte trace id.*larger than the maximum Kafka message size/);
  });

  it('refuses a gzip bomb with 413 without inflating it', async () => {
    const bomb = gzipSync(Buffer.alloc(150 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(200_000);
    const before = process.memoryUsage().rss;
    const a = await post(`${rx.httpUrl}/v1/traces`, bomb, { ...PROTO, 'content-encoding': 'gzip' });
    expect(a.status).toBe(413);
    expect(a.body.toString()).toMatch(/inflates past the limit of 2000000 bytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(80 * 1024 * 1024);
  });

  it('refuses an oversize body with 413, before reading it', async () => {
    const a = await post(`${rx.httpUrl}/v1/traces`, Buffer.alloc(300_000, 1), PROTO);
    expect(a.status).toBe(413);
    expect(a.body.toString()).toMatch(/over the limit of 200000 bytes/);
  });

  it('answers 415, 404, 405 and 400 with a clear Status message', async () => {
    const proto = Buffer.from(sdkTraceRequest({ seed: 1, spans: 2 }));
    const t = await post(`${rx.httpUrl}/v1/traces`, proto, { 'content-type': 'text/plain' });
    expect(t.status).toBe(415);
    expect(JSON.parse(t.body.toString()).message).toMatch(/unsupported content type 'text\/plain'/);
    const enc = await post(`${rx.httpUrl}/v1/traces`, proto, { ...PROTO, 'content-encoding': 'br' });
    expect(enc.status).toBe(415);
    expect((await post(`${rx.httpUrl}/v1/spans`, proto, PROTO)).status).toBe(404);
    const m = await post(`${rx.httpUrl}/v1/traces`, Buffer.alloc(0), PROTO, 'PUT');
    expect(m.status).toBe(405);
    expect(m.headers.allow).toBe('POST');
    const bad = await post(`${rx.httpUrl}/v1/traces`, Buffer.from([0x0a, 0xff, 0xff, 0x01]), PROTO);
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toBe('application/x-protobuf');
    expect(bad.body.toString('latin1')).toMatch(/ExportTraceServiceRequest: malformed/);
    // Framing intact, a span's attribute broken inside: the full decode catches it (what would be dead-lettered later).
    const lenField = (tag: number, b: Buffer) => Buffer.concat([Buffer.from([tag, b.length]), b]);
    const span = Buffer.concat([lenField(0x0a, Buffer.alloc(16, 1)), lenField(0x12, Buffer.alloc(8, 2)), lenField(0x4a, Buffer.from([0x0a, 0x7f]))]);
    const deep = await post(`${rx.httpUrl}/v1/traces`, lenField(0x0a, lenField(0x12, lenField(0x12, span))), PROTO);
    expect(deep.status).toBe(400);
    const badJson = await post(`${rx.httpUrl}/v1/logs`, Buffer.from('{"resourceLogs": 3}'), { 'content-type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body.toString())).toMatchObject({ code: 3, message: expect.stringMatching(/resourceLogs/) });
    const badGzip = await post(`${rx.httpUrl}/v1/traces`, Buffer.from('not gzip'), { ...PROTO, 'content-encoding': 'gzip' });
    expect(badGzip.status).toBe(400);
    const g = await grpcExport(rx.grpcUrl, TRACE_PATH, Buffer.from([0x0a, 0xff, 0xff, 0x01]));
    expect(g.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(g.error?.details).toMatch(/malformed/);
  });

  it('refuses a gRPC message that inflates past the limit with RESOURCE_EXHAUSTED', async () => {
    const g = await grpcExport(rx.grpcUrl, TRACE_PATH, Buffer.alloc(8_000_000), { gzip: true });
    expect(g.error?.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('needs the bearer token when one is configured, on both transports', async () => {
    const proto = Buffer.from(sdkTraceRequest({ seed: 2, spans: 2 }));
    const none = await post(`${authed.httpUrl}/v1/traces`, proto, PROTO);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.body.toString('latin1')).not.toContain(TOKEN);
    expect((await post(`${authed.httpUrl}/v1/traces`, proto, { ...PROTO, authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(`${authed.httpUrl}/v1/traces`, proto, { ...PROTO, authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await grpcExport(authed.grpcUrl, TRACE_PATH, proto)).error?.code).toBe(status.UNAUTHENTICATED);
    expect((await grpcExport(authed.grpcUrl, TRACE_PATH, proto, { token: TOKEN })).error).toBeUndefined();
  });
});

describe('OTLP receivers: requests larger than a Kafka message', () => {
  it('splits one 3 MB trace into several messages under 1 MB that Kafka takes (one batch per produce call stays under message.max.bytes)', async () => {
    const rx = await startTestReceiver();
    try {
      const obj = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(sdkTraceRequest({ seed: 50, spans: 6000 })), { defaults: false });
      const traceId = obj.resourceSpans[0].scopeSpans[0].spans[0].traceId;
      for (const rs of obj.resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) sp.traceId = traceId;
      const body = Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(obj)).finish());
      expect(body.length).toBeGreaterThan(2_500_000);
      const a = await post(`${rx.httpUrl}/v1/traces`, body, PROTO);
      expect(a.status).toBe(200);
      expect(a.body.length).toBe(0);
      const records = await readTopic(rx.kafka, rx.topics.traces, (rs) => rs.reduce((n, r) => n + decodeTraceRequest(r.value).length, 0) >= 6000);
      expect(records.length).toBeGreaterThanOrEqual(3);
      for (const r of records) {
        expect(r.value.length).toBeLessThanOrEqual(1_000_000);
        expect(r.key!.toString()).toBe(Buffer.from(traceId).toString('hex'));
      }
      expect(records.reduce((n, r) => n + decodeTraceRequest(r.value).length, 0)).toBe(6000);
    } finally {
      await rx.close();
    }
  });
});

describe('OTLP receivers: fuzzed requests', () => {
  it('answers every mutated protobuf and JSON body with 200 or a clean 400, and keeps serving', async () => {
    // One client as fast as it can: the per-client rate limit is tested on its own below.
    const rx = await startTestReceiver({ 'receiver.rateLimit.requestsPerSecond': 0 });
    try {
      const seeds = seedPayloads(30);
      const rng = seededRandom(2026);
      const outcomes: Record<string, number> = {};
      const paths = { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' };
      const cases = Array.from({ length: 1200 }, (_, i) => {
        const seed = seeds[i % seeds.length]!;
        const json = i % 4 === 3;
        const body = json ? Buffer.from(mutateText(seed.json, rng)) : Buffer.from(mutateBytes(seed.proto, rng));
        return { path: paths[seed.signal], body, headers: { 'content-type': json ? 'application/json' : 'application/x-protobuf' } };
      });
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < cases.length) {
          const c = cases[next++]!;
          const a = await post(`${rx.httpUrl}${c.path}`, c.body, c.headers);
          outcomes[a.status] = (outcomes[a.status] ?? 0) + 1;
          if (a.status === 400) expect(a.body.length).toBeGreaterThan(0);
        }
      }));
      expect(Object.keys(outcomes).sort()).toEqual(['200', '400']);
      expect(outcomes['400']).toBeGreaterThan(100);
      expect((await post(`${rx.httpUrl}/v1/traces`, Buffer.from(sdkTraceRequest({ seed: 70, spans: 5 })), PROTO)).status).toBe(200);
    } finally {
      await rx.close();
    }
  });
});

describe('OTLP receivers over TLS', () => {
  it('serves OTLP/HTTP and OTLP/gRPC with the configured certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peregrine-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    const rx = await startTestReceiver({ 'receiver.tls': { cert, key } });
    try {
      expect(rx.httpUrl).toMatch(/^https:/);
      const body = Buffer.from(sdkTraceRequest({ seed: 60, spans: 3 }));
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(`${rx.httpUrl}/v1/traces`, { method: 'POST', ca: readFileSync(cert), headers: { ...PROTO, 'content-length': body.length } }, (res) => { res.resume(); resolve(res.statusCode!); });
        req.on('error', reject);
        req.end(body);
      });
      expect(status).toBe(200);
      const client = new Client(`127.0.0.1:${rx.stage.grpcPort}`, credentials.createSsl(readFileSync(cert)));
      const error = await new Promise<ServiceError | null>((resolve) => {
        client.makeUnaryRequest(TRACE_PATH, (b: Buffer) => b, (b: Buffer) => b, body, new Metadata(), {}, (e) => { client.close(); resolve(e); });
      });
      expect(error).toBeNull();
      // Plain HTTP to the TLS port is refused.
      await expect(post(`http://127.0.0.1:${rx.stage.httpPort}/v1/traces`, body, PROTO)).rejects.toThrow();
    } finally {
      await rx.close();
    }
  });
});

describe('OTLP receivers: Kafka slow, down, or the receiver full', () => {
  it('answers 503 + Retry-After and UNAVAILABLE with RetryInfo when Kafka does not acknowledge in time, never success', async () => {
    const rx = await startTestReceiver({ 'receiver.kafkaTimeoutMs': 1, 'receiver.retryAfterSeconds': 3 });
    try {
      // Many traces in one request: Kafka cannot acknowledge them within 1 ms.
      const body = Buffer.from(sdkTraceRequest({ seed: 40, spans: 2000 }));
      const a = await post(`${rx.httpUrl}/v1/traces`, body, PROTO);
      expect(a.status).toBe(503);
      expect(a.headers['retry-after']).toBe('3');
      expect(a.body.toString('latin1')).toMatch(/did not acknowledge within 1 ms/);
      const g = await grpcExport(rx.grpcUrl, TRACE_PATH, body);
      expect(g.error?.code).toBe(status.UNAVAILABLE);
      const details = g.error!.metadata.get('grpc-status-details-bin')[0] as Buffer;
      expect(details.toString('latin1')).toContain('type.googleapis.com/google.rpc.RetryInfo');
    } finally {
      await rx.close();
    }
  });

  it('drops the unsent rest of a request it answered 503 for, and frees its bytes once nothing is in flight', async () => {
    const rx = await startTestReceiver({ 'receiver.kafkaTimeoutMs': 1 });
    try {
      const obj = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(sdkTraceRequest({ seed: 51, spans: 6000 })), { defaults: false });
      const traceId = obj.resourceSpans[0].scopeSpans[0].spans[0].traceId;
      for (const rs of obj.resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) sp.traceId = traceId;
      const body = Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(obj)).finish());
      expect((await post(`${rx.httpUrl}/v1/traces`, body, PROTO)).status).toBe(503);
      const inFlight = async () => (await rx.metrics.registry.getSingleMetric('peregrine_receiver_inflight_bytes')!.get()).values[0]!.value;
      for (let i = 0; i < 50 && (await inFlight()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await inFlight()).toBe(0);
      expect(rx.stage.exporter.admission.requests).toBe(0);
      // At most the chunk already handed to the producer reached Kafka; the other ~2 MB were never sent.
      const records = await readTopic(rx.kafka, rx.topics.traces, () => false, 3000);
      expect(records.length).toBeLessThanOrEqual(1);
    } finally {
      await rx.close();
    }
  });

  it('answers 503 when the producer cannot write at all', async () => {
    const rx = await startTestReceiver();
    try {
      await rx.producer.close();
      const a = await post(`${rx.httpUrl}/v1/traces`, Buffer.from(sdkTraceRequest({ seed: 41, spans: 5 })), PROTO);
      expect(a.status).toBe(503);
      expect(a.headers['retry-after']).toBe('2');
      expect(a.body.toString('latin1')).toMatch(/Kafka is unavailable/);
    } finally {
      await rx.close();
    }
  });

  it('limits each client\'s request rate: 429 + Retry-After and RESOURCE_EXHAUSTED + RetryInfo past the burst, nothing written', async () => {
    const rx = await startTestReceiver({ 'receiver.rateLimit': { requestsPerSecond: 0.5, burst: 3 }, 'receiver.retryAfterSeconds': 4, 'receiver.authToken': TOKEN });
    try {
      const body = Buffer.from(sdkTraceRequest({ seed: 43, spans: 4 }));
      const authed = { ...PROTO, authorization: `Bearer ${TOKEN}` };
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push((await post(`${rx.httpUrl}/v1/traces`, body, authed)).status);
      expect(answers).toEqual([200, 200, 200]);
      const limited = await post(`${rx.httpUrl}/v1/traces`, body, authed);
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('4');
      expect(limited.body.toString('latin1')).toMatch(/over the receiver's limit of 0.5 requests\/s/);
      // The limit comes before the token check: guessing tokens is rate-limited as well.
      expect((await post(`${rx.httpUrl}/v1/traces`, body, PROTO)).status).toBe(429);
      // gRPC from the same address shares the bucket.
      const g = await grpcExport(rx.grpcUrl, TRACE_PATH, body, { token: TOKEN });
      expect(g.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect((g.error!.metadata.get('grpc-status-details-bin')[0] as Buffer).toString('latin1')).toContain('RetryInfo');
      const counted = await rx.metrics.registry.getSingleMetricAsString('peregrine_receiver_requests_total');
      expect(counted).toMatch(/transport="http",signal="traces",outcome="rate_limited"\} 2/);
      expect(counted).toMatch(/transport="grpc",signal="traces",outcome="rate_limited"\} 1/);
      // What was accepted is in Kafka once; what was refused is not.
      const records = await readTopic(rx.kafka, rx.topics.traces, () => false, 4000);
      expect(records.reduce((n, r) => n + decodeTraceRequest(r.value).length, 0)).toBe(3 * 4);
    } finally {
      await rx.close();
    }
  });

  it('answers 429 + Retry-After and RESOURCE_EXHAUSTED while the in-flight bound is reached', async () => {
    const rx = await startTestReceiver({ 'receiver.maxInFlightRequests': 1 });
    try {
      const body = Buffer.from(sdkTraceRequest({ seed: 42, spans: 10 }));
      // Hold the one slot: a request whose body is still arriving.
      const held = httpRequest(`${rx.httpUrl}/v1/traces`, { method: 'POST', headers: { ...PROTO, 'content-length': String(body.length) } });
      const heldAnswer = new Promise<number>((resolve) => held.on('response', (res) => { res.resume(); resolve(res.statusCode!); }));
      held.write(body.subarray(0, 10));
      await new Promise((r) => setTimeout(r, 200));
      const a = await post(`${rx.httpUrl}/v1/traces`, body, PROTO);
      expect(a.status).toBe(429);
      expect(a.headers['retry-after']).toBe('2');
      const g = await grpcExport(rx.grpcUrl, TRACE_PATH, body);
      expect(g.error?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect((g.error!.metadata.get('grpc-status-details-bin')[0] as Buffer).toString('latin1')).toContain('RetryInfo');
      held.end(body.subarray(10));
      expect(await heldAnswer).toBe(200);
      expect((await post(`${rx.httpUrl}/v1/traces`, body, PROTO)).status).toBe(200);
    } finally {
      await rx.close();
    }
  });
});

/** ExportTraceServiceResponse{partial_success{rejected_spans, error_message}} read by protobufjs. */
function ExportTraceServiceResponse(bytes: Buffer): { rejected: number; message: string } {
  const partial = ExportTraceServiceResponseType.toObject(ExportTraceServiceResponseType.decode(bytes), { longs: Number }).partialSuccess;
  return { rejected: partial?.rejectedSpans ?? 0, message: partial?.errorMessage ?? '' };
}
