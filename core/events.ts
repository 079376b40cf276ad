/**
 * Normalized events: what decoding OTLP, Pixie rows and sensor records produces, and what the
 * features stage consumes. Attribute names follow the OpenTelemetry semantic conventions.
 * Times are milliseconds since the epoch (floating point keeps sub-millisecond precision).
 */

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer' | 'unspecified';
export type Protocol = 'http' | 'grpc' | 'db' | 'messaging' | 'other';

export interface RequestEvent {
  kind: 'request';
  /** Event time: start of the request. */
  timeMs: number;
  durationMs: number;
  service: string;
  /** Span name, e.g. `GET /products/{id}` or `oteldemo.ProductCatalogService/GetProduct`. */
  operation: string;
  spanKind: SpanKind;
  protocol: Protocol;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  /** True when the span status is ERROR, or the HTTP/gRPC status says so. */
  error: boolean;
  statusMessage?: string;
  method?: string;
  route?: string;
  path?: string;
  query?: string;
  httpStatus?: number;
  grpcStatus?: number;
  serverAddress?: string;
  serverPort?: number;
  clientAddress?: string;
  peerService?: string;
  requestBytes?: number;
  responseBytes?: number;
  userAgent?: string;
  dbSystem?: string;
  /** `db.namespace` / `db.name`. */
  dbName?: string;
  /** `db.operation.name` / `db.operation`. */
  dbOperation?: string;
  /** `db.query.text` / `db.statement` (as the instrumentation sanitized it). */
  dbStatement?: string;
  /** `rpc.system`, `rpc.service`, `rpc.method` for RPC spans (gRPC and others). */
  rpcSystem?: string;
  rpcService?: string;
  rpcMethod?: string;
  /** Body excerpt where captured (already redacted at the source). */
  requestBody?: string;
  responseBody?: string;
  /** The remaining attributes, flattened to strings, for detectors and rules. */
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
}

export type MetricType = 'gauge' | 'sum' | 'histogram' | 'exponential_histogram' | 'summary';

/**
 * One data point. Cumulative sums and histograms arrive here already turned into deltas (the change
 * since the previous point of the same series), so `value`, `count`, `sum` and bucket counts always
 * describe the interval `startTimeMs`..`timeMs`. For histograms and summaries `value` is the
 * observation count of the interval.
 */
export interface MetricPointEvent {
  kind: 'metric';
  timeMs: number;
  service: string;
  name: string;
  unit?: string;
  value: number;
  attributes: Record<string, string | number | boolean>;
  metricType?: MetricType;
  /** Start of the interval the point covers (delta start, or the gauge's start time if given). */
  startTimeMs?: number;
  /** For sums: whether the underlying counter only goes up. */
  monotonic?: boolean;
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  /** Explicit-bucket histograms: upper bounds (one fewer than counts) and per-bucket counts. */
  bucketBounds?: number[];
  bucketCounts?: number[];
  /** Exponential histograms: base-2 scale, zero bucket, and offset + counts of each side. */
  scale?: number;
  zeroCount?: number;
  positiveOffset?: number;
  positiveCounts?: number[];
  negativeOffset?: number;
  negativeCounts?: number[];
  /** Summaries: quantile -> value as reported (quantiles are not deltas). */
  quantiles?: Array<{ quantile: number; value: number }>;
  resource?: Record<string, string | number | boolean>;
}

export interface LogRecordEvent {
  kind: 'log';
  timeMs: number;
  service: string;
  severity: number;
  severityText?: string;
  body: string;
  traceId?: string;
  spanId?: string;
  attributes: Record<string, string | number | boolean>;
  /** `observed_time_unix_nano` when the record has it; `timeMs` falls back to it when time is unset. */
  observedTimeMs?: number;
  eventName?: string;
  resource?: Record<string, string | number | boolean>;
}

export interface ConnectionEvent {
  kind: 'connection';
  timeMs: number;
  host: string;
  pid?: number;
  command?: string;
  role: 'client' | 'server' | 'unknown';
  phase: 'open' | 'close';
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  bytesSent?: number;
  bytesReceived?: number;
}

export interface ProcessExecEvent {
  kind: 'exec';
  timeMs: number;
  host: string;
  pid: number;
  ppid?: number;
  uid?: number;
  binary: string;
  args: string[];
}

export type NormalizedEvent = RequestEvent | MetricPointEvent | LogRecordEvent | ConnectionEvent | ProcessExecEvent;

/** The elements of an attribute that was an OTLP array (decoding flattens arrays to JSON text); undefined for any other value. */
export function arrayAttribute(value: string | number | boolean | undefined): unknown[] | undefined {
  if (typeof value !== 'string' || !value.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined; // a plain value that happens to start with '['
  }
}
