import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace, type Attributes } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface TestSpan {
  service: string;
  name: string;
  startMs: number;
  durationMs: number;
  kind?: SpanKind;
  error?: string;
  attributes?: Attributes;
}

/** Spans made by the real OpenTelemetry SDK with the times given (tests need event time under control). */
export async function sdkSpans(specs: TestSpan[]): Promise<ReadableSpan[]> {
  const byService = new Map<string, TestSpan[]>();
  for (const s of specs) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
  const out: ReadableSpan[] = [];
  for (const [service, list] of byService) {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('peregrine-test');
    for (const s of list) {
      const span = tracer.startSpan(s.name, { kind: s.kind ?? SpanKind.SERVER, startTime: s.startMs, attributes: s.attributes }, trace.deleteSpan(ROOT_CONTEXT));
      if (s.error) span.setStatus({ code: SpanStatusCode.ERROR, message: s.error });
      span.end(s.startMs + s.durationMs);
    }
    await provider.forceFlush();
    out.push(...exporter.getFinishedSpans());
    await provider.shutdown();
  }
  return out;
}

/** One ExportTraceServiceRequest in protobuf, as the collector's kafka exporter writes it with otlp_proto. */
export function encodeTraceRequest(spans: ReadableSpan[]): Buffer {
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
}
