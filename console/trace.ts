/**
 * A Jaeger trace (query API `/api/traces/<id>`) as the rows of a waterfall: spans in call order (each parent before its
 * children, siblings by start time), each with its depth, its offset and length within the trace, its service, name,
 * status and attributes. Pure.
 */
import { isErrorSpan, tag, type JaegerSpan, type JaegerTrace } from '../core/jaeger.ts';

export interface WaterfallSpan {
  spanId: string;
  parentId?: string;
  depth: number;
  service: string;
  name: string;
  kind?: string;
  /** Microseconds from the trace's start, and the span's length. */
  offsetUs: number;
  durationUs: number;
  error: boolean;
  /** The status message of a failed span (`otel.status_description`). */
  statusMessage?: string;
  attributes: Array<[key: string, value: string]>;
  events: Array<{ offsetUs: number; name: string; attributes: Array<[key: string, value: string]> }>;
}

export interface Waterfall {
  traceId: string;
  startMs: number;
  durationUs: number;
  services: string[];
  spans: WaterfallSpan[];
  errors: number;
  /** Spans left out past `maxSpans`. */
  truncated: number;
}

/** Kept apart from the attributes list: the row shows them in their own places. */
const SHOWN_ELSEWHERE = new Set(['span.kind', 'otel.status_description']);
const MAX_VALUE_CHARS = 4096;

function valueText(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}…` : s;
}

export function waterfallOf(trace: JaegerTrace, options: { maxSpans?: number } = {}): Waterfall {
  const maxSpans = options.maxSpans ?? 2000;
  const spans = trace.spans;
  const byId = new Map(spans.map((s) => [s.spanID, s]));
  const parentOf = (s: JaegerSpan): string | undefined => {
    const ref = s.references?.find((r) => r.refType === 'CHILD_OF') ?? s.references?.[0];
    // A parent Jaeger did not return (not stored yet, or from another trace) makes the span a root.
    return ref && ref.spanID !== s.spanID && byId.has(ref.spanID) ? ref.spanID : undefined;
  };
  const children = new Map<string | undefined, JaegerSpan[]>();
  for (const s of spans) {
    const parent = parentOf(s);
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const start = spans.reduce((min, s) => Math.min(min, s.startTime ?? Infinity), Infinity);
  const end = spans.reduce((max, s) => Math.max(max, (s.startTime ?? 0) + (s.duration ?? 0)), -Infinity);
  const traceStart = Number.isFinite(start) ? start : 0;

  const ordered: Array<{ span: JaegerSpan; depth: number; parentId?: string }> = [];
  const seen = new Set<string>();
  const byStart = (a: JaegerSpan, b: JaegerSpan) => (a.startTime ?? 0) - (b.startTime ?? 0);
  // Iterative depth-first walk: a malformed trace with a reference cycle or a very deep chain cannot blow the stack.
  const stack = [...(children.get(undefined) ?? [])].sort(byStart).reverse().map((span) => ({ span, depth: 0, parentId: undefined as string | undefined }));
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next.span.spanID)) continue;
    seen.add(next.span.spanID);
    ordered.push(next);
    const kids = [...(children.get(next.span.spanID) ?? [])].sort(byStart).reverse();
    for (const kid of kids) stack.push({ span: kid, depth: next.depth + 1, parentId: next.span.spanID });
  }
  // Spans only reachable through a cycle: shown as roots rather than lost.
  for (const span of spans) if (!seen.has(span.spanID)) ordered.push({ span, depth: 0 });

  const rows = ordered.slice(0, maxSpans).map(({ span, depth, parentId }): WaterfallSpan => {
    const kind = tag(span, 'span.kind');
    const statusMessage = tag(span, 'otel.status_description');
    return {
      spanId: span.spanID,
      ...(parentId ? { parentId } : {}),
      depth,
      service: trace.processes[span.processID]?.serviceName ?? '',
      name: span.operationName,
      ...(typeof kind === 'string' ? { kind } : {}),
      offsetUs: Math.max(0, (span.startTime ?? traceStart) - traceStart),
      durationUs: Math.max(0, span.duration ?? 0),
      error: isErrorSpan(span),
      ...(statusMessage !== undefined ? { statusMessage: valueText(statusMessage) } : {}),
      attributes: span.tags.filter((t) => !SHOWN_ELSEWHERE.has(t.key)).map((t) => [t.key, valueText(t.value)]),
      events: (span.logs ?? []).map((log) => ({
        offsetUs: Math.max(0, log.timestamp - traceStart),
        name: valueText(log.fields.find((f) => f.key === 'event')?.value ?? 'event'),
        attributes: log.fields.filter((f) => f.key !== 'event').map((f) => [f.key, valueText(f.value)]),
      })),
    };
  });
  return {
    traceId: trace.traceID,
    startMs: traceStart / 1000,
    durationUs: Number.isFinite(end) ? Math.max(0, end - traceStart) : 0,
    services: [...new Set(rows.map((r) => r.service))].sort(),
    spans: rows,
    errors: rows.filter((r) => r.error).length,
    truncated: Math.max(0, ordered.length - maxSpans),
  };
}

/** Trace ids as Jaeger writes them: 16 or 32 hex digits. */
export function isTraceId(value: string): boolean {
  return /^(?:[0-9a-f]{16}|[0-9a-f]{32})$/.test(value);
}
