import { describe, expect, it } from 'vitest';
import type { LogRecordEvent, MetricPointEvent, RequestEvent } from '../../core/events.ts';
import { EntityAggregate } from '../window/aggregate.ts';
import { authLogFacts, isFailedLogin, requestIdentity } from './auth.ts';
import { payloadOf, payloadStats } from './payload.ts';
import { routeLog, routeMetric, routeRequest, type AggregateSink } from './router.ts';

class Capture implements AggregateSink {
  readonly windows = new Map<string, EntityAggregate>();
  open(entityId: string): EntityAggregate {
    let a = this.windows.get(entityId);
    if (!a) this.windows.set(entityId, (a = new EntityAggregate()));
    return a;
  }
  ids(): string[] {
    return [...this.windows.keys()].sort();
  }
}

const T = Date.UTC(2026, 10, 1);

function req(overrides: Partial<RequestEvent> = {}): RequestEvent {
  return {
    kind: 'request', timeMs: T, durationMs: 12, service: 'shop', operation: 'POST /login', spanKind: 'server', protocol: 'http',
    traceId: 't1', spanId: 's1', parentSpanId: 'p', error: false, method: 'POST', route: '/login', path: '/login', httpStatus: 200,
    clientAddress: '203.0.113.7', attributes: {}, resource: { 'service.name': 'shop', 'host.name': 'node-1', 'k8s.pod.name': 'shop-1' }, ...overrides,
  };
}

function log(overrides: Partial<LogRecordEvent>): LogRecordEvent {
  return { kind: 'log', timeMs: T, service: 'sensor', severity: 9, body: '', attributes: {}, resource: { 'host.name': 'node-1' }, ...overrides };
}

describe('entities of each event kind', () => {
  it('a server span speaks for its service, its operation and its client', () => {
    const s = new Capture();
    routeRequest(s, req({ httpStatus: 401, requestBody: 'username=alice&password=x' }));
    expect(s.ids()).toEqual(['client:203.0.113.7', 'operation:shop:POST /login', 'service:shop']);
    const client = s.windows.get('client:203.0.113.7')!;
    expect(client.requests!.failedLogins).toBe(1);
    expect(client.requests!.authFailures).toBe(1);
    expect(client.identitySample!.examples(5)).toEqual(['alice']);
    expect(client.requests!.peerSample!.examples(5)).toEqual(['shop']);
    expect(s.windows.get('service:shop')!.attributes).toMatchObject({ 'service.name': 'shop', 'host.name': 'node-1', 'k8s.pod.name': 'shop-1' });
  });

  it('a client span speaks for its edge (peer.service, else the server\'s name, or its address and port) and the caller\'s destinations', () => {
    const s = new Capture();
    routeRequest(s, req({ spanKind: 'client', peerService: 'catalog', clientAddress: undefined }));
    routeRequest(s, req({ spanKind: 'client', serverAddress: '10.1.2.3', serverPort: 5432, clientAddress: undefined }));
    // A gRPC client names its server `payment:50051` (server.address, server.port): the callee is payment.
    routeRequest(s, req({ spanKind: 'client', serverAddress: 'payment', serverPort: 50051, clientAddress: undefined }));
    expect(s.ids()).toEqual(['edge:shop->10.1.2.3:5432', 'edge:shop->catalog', 'edge:shop->payment', 'service:shop']);
    expect(s.windows.get('service:shop')!.destinationSample!.examples(5)).toEqual(['10.1.2.3:5432', 'catalog', 'payment']);
    expect(s.windows.get('service:shop')!.requests).toBeUndefined();
  });

  it("the sensor's exec and connection records speak for host, pod, process (and the connection's edge)", () => {
    const s = new Capture();
    const resource = { 'host.name': 'node-1', 'k8s.pod.name': 'catalog-1', 'k8s.namespace.name': 'shop', 'process.executable.path': '/usr/bin/curl' };
    routeLog(s, log({ eventName: 'process.exec', resource, attributes: { 'process.pid': 7, 'process.executable.path': '/bin/sh', 'process.command_args': '["sh","-c","id"]' } }));
    routeLog(s, log({ eventName: 'network.connection.open', resource, attributes: { 'network.peer.address': '198.51.100.9', 'network.peer.port': 443, 'peregrine.connection.role': 'client', 'process.command': 'curl' } }));
    routeLog(s, log({ eventName: 'network.connection.close', resource, attributes: { 'network.peer.address': '198.51.100.9', 'network.peer.port': 443, 'peregrine.connection.role': 'client', 'peregrine.connection.bytes_sent': 5_000_000 } }));
    expect(s.ids()).toEqual(['edge:curl->198.51.100.9:443', 'host:node-1', 'pod:shop/catalog-1', 'process:shop/catalog-1:/bin/sh', 'process:shop/catalog-1:/usr/bin/curl']);
    const pod = s.windows.get('pod:shop/catalog-1')!.activity!;
    expect([pod.execs, pod.shellExecs, pod.connections, pod.bytesOut]).toEqual([1, 1, 1, 5_000_000]);
    expect(pod.shellSample!.examples(5)).toEqual(['sh -c id']);
    expect(s.windows.get('host:node-1')!.destinationSample!.examples(5)).toEqual(['198.51.100.9:443']);
  });

  it('an authentication-failure log speaks for its service and the client it names', () => {
    const s = new Capture();
    routeLog(s, log({ service: 'sshd', severity: 13, body: 'Failed password for invalid user admin from 198.51.100.23 port 51234 ssh2' }));
    routeLog(s, log({ service: 'sshd', severity: 17, body: 'fatal: something broke' }));
    expect(s.ids()).toEqual(['client:198.51.100.23', 'service:sshd']);
    const service = s.windows.get('service:sshd')!;
    expect([service.logs, service.logErrors, service.authFailureLogs]).toEqual([2, 1, 1]);
    expect(s.windows.get('client:198.51.100.23')!.identitySample!.examples(5)).toEqual(['admin']);
  });

  it('process, container and host CPU and memory metrics speak for process, pod and host', () => {
    const s = new Capture();
    const metric = (name: string, value: number, resource: Record<string, string>, extra: Partial<MetricPointEvent> = {}): MetricPointEvent =>
      ({ kind: 'metric', timeMs: T, service: 'x', name, value, attributes: {}, resource, metricType: 'sum', monotonic: true, unit: 's', ...extra });
    routeMetric(s, metric('process.cpu.time', 1.5, { 'host.name': 'node-1', 'process.executable.path': '/usr/bin/node' }));
    routeMetric(s, metric('process.memory.usage', 1e8, { 'host.name': 'node-1', 'process.executable.path': '/usr/bin/node' }, { metricType: 'gauge', unit: 'By' }));
    routeMetric(s, metric('container.cpu.time', 250, { 'host.name': 'node-1', 'container.id': 'abc123' }, { unit: 'ms' }));
    routeMetric(s, metric('system.cpu.time', 9, { 'host.name': 'node-1' }, { attributes: { state: 'idle' } }));
    routeMetric(s, metric('system.cpu.time', 2, { 'host.name': 'node-1' }, { attributes: { state: 'user' } }));
    routeMetric(s, metric('http.server.duration', 2, { 'host.name': 'node-1' }));
    expect(s.ids()).toEqual(['host:node-1', 'pod:abc123', 'process:node-1:/usr/bin/node']);
    expect(s.windows.get('process:node-1:/usr/bin/node')!.activity).toMatchObject({ cpuSeconds: 1.5, memoryBytesMax: 1e8 });
    expect(s.windows.get('pod:abc123')!.activity!.cpuSeconds).toBeCloseTo(0.25);
    expect(s.windows.get('host:node-1')!.activity!.cpuSeconds).toBe(2);
  });

  it('counts a CPU delta in the window its interval ends in: a scrape on a window boundary in the window before', () => {
    const opened: Array<[string, number]> = [];
    const sink: AggregateSink = { open: (entityId, timeMs) => { opened.push([entityId, timeMs]); return new EntityAggregate(); } };
    const resource = { 'host.name': 'node-1', 'process.executable.path': '/tmp/.x/kdevtmpfsi' };
    const point = (name: string, timeMs: number, startTimeMs: number | undefined, extra: Partial<MetricPointEvent> = {}): MetricPointEvent =>
      ({ kind: 'metric', timeMs, startTimeMs, service: 'x', name, value: 18.5, attributes: {}, resource, metricType: 'sum', monotonic: true, unit: 's', ...extra });
    routeMetric(sink, point('process.cpu.time', T + 10_000, T));
    routeMetric(sink, point('process.cpu.time', T + 13_000, T + 3_000));
    routeMetric(sink, point('process.memory.usage', T + 10_000, T, { metricType: 'gauge', unit: 'By' }));
    const windowOf = (timeMs: number) => Math.floor((timeMs - T) / 10_000);
    expect(opened.map(([id, timeMs]) => [id, windowOf(timeMs)])).toEqual([
      ['process:node-1:/tmp/.x/kdevtmpfsi', 0], ['process:node-1:/tmp/.x/kdevtmpfsi', 1], ['process:node-1:/tmp/.x/kdevtmpfsi', 1],
    ]);
  });

  it('negative, infinite and absurd values never poison a window', () => {
    const s = new Capture();
    routeRequest(s, req({ durationMs: Number.NaN, requestBytes: -5, responseBytes: Number.POSITIVE_INFINITY, clientAddress: undefined }));
    routeRequest(s, req({ durationMs: 1e300, requestBytes: 1e300, clientAddress: undefined }));
    routeRequest(s, req({ durationMs: 10, requestBytes: 100, clientAddress: undefined }));
    const r = s.windows.get('service:shop')!.requests!;
    expect(r.count).toBe(3);
    expect(r.latencyMax).toBe(10);
    expect(r.latencySum).toBe(10);
    expect([r.requestBytesCount, r.requestBytesSum, r.responseBytesCount]).toEqual([1, 100, 0]);
  });
});

describe('authentication signals', () => {
  it('recognises refused logins and the user names they try', () => {
    expect(isFailedLogin(req({ httpStatus: 401 }))).toBe(true);
    expect(isFailedLogin(req({ httpStatus: 404 }))).toBe(false);
    expect(isFailedLogin(req({ httpStatus: 403, route: '/products/{id}', path: '/products/1', operation: 'GET /products/{id}' }))).toBe(false);
    expect(requestIdentity(req({ requestBody: '{"username": "bob", "password": "x"}' }))).toBe('bob');
    expect(requestIdentity(req({ query: 'user=carol%40example.com' }))).toBe('carol@example.com');
    expect(requestIdentity(req({ attributes: { 'enduser.id': 'dave' }, route: '/cart' }))).toBe('dave');
    expect(requestIdentity(req({ route: '/cart', path: '/cart', operation: 'GET /cart', query: 'user=x' }))).toBeUndefined();
  });

  it('reads authentication failures from sshd, PAM and ECS-shaped logs', () => {
    expect(authLogFacts(log({ body: 'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.4  user=root' })))
      .toEqual({ failure: true, identity: 'root', clientAddress: '192.0.2.4' });
    expect(authLogFacts(log({ body: 'login', attributes: { 'event.outcome': 'failure', 'event.category': 'authentication', 'user.name': 'eve', 'source.ip': '192.0.2.5' } })))
      .toEqual({ failure: true, identity: 'eve', clientAddress: '192.0.2.5' });
    expect(authLogFacts(log({ body: 'GET /health 200' }))).toEqual({ failure: false });
  });
});

describe('payload statistics', () => {
  it('measures encoded, special and random-looking payloads', () => {
    const plain = payloadStats('name=alice&age=30');
    expect(plain.specialRatio).toBe(0);
    expect(plain.encodedDensity).toBe(0);
    const sqli = payloadStats("id=1%27%20OR%20%271%27%3D%271");
    expect(sqli.encodedDensity).toBeGreaterThan(0.2);
    const xss = payloadStats('q=<script>alert(1)</script>&x=&#60;');
    expect(xss.specialRatio).toBeGreaterThan(0.2);
    expect(xss.encodedDensity).toBeGreaterThan(0);
    expect(payloadStats('a'.repeat(10)).entropy).toBe(0);
    expect(payloadStats('x'.repeat(5_000_000)).length).toBe(5_000_000);
    expect(payloadOf('a=1', 'b=2')).toBe('a=1&b=2');
    expect(payloadOf(undefined, undefined)).toBeUndefined();
  });
});
