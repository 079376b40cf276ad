/**
 * A reproducible input for the features stage's integration tests and benchmark: OTLP trace requests made with the
 * real OpenTelemetry SDK (a frontend serving clients and calling a catalog, some 4xx/5xx, some login attempts) and
 * the sensor's own log encoding for exec records and sshd authentication failures.
 */
import { SpanKind } from '@opentelemetry/api';
import { mulberry32 } from '../../core/random.ts';
import { encodeTraceRequest, sdkSpans, type TestSpan } from '../../core/testing/otlp-spans.ts';
import { encodeLogs, type LogItem } from '../../ebpf/agent/otlp.ts';

export interface InputMessage {
  key: string;
  value: Buffer;
}

/** `messages` trace messages of `spansPerMessage` spans each, spread over `spanMs` of event time from `startMs`. */
export async function spanMessages(startMs: number, spanMs: number, messages: number, spansPerMessage = 6, seed = 1): Promise<InputMessage[]> {
  const random = mulberry32(seed);
  const out: InputMessage[] = [];
  for (let i = 0; i < messages; i++) {
    const t = startMs + Math.floor((i / messages) * spanMs);
    const specs: TestSpan[] = [];
    for (let k = 0; k < spansPerMessage; k += 2) {
      const client = `10.0.${i % 3}.${Math.floor(random() * 12)}`;
      const login = random() < 0.1;
      const status = login ? (random() < 0.5 ? 401 : 200) : random() < 0.05 ? 500 : random() < 0.08 ? 404 : 200;
      const id = Math.floor(random() * 1000);
      const path = login ? '/login' : status === 404 ? `/missing/${random().toString(36).slice(2, 8)}` : `/products/${id}`;
      const route = login ? '/login' : status === 404 ? undefined : '/products/:id';
      specs.push({
        service: 'frontend', name: login ? 'POST /login' : `GET ${route ?? ''}`.trim(), startMs: t + k, durationMs: 5 + random() * 50, kind: SpanKind.SERVER,
        error: status >= 500 ? 'internal error' : undefined,
        attributes: {
          'http.request.method': login ? 'POST' : 'GET', 'url.path': path, ...(route ? { 'http.route': route } : {}), 'http.response.status_code': status,
          'client.address': client, 'http.response.body.size': Math.floor(random() * 20_000),
          ...(login ? { 'url.query': `user=user${Math.floor(random() * 5)}` } : {}),
        },
      });
      specs.push({
        service: 'frontend', name: 'oteldemo.ProductCatalogService/GetProduct', startMs: t + k + 1, durationMs: 2 + random() * 20, kind: SpanKind.CLIENT,
        attributes: { 'rpc.system': 'grpc', 'rpc.service': 'oteldemo.ProductCatalogService', 'rpc.method': 'GetProduct', 'peer.service': 'catalog', 'server.address': 'catalog', 'server.port': 3550 },
      });
    }
    out.push({ key: `m${i}`, value: encodeTraceRequest(await sdkSpans(specs)) });
  }
  return out;
}

/** Sensor exec records and sshd authentication failures, `messages` log messages over `spanMs` from `startMs`. */
export function logMessages(startMs: number, spanMs: number, messages: number, seed = 2): InputMessage[] {
  const random = mulberry32(seed);
  const out: InputMessage[] = [];
  for (let i = 0; i < messages; i++) {
    const t = startMs + Math.floor((i / messages) * spanMs);
    const ns = (ms: number) => BigInt(Math.round(ms)) * 1_000_000n;
    const execs: LogItem[] = [0, 1].map((k) => {
      const binary = ['/usr/bin/curl', '/bin/sh', '/usr/bin/ls', '/tmp/.x/miner'][Math.floor(random() * 4)];
      return { timeWallNs: ns(t + k), body: `exec ${binary}`, attributes: { 'event.name': 'process.exec', 'process.pid': 100 + k, 'process.executable.path': binary, 'process.command_args': [binary, '-v'] } };
    });
    const sshd: LogItem[] = [{ timeWallNs: ns(t + 2), body: `Failed password for invalid user u${Math.floor(random() * 7)} from 198.51.100.${i % 2} port 4242 ssh2`, attributes: {} }];
    const bytes = encodeLogs([
      { resource: { 'service.name': 'peregrine-sensor', 'host.name': `node-${i % 2}`, 'k8s.pod.name': 'catalog-1', 'k8s.namespace.name': 'shop' }, items: execs },
      { resource: { 'service.name': 'sshd', 'host.name': `node-${i % 2}` }, items: sshd },
    ], ns(t + 3));
    out.push({ key: `l${i}`, value: Buffer.from(bytes) });
  }
  return out;
}
