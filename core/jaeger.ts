/** Jaeger's query API (`/api/traces/<id>`): the demo checks its finding's trace with it, the console draws waterfalls from it. */
import { UnavailableError } from './errors.ts';

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  tags: Array<{ key: string; type: string; value: unknown }>;
  processID: string;
  /** Microseconds since the epoch, and microseconds. */
  startTime?: number;
  duration?: number;
  references?: Array<{ refType: string; traceID: string; spanID: string }>;
  /** Span events (exceptions among them). */
  logs?: Array<{ timestamp: number; fields: Array<{ key: string; type: string; value: unknown }> }>;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** Fetches a trace from Jaeger's query API; undefined while Jaeger has not stored it (yet). */
export async function fetchJaegerTrace(queryUrl: string, traceId: string, options: { signal?: AbortSignal } = {}): Promise<JaegerTrace | undefined> {
  let response: Response;
  try {
    response = await fetch(`${queryUrl.replace(/\/+$/, '')}/api/traces/${traceId}`, { signal: options.signal });
  } catch (e) {
    throw new UnavailableError('jaeger', `query API at ${queryUrl} unreachable: ${(e as Error).message}`, { cause: e });
  }
  if (response.status === 404) return undefined;
  if (!response.ok) throw new UnavailableError('jaeger', `query API answered ${response.status} for trace ${traceId}`);
  const body = (await response.json()) as { data?: JaegerTrace[] };
  return body.data?.[0];
}

export function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}

/** A span Jaeger marks as failed (OTLP status ERROR becomes `error=true` / `otel.status_code=ERROR`). */
export function isErrorSpan(span: JaegerSpan): boolean {
  return tag(span, 'error') === true || tag(span, 'otel.status_code') === 'ERROR';
}
