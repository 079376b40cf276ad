// A trace sent with the real OpenTelemetry JS SDK to the stack's OTLP front end on 4318 (Peregrine's receiver by
// default, the Jaeger collector role with PEREGRINE_STACK_FRONTEND=collector) travels through Kafka (otlp_spans) and
// the query role into Elasticsearch, and comes back from the query API.
import { randomUUID } from 'node:crypto';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureStackUp, STACK_URLS } from './stack.ts';

interface JaegerSpan { traceID: string; spanID: string; operationName: string; references: Array<{ refType: string; spanID: string }>; tags: Array<{ key: string; value: unknown }>; processID: string }
interface JaegerTrace { traceID: string; spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }

beforeAll(async () => {
  // The front end the global setup chose stays; this only makes sure the query role runs.
  await ensureStackUp({ only: ['jaeger-query'], progress: 'plain' });
});

async function fetchTrace(traceId: string, timeoutMs: number): Promise<JaegerTrace | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(`${STACK_URLS.jaegerQuery}/api/traces/${traceId}`);
    if (response.ok) {
      const body = (await response.json()) as { data?: JaegerTrace[] };
      const found = body.data?.[0];
      if (found && found.spans.length >= 2) return found;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

describe('Jaeger (OTLP front end -> Kafka -> query -> Elasticsearch)', () => {
  it('returns a trace sent over OTLP with its spans, parent link and attributes', async () => {
    const serviceName = `peregrine-it-${randomUUID().slice(0, 8)}`;
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': serviceName }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: STACK_URLS.otlpHttpTraces }))],
    });
    const tracer = provider.getTracer('peregrine-it');
    const parent = tracer.startSpan('GET /orders/{id}', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'url.path': '/orders/42', 'http.response.status_code': 500 } });
    const child = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'peregrine.test.rows': 3 } }, trace.setSpan(context.active(), parent));
    child.end();
    parent.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    parent.end();
    await provider.forceFlush();
    await provider.shutdown();

    const traceId = parent.spanContext().traceId;
    const found = await fetchTrace(traceId, 60_000);
    expect(found, `trace ${traceId} did not appear in ${STACK_URLS.jaegerQuery} within 60 s`).toBeDefined();
    const spans = found!.spans;
    expect(spans.map((s) => s.operationName).sort()).toEqual(['GET /orders/{id}', 'SELECT orders']);
    const server = spans.find((s) => s.operationName === 'GET /orders/{id}')!;
    const db = spans.find((s) => s.operationName === 'SELECT orders')!;
    expect(server.spanID).toBe(parent.spanContext().spanId);
    expect(db.references).toContainEqual(expect.objectContaining({ refType: 'CHILD_OF', spanID: server.spanID }));
    const tags = (s: JaegerSpan) => Object.fromEntries(s.tags.map((t) => [t.key, t.value]));
    expect(tags(server)).toMatchObject({ 'http.request.method': 'GET', 'url.path': '/orders/42', 'http.response.status_code': 500, error: true });
    expect(tags(db)).toMatchObject({ 'db.system': 'postgresql', 'peregrine.test.rows': 3 });
    expect(found!.processes[server.processID].serviceName).toBe(serviceName);

    const services = (await (await fetch(`${STACK_URLS.jaegerQuery}/api/services`)).json()) as { data: string[] };
    expect(services.data).toContain(serviceName);
  });
});
