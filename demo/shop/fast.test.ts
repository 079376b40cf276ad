import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecordEvent, MetricPointEvent, ProcessExecEvent, RequestEvent } from '../../core/events.ts';
import { decodeLogs, decodeMetrics, decodeTraces } from '../../ingest/otlp/index.ts';
import { activityEvent } from '../../ingest/normalize/activity.ts';
import type { Action, ClientRequest } from '../traffic/actions.ts';
import { FLAG_FAILURE_PRODUCT } from './catalog.ts';
import { FastShop } from './fast.ts';
import { GET_PRODUCT } from './model.ts';
import { PROXY, TOPOLOGY } from './topology.ts';

/** An OTLP/HTTP endpoint that keeps what it is sent, decoded by Peregrine's own decoders. */
class Sink {
  spans: RequestEvent[] = [];
  logs: LogRecordEvent[] = [];
  metrics: MetricPointEvent[] = [];
  private server?: Server;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/v1/traces') this.spans.push(...decodeTraces(body, 'otlp_proto'));
        if (req.url === '/v1/logs') this.logs.push(...decodeLogs(body, 'otlp_proto'));
        if (req.url === '/v1/metrics') this.metrics.push(...decodeMetrics(body, 'otlp_proto'));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server!.close(() => r()));
  }
}

const T0 = Date.UTC(2026, 10, 20, 6, 0, 0);
const client = (path: string, extra: Partial<ClientRequest> = {}): ClientRequest => ({
  method: 'GET', path, headers: [['host', 'shop.example.com'], ['user-agent', 'Mozilla/5.0 (test)']], clientAddress: '73.12.34.56', ...extra,
});
const request = (timeMs: number, r: ClientRequest): Action => ({ kind: 'request', timeMs, origin: 'shopper', request: r });

describe('fast mode', () => {
  const sink = new Sink();
  beforeAll(async () => {
    await sink.start();
    const shop = new FastShop({ endpoint: sink.url, seed: 1, startMs: T0 });
    const login = JSON.stringify({ username: 'james.smith', password: 'not-the-password' });
    await shop.run([
      request(T0 + 1_000, client('/api/products/66VCHSJNUP', { query: 'currencyCode=EUR' })),
      { kind: 'flags', timeMs: T0 + 2_000, origin: 'attack', eventIndex: 0, description: 'on', change: (f) => { f.failingProduct = FLAG_FAILURE_PRODUCT; } },
      request(T0 + 3_000, client(`/api/products/${FLAG_FAILURE_PRODUCT}`)),
      request(T0 + 4_000, client('/api/login', { method: 'POST', body: login, headers: [['user-agent', 'Mozilla/4.0 (Hydra)'], ['content-type', 'application/json']], clientAddress: '203.0.113.7' })),
      { kind: 'exec', timeMs: T0 + 5_000, origin: 'attack', eventIndex: 1, service: 'cart', pid: 31_000, binary: '/bin/sh', args: ['sh', '-c', 'id'] },
      // Still open when the run ends (at T0 + 25 s): its close has not happened yet.
      { kind: 'connection', timeMs: T0 + 6_000, origin: 'attack', eventIndex: 1, service: 'cart', remote: { address: '198.51.100.9', port: 443 }, bytesSent: 5_000_000, bytesReceived: 4_000, durationMs: 60_000 },
      request(T0 + 25_000, client('/api/health', { clientAddress: '10.0.1.5', direct: true })),
    ]);
  });
  afterAll(() => sink.stop());

  const sdk = () => sink.spans.filter((s) => s.resource['telemetry.sdk.name'] === 'opentelemetry');

  it('makes the frontend\'s server span as the HTTP instrumentation does: route, client from X-Forwarded-For, the proxy as peer', () => {
    const fe = sdk().find((s) => s.service === 'frontend' && s.spanKind === 'server' && s.path === '/api/products/66VCHSJNUP')!;
    expect(fe).toMatchObject({
      operation: 'GET /api/products/{productId}', route: '/api/products/{productId}', method: 'GET', httpStatus: 200, query: 'currencyCode=EUR',
      clientAddress: '73.12.34.56', userAgent: 'Mozilla/5.0 (test)', error: false,
    });
    expect(fe.attributes['network.peer.address']).toBe(PROXY.address);
    expect(fe.timeMs).toBeGreaterThanOrEqual(T0 + 1_000);
    expect(fe.timeMs).toBeLessThan(T0 + 1_010);
    expect(fe.resource).toMatchObject({ 'service.name': 'frontend', 'host.name': TOPOLOGY.frontend.host, 'process.pid': TOPOLOGY.frontend.pid });
  });

  it('propagates W3C context through the call graph: catalog and currency spans are children in the same trace', () => {
    const fe = sdk().find((s) => s.service === 'frontend' && s.spanKind === 'server' && s.path === '/api/products/66VCHSJNUP')!;
    const trace = sdk().filter((s) => s.traceId === fe.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const catalog = trace.find((s) => s.service === 'product-catalog' && s.spanKind === 'server')!;
    expect(catalog).toMatchObject({ operation: GET_PRODUCT, protocol: 'grpc', rpcService: 'oteldemo.ProductCatalogService', rpcMethod: 'GetProduct', grpcStatus: 0 });
    const caller = byId.get(catalog.parentSpanId!)!;
    expect(caller).toMatchObject({ service: 'frontend', spanKind: 'client', serverAddress: 'product-catalog' });
    expect(byId.get(caller.parentSpanId!)).toBe(fe);
    expect(trace.some((s) => s.service === 'currency' && s.spanKind === 'server' && s.operation === 'oteldemo.CurrencyService/Convert')).toBe(true);
    // Children lie inside their parents in (simulated) time.
    for (const s of trace) {
      const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
      if (parent) expect(s.timeMs).toBeGreaterThanOrEqual(parent.timeMs);
    }
  });

  it('fails GetProduct for the flagged product, as the Demo\'s productCatalogFailure does', () => {
    const catalog = sdk().find((s) => s.service === 'product-catalog' && s.spanKind === 'server' && s.attributes['app.product.id'] === FLAG_FAILURE_PRODUCT)!;
    expect(catalog).toMatchObject({ error: true, grpcStatus: 13, statusMessage: 'Error: Product Catalog Fail Feature Flag Enabled' });
    const fe = sdk().find((s) => s.traceId === catalog.traceId && s.service === 'frontend' && s.spanKind === 'server')!;
    expect(fe).toMatchObject({ httpStatus: 500, error: true });
    expect(sink.logs.some((l) => l.service === 'product-catalog' && l.severityText === 'ERROR' && l.traceId === catalog.traceId)).toBe(true);
  });

  it('logs a failed login in the request\'s context, with who tried and from where', () => {
    const login = sdk().find((s) => s.service === 'frontend' && s.spanKind === 'server' && s.path === '/api/login')!;
    expect(login).toMatchObject({ httpStatus: 401, clientAddress: '203.0.113.7', error: false });
    const log = sink.logs.find((l) => l.traceId === login.traceId && l.service === 'frontend')!;
    expect(log).toMatchObject({ severityText: 'WARN', severity: 13 });
    expect(log.body).toMatch(/login failed for user james\.smith from 203\.0\.113\.7/);
    expect(log.attributes).toMatchObject({ 'event.outcome': 'failure', 'event.category': 'authentication', 'user.name': 'james.smith', 'client.address': '203.0.113.7' });
    expect(sdk().some((s) => s.traceId === login.traceId && s.dbSystem === 'postgresql' && s.dbStatement === 'SELECT id, password_hash FROM users WHERE username = $1')).toBe(true);
  });

  it('reports what the eBPF sensor sees, through the sensor\'s encoders: the ingress exchange with its redacted body, and execs', () => {
    const sensor = sink.spans.filter((s) => s.resource['peregrine.source'] === 'ebpf');
    const login = sensor.find((s) => s.path === '/api/login')!;
    // The sensor names the socket's peer (the proxy) as client.address; the decoder takes the client the proxy forwarded for.
    expect(login).toMatchObject({ service: 'node', spanKind: 'server', httpStatus: 401, clientAddress: '203.0.113.7', userAgent: 'Mozilla/4.0 (Hydra)' });
    expect(login.attributes['network.peer.address']).toBe(PROXY.address);
    expect(login.requestBody).toContain('james.smith');
    expect(login.requestBody).not.toContain('not-the-password');
    expect(login.attributes['http.request.header.x-forwarded-for']).toBe('["203.0.113.7"]');
    const exec = sink.logs.map(activityEvent).find((e): e is ProcessExecEvent => e.kind === 'exec')!;
    expect(exec).toMatchObject({ pid: 31_000, ppid: TOPOLOGY.cart.pid, binary: '/bin/sh', args: ['sh', '-c', 'id'], host: TOPOLOGY.cart.host, timeMs: T0 + 5_000 });
  });

  it('sends a sensor record once its time has come: a connection still open at the end has its open record and no close', () => {
    const records = sink.logs.map(activityEvent);
    const upload = records.filter((e) => e.kind === 'connection' && e.remoteAddress === '198.51.100.9');
    expect(upload.map((e) => e.kind === 'connection' && e.phase)).toEqual(['open']);
    // Nothing from the future: a record ahead of the others would move the features stage's watermark past open windows.
    expect(Math.max(...records.map((e) => e.timeMs))).toBeLessThanOrEqual(T0 + 25_000);
  });

  it('has the health check reach the frontend directly, and reports host metrics every 10 s of simulated time', () => {
    const health = sdk().find((s) => s.path === '/api/health')!;
    expect(health.clientAddress).toBe('10.0.1.5');
    const cpu = sink.metrics.filter((m) => m.name === 'process.cpu.time' && m.resource?.['process.pid'] === TOPOLOGY.frontend.pid);
    // Cumulative counters: the decoder turns them into deltas, so the first point of a series only sets its start.
    expect(cpu.map((m) => m.timeMs)).toEqual([T0 + 20_000, T0 + 20_000]);
    expect(cpu.every((m) => m.startTimeMs === T0 + 10_000 && m.unit === 's')).toBe(true);
    expect(sink.metrics.some((m) => m.name === 'system.cpu.time' && m.resource?.['host.name'] === 'shop-node-1')).toBe(true);
  });
});
