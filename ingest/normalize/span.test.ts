import { describe, expect, it } from 'vitest';
import { CONSUMED_ATTRIBUTE_KEYS, emptySpanFields, normalizeSpan, resourceInfo, splitUrl, type Attributes, type SpanFields } from './span.ts';

const res = resourceInfo({ 'service.name': 'shop', 'host.name': 'n1' });
const span = (attributes: Attributes, fields: Partial<SpanFields> = {}) =>
  normalizeSpan({ ...emptySpanFields(), name: 'op', kind: 2, startMs: 1000, durationMs: 5, traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), ...fields, attributes }, res);

describe('normalizeSpan: HTTP conventions, current and older names', () => {
  it('gives the same fields for the current and the pre-1.20 server attributes', () => {
    const current = span({
      'http.request.method': 'GET', 'url.path': '/users/42', 'url.query': 'a=1', 'http.response.status_code': 503,
      'server.address': 'web', 'server.port': 8080, 'client.address': '10.0.0.7', 'user_agent.original': 'curl/8',
      'http.request.body.size': 12, 'http.response.body.size': 34,
    });
    const older = span({
      'http.method': 'GET', 'http.target': '/users/42?a=1', 'http.status_code': '503', 'net.host.name': 'web', 'net.host.port': 8080,
      'net.sock.peer.addr': '10.0.0.7', 'http.user_agent': 'curl/8', 'http.request_content_length': 12, 'http.response_content_length': 34,
    });
    const pick = (e: ReturnType<typeof span>) => ({
      method: e.method, path: e.path, query: e.query, route: e.route, httpStatus: e.httpStatus, serverAddress: e.serverAddress,
      serverPort: e.serverPort, clientAddress: e.clientAddress, userAgent: e.userAgent, requestBytes: e.requestBytes,
      responseBytes: e.responseBytes, error: e.error, protocol: e.protocol,
    });
    const expected = {
      method: 'GET', path: '/users/42', query: 'a=1', route: '/users/{id}', httpStatus: 503, serverAddress: 'web', serverPort: 8080,
      clientAddress: '10.0.0.7', userAgent: 'curl/8', requestBytes: 12, responseBytes: 34, error: true, protocol: 'http',
    };
    expect(pick(current)).toEqual(expected);
    expect(pick(older)).toEqual(expected);
  });

  it('prefers http.route over a derived template, and the current name over the old one', () => {
    const e = span({ 'http.route': '/users/:id', 'url.path': '/users/42', 'http.request.method': 'POST', 'http.method': 'GET' });
    expect(e.route).toBe('/users/:id');
    expect(e.method).toBe('POST');
  });

  it('splits url.full on client spans into server address, path and query', () => {
    const e = span({ 'url.full': 'https://user:pw@api.example.com:8443/v1/items/9f1c2e3d4b5a6978?x=1#top', 'http.request.method': 'GET', 'net.peer.name': 'ignored' }, { kind: 3 });
    expect(e).toMatchObject({ serverAddress: 'api.example.com', path: '/v1/items/9f1c2e3d4b5a6978', query: 'x=1', route: '/v1/items/{id}', spanKind: 'client' });
    expect(e.attributes['url.full']).toBeDefined(); // kept: it carries more than the fields
    expect(splitUrl('http://[2001:db8::1]:80/p')).toEqual({ host: '2001:db8::1', path: '/p', query: undefined });
  });

  it('reads old net.peer.* as the server on client spans and net.host.* on server spans', () => {
    expect(span({ 'net.peer.name': 'db1', 'net.peer.port': 5432 }, { kind: 3 })).toMatchObject({ serverAddress: 'db1', serverPort: 5432 });
    expect(span({ 'net.peer.name': 'client-host', 'net.host.name': 'me' }, { kind: 2 })).toMatchObject({ serverAddress: 'me' });
    expect(span({ 'http.client_ip': '1.2.3.4', 'net.sock.peer.addr': '10.0.0.1' }).clientAddress).toBe('1.2.3.4');
  });

  it('takes the client a proxy of the deployment forwarded for when the span names the socket\'s peer as client', () => {
    const xff = 'http.request.header.x-forwarded-for';
    // The eBPF sensor: client.address is the socket's peer, the proxy; the header as an OTLP array (flattened to JSON).
    const sensor = { 'client.address': '10.0.1.10', 'network.peer.address': '10.0.1.10', [xff]: '["203.0.113.7, 10.0.0.3"]' };
    expect(span(sensor).clientAddress).toBe('203.0.113.7');
    expect(span({ 'network.peer.address': '10.0.1.10', [xff]: '2001:db8::7' }).clientAddress).toBe('2001:db8::7');
    // An SDK that already took the forwarded client keeps it; an outside peer's header is not trusted (anyone can write it).
    expect(span({ 'client.address': '198.51.100.4', 'network.peer.address': '10.0.1.10', [xff]: '203.0.113.7' }).clientAddress).toBe('198.51.100.4');
    expect(span({ 'client.address': '198.51.100.4', 'network.peer.address': '198.51.100.4', [xff]: '203.0.113.7' }).clientAddress).toBe('198.51.100.4');
    // Garbage in the header leaves the peer; client spans are not served requests.
    expect(span({ 'client.address': '10.0.1.10', 'network.peer.address': '10.0.1.10', [xff]: 'unknown' }).clientAddress).toBe('10.0.1.10');
    expect(span({ 'network.peer.address': '10.0.1.10', [xff]: '203.0.113.7' }, { kind: 3 }).clientAddress).toBeUndefined();
  });
});

describe('normalizeSpan: errors and protocols', () => {
  it('marks ERROR status, 5xx on servers, 4xx on clients and non-OK gRPC as errors', () => {
    expect(span({}, { statusCode: 2, statusMessage: 'boom' })).toMatchObject({ error: true, statusMessage: 'boom' });
    expect(span({ 'http.response.status_code': 500 }).error).toBe(true);
    expect(span({ 'http.response.status_code': 404 }).error).toBe(false);
    expect(span({ 'http.response.status_code': 404 }, { kind: 3 }).error).toBe(true);
    expect(span({ 'rpc.system': 'grpc', 'rpc.grpc.status_code': 5 }).error).toBe(true);
    expect(span({ 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0 }).error).toBe(false);
    expect(span({}, { statusCode: 1 }).error).toBe(false);
  });

  it('tells gRPC, database, messaging and HTTP spans apart', () => {
    expect(span({ 'rpc.system': 'grpc', 'rpc.service': 'shop.Cart', 'rpc.method': 'Add' })).toMatchObject({ protocol: 'grpc', route: 'shop.Cart/Add', rpcService: 'shop.Cart', rpcMethod: 'Add' });
    expect(span({ 'db.system': 'postgresql', 'db.name': 'shop', 'db.statement': 'SELECT 1', 'db.operation': 'SELECT' }, { kind: 3 }))
      .toMatchObject({ protocol: 'db', dbSystem: 'postgresql', dbName: 'shop', dbStatement: 'SELECT 1', dbOperation: 'SELECT' });
    expect(span({ 'db.system.name': 'redis', 'db.namespace': '0', 'db.query.text': 'GET k', 'db.operation.name': 'GET' }, { kind: 3 }))
      .toMatchObject({ dbSystem: 'redis', dbName: '0', dbStatement: 'GET k', dbOperation: 'GET' });
    expect(span({ 'messaging.system': 'kafka' }, { kind: 4 })).toMatchObject({ protocol: 'messaging', spanKind: 'producer' });
    expect(span({ 'peer.service': 'cart' }).protocol).toBe('other');
  });

  it('moves consumed attributes into fields and keeps the rest', () => {
    const e = span({ 'http.request.method': 'GET', 'custom.flag': true, 'retry.count': 2, 'network.peer.address': '10.1.1.1' });
    expect(e.attributes).toEqual({ 'custom.flag': true, 'retry.count': 2, 'network.peer.address': '10.1.1.1' });
    expect(CONSUMED_ATTRIBUTE_KEYS).toContain('http.request.method');
    expect(CONSUMED_ATTRIBUTE_KEYS).not.toContain('url.full');
  });

  it('falls back to unknown_service, clamps negative durations and omits empty parent ids', () => {
    const e = normalizeSpan({ ...emptySpanFields(), durationMs: -3, attributes: {} }, resourceInfo({}));
    expect(e).toMatchObject({ service: 'unknown_service', durationMs: 0, parentSpanId: undefined, spanKind: 'unspecified' });
  });

  it('ignores non-numeric status codes and ports instead of producing NaN', () => {
    const e = span({ 'http.response.status_code': 'abc', 'server.port': 'http' });
    expect(e.httpStatus).toBeUndefined();
    expect(e.serverPort).toBeUndefined();
  });
});
