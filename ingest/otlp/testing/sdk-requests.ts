/**
 * Realistic OTLP payloads built with the real OpenTelemetry SDK and serialized by otlp-transformer,
 * for differential tests and the decode benchmark. Seeded: the same options give the same bytes.
 */
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type IdGenerator, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

import { mulberry32 } from '../../../core/random.ts';

/** The seeded PRNG the fixtures are built with. */
export const seededRandom = mulberry32;

class SeededIds implements IdGenerator {
  constructor(private readonly random: () => number) {}
  private hex(bytes: number): string {
    let out = '';
    for (let i = 0; i < bytes; i++) out += Math.floor(this.random() * 256).toString(16).padStart(2, '0');
    return out;
  }
  generateTraceId(): string {
    return this.hex(16);
  }
  generateSpanId(): string {
    return this.hex(8);
  }
}

class Collect implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface SdkSpanOptions {
  seed?: number;
  spans?: number;
  /** Start of the first span, ms since the epoch. */
  startMs?: number;
  service?: string;
}

const PICK = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];

const USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'python-requests/2.31.0',
  'curl/8.5.0',
  'okhttp/4.12.0',
];
const ROUTES = ['/api/products/{id}', '/api/cart', '/api/checkout', '/api/users/{id}/orders', '/api/recommendations', '/healthz'];
const PEERS = ['cartservice', 'productcatalogservice', 'currencyservice', 'paymentservice', 'shippingservice'];
const CLIENT_IPS = ['10.244.1.17', '10.244.2.31', '10.244.0.5', '192.168.49.1', '2001:db8::7'];

function concretePath(random: () => number, route: string): string {
  return route.replace('{id}', () => (random() < 0.5 ? String(Math.floor(random() * 100000)) : seededUuid(random)));
}

/** A UUID from the seeded generator (crypto.randomUUID is not seedable). */
function seededUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** HTTP server/client, gRPC and database spans with the attribute sets real instrumentations emit. */
export function buildSdkSpans(options: SdkSpanOptions = {}): ReadableSpan[] {
  const random = seededRandom(options.seed ?? 1);
  const collect = new Collect();
  const service = options.service ?? 'frontend';
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': service,
      'service.version': '1.12.3',
      'service.namespace': 'shop',
      'service.instance.id': '627cc493-f310-47de-96bd-71410b7dec09',
      'deployment.environment.name': 'production',
      'host.name': 'ip-10-0-12-7.ec2.internal',
      'host.arch': 'amd64',
      'os.type': 'linux',
      'process.pid': 4172,
      'process.runtime.name': 'nodejs',
      'process.runtime.version': '20.20.2',
      'k8s.pod.name': `${service}-7c9d8f6b5-x2x7q`,
      'k8s.namespace.name': 'shop',
    }),
    idGenerator: new SeededIds(random),
    spanProcessors: [collect],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-http', '0.216.0');
  const count = options.spans ?? 100;
  let t = options.startMs ?? 1_764_547_200_000.123;
  for (let i = 0; i < count; i++) {
    t += random() * 5;
    const durationMs = 0.2 + random() * random() * 400;
    const style = random();
    let name: string;
    let kind: SpanKind;
    let attributes: Attributes;
    let status = 200;
    const r = random();
    if (r < 0.03) status = 500;
    else if (r < 0.06) status = 404;
    else if (r < 0.08) status = 401;
    if (style < 0.45) {
      const route = PICK(random, ROUTES);
      const path = concretePath(random, route);
      const method = route === '/api/checkout' ? 'POST' : 'GET';
      kind = SpanKind.SERVER;
      name = `${method} ${route}`;
      attributes = {
        'http.request.method': method,
        'url.scheme': 'http',
        'url.path': path,
        'http.route': route,
        'http.response.status_code': status,
        'server.address': 'frontend.shop.svc.cluster.local',
        'server.port': 8080,
        'client.address': PICK(random, CLIENT_IPS),
        'network.peer.address': '10.244.1.1',
        'network.peer.port': 40000 + Math.floor(random() * 20000),
        'network.protocol.version': '1.1',
        'user_agent.original': PICK(random, USER_AGENTS),
        'http.response.body.size': Math.floor(random() * 20000),
      };
      if (random() < 0.3) attributes['url.query'] = `page=${Math.floor(random() * 10)}&sort=price`;
    } else if (style < 0.6) {
      // Older instrumentations: the pre-1.20 HTTP conventions, no http.route.
      const route = PICK(random, ROUTES);
      const path = concretePath(random, route);
      kind = SpanKind.SERVER;
      name = 'GET';
      attributes = {
        'http.method': 'GET',
        'http.target': random() < 0.5 ? `${path}?session=${Math.floor(random() * 1e9)}` : path,
        'http.scheme': 'http',
        'http.flavor': '1.1',
        'http.host': 'frontend:8080',
        'net.host.name': 'frontend',
        'net.host.port': 8080,
        'http.status_code': status,
        'net.sock.peer.addr': PICK(random, CLIENT_IPS),
        'net.sock.peer.port': 40000 + Math.floor(random() * 20000),
        'http.user_agent': PICK(random, USER_AGENTS),
        'http.request_content_length': Math.floor(random() * 2000),
      };
    } else if (style < 0.8) {
      const peer = PICK(random, PEERS);
      const path = concretePath(random, PICK(random, ROUTES));
      kind = SpanKind.CLIENT;
      name = 'GET';
      attributes = {
        'http.request.method': 'GET',
        'url.full': `http://${peer}.shop.svc.cluster.local:7070${path}`,
        'server.address': `${peer}.shop.svc.cluster.local`,
        'server.port': 7070,
        'http.response.status_code': status,
        'network.peer.address': `10.96.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}`,
        'network.protocol.version': '1.1',
        'peer.service': peer,
        'http.request.body.size': Math.floor(random() * 4000),
      };
    } else if (style < 0.93) {
      const method = PICK(random, ['GetProduct', 'ListProducts', 'SearchProducts']);
      kind = SpanKind.CLIENT;
      name = `oteldemo.ProductCatalogService/${method}`;
      attributes = {
        'rpc.system': 'grpc',
        'rpc.service': 'oteldemo.ProductCatalogService',
        'rpc.method': method,
        'rpc.grpc.status_code': status === 500 ? 14 : 0,
        'server.address': 'productcatalogservice',
        'server.port': 3550,
        'network.peer.address': '10.96.14.2',
        'network.peer.port': 3550,
      };
    } else {
      kind = SpanKind.CLIENT;
      name = 'SELECT shop.orders';
      attributes = {
        'db.system': 'postgresql',
        'db.namespace': 'shop',
        'db.operation.name': 'SELECT',
        'db.query.text': 'SELECT id, total, status FROM orders WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20',
        'server.address': 'postgres.shop.svc.cluster.local',
        'server.port': 5432,
      };
    }
    const span = tracer.startSpan(name, { kind, attributes, startTime: hrTime(t) });
    if (status >= 500 || (kind === SpanKind.CLIENT && status >= 400)) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: status >= 500 ? 'Internal Server Error' : 'Not Found' });
    }
    span.end(hrTime(t + durationMs));
  }
  return collect.spans;
}

/**
 * ms since the epoch → [seconds, nanoseconds]. The SDK takes a plain number below its time origin
 * as a performance.now() offset, so absolute times are passed as HrTime.
 */
export function hrTime(ms: number): [number, number] {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

export function sdkTraceRequest(options: SdkSpanOptions = {}): Uint8Array {
  const bytes = ProtobufTraceSerializer.serializeRequest(buildSdkSpans(options));
  if (!bytes) throw new Error('serializer returned nothing');
  return bytes;
}

export function sdkTraceRequestJson(options: SdkSpanOptions = {}): Uint8Array {
  const bytes = JsonTraceSerializer.serializeRequest(buildSdkSpans(options));
  if (!bytes) throw new Error('serializer returned nothing');
  return bytes;
}
