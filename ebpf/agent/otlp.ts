/**
 * OTLP encoding of what the sensor saw: a span per HTTP exchange (OpenTelemetry HTTP semantic
 * conventions, body excerpts as `http.request.body` / `http.response.body`, the way Pixie's OTel
 * export turns `http_events` rows into spans), sensor and connection metrics, exec log records.
 * Spans (one per exchange) and logs (one per connection open and close) are encoded by the
 * hand-written writer of otlp-writer.ts; metrics (one export per 10 s) with
 * @opentelemetry/otlp-transformer's generated code. Pure: ids and clocks come in as arguments.
 */
import { createRequire } from 'node:module';
import type { HttpExchange } from './connections.ts';
import type { ProcessInfo, RedactedExchange } from './records.ts';
import { routeTemplate } from '../../core/route.ts';
import { fieldSize, ProtoWriter } from '../../core/protobuf/writer.ts';
import { OtlpWriter, WallClock, type AttrList } from './otlp-writer.ts';

type AnyValue = { stringValue?: string; intValue?: number; boolValue?: boolean; doubleValue?: number; arrayValue?: { values: AnyValue[] } };
export interface KeyValue { key: string; value: AnyValue }
type Encodable = { encode(message: object): { finish(): Uint8Array } };

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: Encodable } } } } };
};

export const SCOPE = { name: 'peregrine-ebpf-sensor', version: '0.1.0' };
const SPAN_KIND = { server: 2, client: 3, unknown: 1 } as const;

export type AttrInput = string | number | boolean | string[] | undefined;

export function attributes(input: Record<string, AttrInput>): KeyValue[] {
  const out: KeyValue[] = [];
  for (const [key, v] of Object.entries(input)) {
    if (v === undefined || v === '') continue;
    if (Array.isArray(v)) out.push({ key, value: { arrayValue: { values: v.map((s) => ({ stringValue: s })) } } });
    else if (typeof v === 'string') out.push({ key, value: { stringValue: v } });
    else if (typeof v === 'boolean') out.push({ key, value: { boolValue: v } });
    else if (Number.isInteger(v)) out.push({ key, value: { intValue: v } });
    else out.push({ key, value: { doubleValue: v } });
  }
  return out;
}

export interface NodeInfo {
  hostName: string;
}

export function processResource(proc: ProcessInfo, node: NodeInfo): Record<string, AttrInput> {
  const exe = proc.executable?.split('/').pop();
  return {
    // No instrumentation named the service: the executable is the best name the kernel knows.
    'service.name': exe || proc.comm || 'unknown_service',
    'host.name': node.hostName,
    'process.pid': proc.pid,
    'process.parent_pid': proc.ppid,
    'process.executable.name': exe || proc.comm,
    'process.executable.path': proc.executable,
    'process.command': proc.comm,
    'process.command_args': proc.args,
    'container.id': proc.containerId,
    'k8s.pod.uid': proc.podUid,
    'telemetry.sdk.name': 'peregrine-ebpf',
    'peregrine.source': 'ebpf',
  };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

export interface SpanIds {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId?: Buffer;
}

/**
 * Whether header `name` is `lowerName` (ASCII, lower case) case-insensitively. The length test
 * first skips the lower-casing for nearly every header: lower-casing keeps a string's length except
 * for U+0130, whose lower case is not ASCII and so never equals an ASCII name anyway.
 */
export function isHeader(name: string, lowerName: string): boolean {
  return name.length === lowerName.length && name.toLowerCase() === lowerName;
}

/** A W3C traceparent on the request joins the span to the caller's trace. */
export function spanIds(ex: HttpExchange, random: (n: number) => Buffer): SpanIds {
  let tp: string | undefined;
  for (const [n, v] of ex.request.headers) {
    if (isHeader(n, 'traceparent')) {
      tp = v.trim().toLowerCase();
      break;
    }
  }
  const m = tp ? TRACEPARENT.exec(tp) : null;
  if (m && !/^0+$/.test(m[1]) && !/^0+$/.test(m[2])) {
    return { traceId: Buffer.from(m[1], 'hex'), spanId: random(8), parentSpanId: Buffer.from(m[2], 'hex') };
  }
  return { traceId: random(16), spanId: random(8) };
}

/** A span ready for the wire: attribute values are final (no undefined, no empty strings). */
export interface SpanData {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId?: Buffer;
  name: string;
  kind: number;
  /** Monotonic ns (the records' clock); `realtimeOffsetNs` turns them into wall-clock ns. */
  startNs: number;
  endNs: number;
  realtimeOffsetNs: bigint;
  attributes: AttrList;
  error: boolean;
  statusMessage?: string;
}

function add(list: AttrList, key: string, v: string | number | undefined): void {
  if (v !== undefined && v !== '') list.push(key, v);
}

// Header names repeat on every request: their attribute keys are built (and lower-cased) once.
const headerKeys = { request: new Map<string, string>(), response: new Map<string, string>() };
function headerKey(kind: 'request' | 'response', name: string): string {
  const cache = headerKeys[kind];
  let key = cache.get(name);
  if (key === undefined) {
    key = `http.${kind}.header.${name.toLowerCase()}`;
    if (cache.size >= 4096) cache.clear();
    cache.set(name, key);
  }
  return key;
}

/** Header values as `http.<kind>.header.<name>` string arrays, repeated names merged in order of first appearance. */
function addHeaders(list: AttrList, kind: 'request' | 'response', headers: ReadonlyArray<readonly [string, string]>): void {
  const first = list.length;
  for (const [name, value] of headers) {
    const key = headerKey(kind, name);
    let i = first;
    while (i < list.length && list[i] !== key) i += 2;
    if (i < list.length) (list[i + 1] as string[]).push(value);
    else list.push(key, [value]);
  }
}

/** `host` without a trailing `:port` (what /:\d+$/ removes). */
function withoutPort(host: string): string {
  let i = host.length - 1;
  while (i >= 0 && host.charCodeAt(i) >= 48 && host.charCodeAt(i) <= 57) i--;
  return i >= 0 && i < host.length - 1 && host.charCodeAt(i) === 58 ? host.slice(0, i) : host;
}

const HOST_KEY = 'http.request.header.host';
const USER_AGENT_KEY = 'http.request.header.user-agent';

/**
 * The span of an exchange. `attrs`: the list to fill (emptied first) — a caller that encodes the
 * span at once (the sensor) passes the same list every time and spares its allocation and growth.
 */
export function httpSpan(ex: HttpExchange, red: RedactedExchange, ids: SpanIds, realtimeOffsetNs: bigint, attrs: AttrList = []): SpanData {
  const { conn } = ex;
  const server = conn.role === 'server';
  const serverEnd = server ? conn.local : conn.remote;
  const clientEnd = server ? conn.remote : conn.local;
  attrs.length = 0;
  add(attrs, 'http.request.method', red.method);
  add(attrs, 'url.path', red.path);
  add(attrs, 'url.query', red.query);
  attrs.push(
    'url.scheme', conn.tls ? 'https' : 'http',
    'http.response.status_code', red.status,
    'network.protocol.name', 'http',
    'network.protocol.version', red.version,
    'network.transport', 'tcp',
  );
  const requestHeadersAt = attrs.length;
  addHeaders(attrs, 'request', red.request.headers);
  // Host and User-Agent as the last of their values, as a header-by-header scan would leave them.
  let host: string | undefined;
  let userAgent: string | undefined;
  for (let i = requestHeadersAt; i < attrs.length; i += 2) {
    const values = attrs[i + 1] as string[];
    if (attrs[i] === HOST_KEY) host = values[values.length - 1];
    else if (attrs[i] === USER_AGENT_KEY) userAgent = values[values.length - 1];
  }
  addHeaders(attrs, 'response', red.response.headers);
  add(attrs, 'server.address', host ? withoutPort(host) : serverEnd?.address);
  add(attrs, 'server.port', serverEnd?.port);
  add(attrs, 'client.address', clientEnd?.address);
  add(attrs, 'client.port', clientEnd?.port);
  add(attrs, 'network.peer.address', conn.remote?.address);
  add(attrs, 'network.peer.port', conn.remote?.port);
  add(attrs, 'network.local.address', conn.local?.address);
  add(attrs, 'network.local.port', conn.local?.port);
  add(attrs, 'user_agent.original', userAgent);
  attrs.push('http.request.body.size', red.request.bodySize, 'http.response.body.size', red.response.bodySize);
  add(attrs, 'http.request.body', red.request.body);
  add(attrs, 'http.response.body', red.response.body);
  attrs.push('thread.id', ex.tid, 'peregrine.capture', conn.tls ? 'ebpf-tls-uprobe' : 'ebpf-syscall');
  // Semantic conventions: 5xx is an error on both sides, 4xx only for the client.
  const error = red.status >= 500 || (!server && red.status >= 400) || red.status === 0;
  return {
    traceId: ids.traceId,
    spanId: ids.spanId,
    parentSpanId: ids.parentSpanId,
    name: `${red.method} ${routeTemplate(red.path)}`,
    kind: SPAN_KIND[conn.role],
    startNs: red.startNs,
    endNs: red.endNs,
    realtimeOffsetNs,
    attributes: attrs,
    error,
    statusMessage: error ? `HTTP ${red.status}` : undefined,
  };
}

export interface ResourceGroup<T> {
  resource: Record<string, AttrInput>;
  items: T[];
}

/** Resource attributes without the unset ones, in their order. */
export function definedAttributes(input: Record<string, AttrInput>): AttrList {
  const out: AttrList = [];
  for (const key in input) {
    const v = input[key];
    if (v !== undefined && v !== '') out.push(key, v);
  }
  return out;
}

const wallClock = new WallClock();

function writeSpan(w: OtlpWriter, s: SpanData): void {
  w.bytesField(1, s.traceId);
  w.bytesField(2, s.spanId);
  if (s.parentSpanId) w.bytesField(4, s.parentSpanId);
  w.stringField(5, s.name);
  w.varintField(6, s.kind);
  w.tag(7, 1);
  wallClock.fixed64(w, s.startNs, s.realtimeOffsetNs);
  w.tag(8, 1);
  wallClock.fixed64(w, s.endNs, s.realtimeOffsetNs);
  w.attributes(9, s.attributes);
  const status = w.begin(15, 16);
  if (s.statusMessage) w.stringField(2, s.statusMessage);
  if (s.error) w.varintField(3, 2);
  w.end(status);
}

const SPAN_SIZE_GUESS = 1200;
const scratch = new OtlpWriter(64 * 1024);

/**
 * A Span message's bytes (without its field key and length). The sensor encodes each span as it
 * is made and queues only these bytes: the span's objects then die young instead of surviving
 * (and being copied by the GC) until the next export.
 */
export function encodeSpan(span: SpanData): Buffer {
  scratch.rewind(0);
  writeSpan(scratch, span);
  return Buffer.from(scratch.finish());
}

/** ExportTraceServiceRequest bytes, written field by field (otlp-writer.ts); spans as data or already encoded. */
export function encodeTraces(groups: ReadonlyArray<ResourceGroup<SpanData | Uint8Array>>): Uint8Array {
  let total = 0;
  for (const g of groups) for (const span of g.items) total += span instanceof Uint8Array ? span.length + 4 : SPAN_SIZE_GUESS;
  const w = new OtlpWriter(Math.max(4096, total + groups.length * 512));
  for (const g of groups) {
    const resourceSpans = w.begin(1, total);
    const resource = w.begin(1, 300);
    w.attributes(1, definedAttributes(g.resource));
    w.end(resource);
    const scopeSpans = w.begin(2, total);
    const scope = w.begin(1, 40);
    w.stringField(1, SCOPE.name);
    w.stringField(2, SCOPE.version);
    w.end(scope);
    for (const span of g.items) {
      if (span instanceof Uint8Array) {
        w.bytesField(2, span); // an embedded message is written like bytes: key, length, content
      } else {
        const mark = w.begin(2, SPAN_SIZE_GUESS);
        writeSpan(w, span);
        w.end(mark);
      }
    }
    w.end(scopeSpans);
    w.end(resourceSpans);
  }
  return w.finish();
}

/** A Resource message's bytes: the attributes that are set, in their order. */
export function encodeResource(resource: Record<string, AttrInput>): Buffer {
  const w = new OtlpWriter(1024);
  w.attributes(1, definedAttributes(resource));
  return Buffer.from(w.finish());
}

const SCOPE_MESSAGE: Buffer = (() => {
  const w = new OtlpWriter(64);
  w.stringField(1, SCOPE.name);
  w.stringField(2, SCOPE.version);
  return Buffer.from(w.finish());
})();

/** An export request made of loader batches; `backing` goes back to `TraceRequestBuilder.recycle` once sent. */
export interface TraceRequest { body: Buffer; backing: ProtoWriter; spans: number }

/**
 * An ExportTraceServiceRequest built in place from the loader's span batches: each batch becomes a
 * ResourceSpans (the process's Resource, the scope, and the spans exactly as the loader encoded
 * them), appended to one writer that is reused once its request has gone out. The span bytes are
 * copied once, on arrival, so the pipe's chunks die young instead of waiting for the export.
 */
export class TraceRequestBuilder {
  private w: ProtoWriter;
  private readonly spare: ProtoWriter[] = [];
  spans = 0;

  constructor(private readonly initialSize = 1 << 20) {
    this.w = new ProtoWriter(initialSize);
  }

  get size(): number {
    return this.w.pos;
  }

  /** `spans`: ScopeSpans field-2 entries (key, length, Span), `count` of them. */
  add(resource: Buffer, spans: Buffer, count: number): void {
    const scopeLen = fieldSize(SCOPE_MESSAGE.length) + spans.length;
    const rsLen = fieldSize(resource.length) + fieldSize(scopeLen);
    const w = this.w;
    w.ensure(fieldSize(rsLen)); // one growth at most
    w.lengthHead(1, rsLen); // ExportTraceServiceRequest.resource_spans
    w.bytesField(1, resource); // ResourceSpans.resource
    w.lengthHead(2, scopeLen); // ResourceSpans.scope_spans
    w.bytesField(1, SCOPE_MESSAGE); // ScopeSpans.scope
    w.raw(spans);
    this.spans += count;
  }

  /** The request so far and its span count; the builder starts afresh. */
  take(): TraceRequest {
    const taken = { body: this.w.finish(), backing: this.w, spans: this.spans };
    this.w = this.spare.pop() ?? new ProtoWriter(this.initialSize);
    this.spans = 0;
    return taken;
  }

  recycle(backing: ProtoWriter): void {
    if (this.spare.length >= 2) return;
    backing.rewind(0);
    this.spare.push(backing);
  }
}

export interface MetricPoint {
  name: string;
  unit: string;
  description: string;
  kind: 'sum' | 'gauge';
  value: number;
  attributes?: Record<string, AttrInput>;
}

export function encodeMetrics(resource: Record<string, AttrInput>, points: readonly MetricPoint[], startWallNs: bigint, nowWallNs: bigint): Uint8Array {
  const byName = new Map<string, MetricPoint[]>();
  for (const p of points) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  const metrics = [...byName.values()].map((ps) => {
    const dataPoints = ps.map((p) => ({
      attributes: attributes(p.attributes ?? {}),
      startTimeUnixNano: startWallNs.toString(),
      timeUnixNano: nowWallNs.toString(),
      asInt: Math.round(p.value),
    }));
    const first = ps[0];
    return {
      name: first.name,
      unit: first.unit,
      description: first.description,
      ...(first.kind === 'sum'
        ? { sum: { dataPoints, aggregationTemporality: 2, isMonotonic: true } }
        : { gauge: { dataPoints } }),
    };
  });
  return root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest.encode({
    resourceMetrics: [{ resource: { attributes: attributes(resource) }, scopeMetrics: [{ scope: SCOPE, metrics }] }],
  }).finish();
}

export interface LogItem {
  timeWallNs: bigint;
  body: string;
  attributes: Record<string, AttrInput>;
}

function fixed64Of(w: ProtoWriter, ns: bigint): void {
  w.fixed64(Number(BigInt.asUintN(32, ns)), Number(BigInt.asUintN(32, ns >> 32n)));
}

/**
 * Log records (execs, connection lifecycle), written as otlp-transformer's protobuf logs
 * serializer writes them (same fields, same order: otlp-writer.test.ts compares the bytes) with
 * the span writer: connection logs come with every connection, which for short connections is
 * as often as the spans.
 */
export function encodeLogs(groups: ReadonlyArray<ResourceGroup<LogItem>>, observedWallNs: bigint): Uint8Array {
  const w = new OtlpWriter(16 * 1024);
  for (const g of groups) {
    if (g.items.length === 0) continue;
    const resourceLogs = w.begin(1, g.items.length * 400);
    const resource = w.begin(1, 300);
    w.attributes(1, definedAttributes(g.resource));
    w.varintField(2, 0); // dropped_attributes_count
    w.end(resource);
    const scopeLogs = w.begin(2, g.items.length * 400);
    const scope = w.begin(1, 40);
    w.stringField(1, SCOPE.name);
    w.stringField(2, SCOPE.version);
    w.end(scope);
    for (const item of g.items) {
      const record = w.begin(2, 400);
      w.tag(1, 1);
      fixed64Of(w, item.timeWallNs);
      w.varintField(2, 9); // severity_number INFO
      w.stringField(3, 'INFO');
      const body = w.begin(5, item.body.length + 4);
      w.anyValue(item.body);
      w.end(body);
      w.attributes(6, definedAttributes(item.attributes));
      w.varintField(7, 0); // dropped_attributes_count
      w.tag(11, 1);
      fixed64Of(w, observedWallNs);
      w.end(record);
    }
    w.end(scopeLogs);
    w.end(resourceLogs);
  }
  return w.finish();
}
