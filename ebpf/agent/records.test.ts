import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type { HttpExchange } from './connections.ts';
import type { HttpMessage } from './http-stream.ts';
import { bodyText, pixieRow, redactExchange, upid } from './records.ts';
import { encodeLogs, encodeMetrics, encodeTraces, httpSpan, processResource, spanIds } from './otlp.ts';

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');

function message(over: Partial<HttpMessage>): HttpMessage {
  return { kind: 'request', versionMajor: 1, versionMinor: 1, headers: [], body: Buffer.alloc(0), bodySize: 0, bodyTruncated: false, upgrade: false, startNs: 0, endNs: 0, ...over };
}

function exchange(): HttpExchange {
  const body = Buffer.from('{"user":"ada","password":"hunter2","note":"' + 'n'.repeat(100) + '"}');
  return {
    conn: { key: 'k', tgid: 321, fd: 9, connId: '1', role: 'server', comm: 'node', local: { address: '10.0.0.1', port: 8080 }, remote: { address: '10.0.0.2', port: 40000 }, tls: false, preexisting: false, openedNs: 0 },
    tid: 322,
    request: message({ method: 'POST', target: '/users/42/orders?token=abc&page=2', headers: [['Host', 'shop:8080'], ['Authorization', 'Bearer abcdefghijk'], ['Content-Type', 'application/json'], ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'], ['User-Agent', 'curl/8']], body, bodySize: body.length, startNs: 5_000_000 }),
    response: message({ kind: 'response', status: 503, statusText: 'Service Unavailable', headers: [['Set-Cookie', 'sid=1']], body: Buffer.from('down'), bodySize: 4, endNs: 7_500_000 }),
    latencyNs: 2_500_000,
  };
}

describe('exported records', () => {
  it('redacts before building a Pixie http_events row with Pixie\'s columns', () => {
    const ex = exchange();
    const red = redactExchange(ex, 40);
    const row = pixieRow(ex, red, { pid: 321, comm: 'node', startTicks: 99 }, 1_700_000_000_000_000_000n);
    expect(row).toMatchObject({
      upid: '00000000-0000-0141-0000-000000000063', remote_addr: '10.0.0.2', remote_port: 40000, local_addr: '10.0.0.1', local_port: 8080,
      trace_role: 2, req_method: 'POST', req_path: '/users/42/orders?token=[REDACTED:field]&page=2', resp_status: 503, resp_body: 'down',
      req_body_size: ex.request.bodySize, resp_body_size: 4, latency: 2_500_000, content_type: 1,
    });
    expect(row.time_).toBe(1_700_000_000_007_500_000);
    expect(row.req_body).toBe('{"user":"ada","password":"[REDACTED:field]"'.slice(0, 40));
    expect(Buffer.byteLength(row.req_body)).toBeLessThanOrEqual(40);
    expect(JSON.parse(row.req_headers).Authorization).toBe('[REDACTED:header]');
    expect(JSON.parse(row.resp_headers)['Set-Cookie']).toBe('[REDACTED:header]');
  });

  it('describes binary and compressed bodies instead of dumping them', () => {
    expect(bodyText(Buffer.from([0, 1, 2, 3, 4, 5]), [], 6)).toBe('[binary body, 6 bytes]');
    expect(bodyText(Buffer.from('xx'), [['Content-Encoding', 'gzip']], 900)).toBe('[gzip-encoded body, 900 bytes]');
    expect(bodyText(Buffer.from('héllo'), [], 6)).toBe('héllo');
  });

  it('formats upids like Pixie (asid:pid:start time)', () => {
    expect(upid(1, 0)).toBe('00000000-0000-0001-0000-000000000000');
    expect(upid(0x12345, 0xabcdef, 7)).toBe('00000007-0001-2345-0000-000000abcdef');
  });

  it('makes a span with HTTP semantic conventions, joined to the traceparent, that OTLP decoders read', () => {
    const ex = exchange();
    const red = redactExchange(ex, 4096);
    const ids = spanIds(ex, (n) => Buffer.alloc(n, 7));
    expect(ids.traceId.toString('hex')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(ids.parentSpanId?.toString('hex')).toBe('b7ad6b7169203331');
    const span = httpSpan(ex, red, ids, 1_000_000_000n);
    const resource = processResource({ pid: 321, comm: 'node', executable: '/usr/bin/node', args: ['node', 'app.js'] }, { hostName: 'h1' });
    const bytes = encodeTraces([{ resource, items: [span] }]);
    const decoded = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.decode(bytes).toJSON();
    const rs = decoded.resourceSpans[0];
    const s = rs.scopeSpans[0].spans[0];
    const attrs = Object.fromEntries(s.attributes.map((a: { key: string; value: Record<string, unknown> }) => [a.key, Object.values(a.value)[0]]));
    expect(s.name).toBe('POST /users/{id}/orders');
    expect(s.kind).toBe('SPAN_KIND_SERVER');
    expect(s.startTimeUnixNano).toBe('1005000000');
    expect(s.endTimeUnixNano).toBe('1007500000');
    expect(s.status).toEqual({ code: 'STATUS_CODE_ERROR', message: 'HTTP 503' });
    expect(attrs).toMatchObject({
      'http.request.method': 'POST', 'url.path': '/users/42/orders', 'url.query': 'token=[REDACTED:field]&page=2', 'url.scheme': 'http',
      'http.response.status_code': '503', 'server.address': 'shop', 'server.port': '8080', 'client.address': '10.0.0.2', 'client.port': '40000',
      'network.protocol.version': '1.1', 'user_agent.original': 'curl/8', 'http.response.body': 'down',
    });
    expect(String(attrs['http.request.body'])).toContain('"password":"[REDACTED:field]"');
    expect(JSON.stringify(attrs['http.request.header.authorization'])).toContain('[REDACTED:header]');
    const res = Object.fromEntries(rs.resource.attributes.map((a: { key: string; value: Record<string, unknown> }) => [a.key, Object.values(a.value)[0]]));
    expect(res).toMatchObject({ 'service.name': 'node', 'process.pid': '321', 'host.name': 'h1', 'process.executable.path': '/usr/bin/node' });
    expect(JSON.stringify(decoded)).not.toContain('hunter2');
    expect(JSON.stringify(decoded)).not.toContain('abcdefghijk');
  });

  it('draws fresh ids when there is no valid traceparent', () => {
    const ex = exchange();
    ex.request.headers = ex.request.headers.filter(([n]) => n !== 'traceparent').concat([['traceparent', '00-00000000000000000000000000000000-b7ad6b7169203331-01']]);
    const ids = spanIds(ex, (n) => Buffer.alloc(n, 1));
    expect(ids.traceId.toString('hex')).toBe('01'.repeat(16));
    expect(ids.parentSpanId).toBeUndefined();
  });

  it('encodes cumulative metrics and log records', () => {
    const m = encodeMetrics({ 'service.name': 'peregrine-sensor' }, [
      { name: 'peregrine.sensor.ringbuf.drops', unit: '1', description: 'd', kind: 'sum', value: 3 },
      { name: 'peregrine.sensor.connections.tracked', unit: '1', description: 'g', kind: 'gauge', value: 5 },
    ], 1n, 2n);
    const dm = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest.decode(m).toJSON();
    const metrics = dm.resourceMetrics[0].scopeMetrics[0].metrics;
    expect(metrics[0]).toMatchObject({ name: 'peregrine.sensor.ringbuf.drops', sum: { aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE', isMonotonic: true, dataPoints: [{ asInt: '3' }] } });
    expect(metrics[1].gauge.dataPoints[0].asInt).toBe('5');
    const logs = Buffer.from(encodeLogs([{ resource: { 'service.name': 'curl' }, items: [{ timeWallNs: 5n, body: 'exec curl -s', attributes: { 'event.name': 'process.exec', 'process.pid': 7 } }] }], 6n));
    expect(logs.includes(Buffer.from('exec curl -s'))).toBe(true);
    expect(logs.includes(Buffer.from('process.exec'))).toBe(true);
  });
});
