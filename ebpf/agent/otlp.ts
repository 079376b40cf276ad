/**
 * OTLP encoding of what the sensor saw: a span per HTTP exchange (OpenTelemetry HTTP semantic
 * conventions, body excerpts as `http.request.body` / `http.response.body`, the way Pixie's OTel
 * export turns `http_events` rows into spans), sensor and connection metrics, exec log records.
 * Encoded as protobuf with @opentelemetry/otlp-transformer's generated code. Pure: ids and clocks
 * come in as arguments.
 */
import { createRequire } from 'node:module';
import type { HttpExchange } from './connections.ts';
import type { ProcessInfo, RedactedExchange } from './records.ts';
import { routeTemplate } from '../../ingest/normalize/route.ts';

type AnyValue = { stringValue?: string; intValue?: number; boolValue?: boolean; doubleValue?: number; arrayValue?: { values: AnyValue[] } };
export interface KeyValue { key: string; value: AnyValue }
type Encodable = { encode(message: object): { finish(): Uint8Array } };

const require = createRequire(import.meta.url);
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: Encodable } } } } };
};
const { ProtobufLogsSerializer } = require('@opentelemetry/otlp-transformer') as {
  ProtobufLogsSerializer: { serializeRequest(records: object[]): Uint8Array | undefined };
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

/** A W3C traceparent on the request joins the span to the caller's trace. */
export function spanIds(ex: HttpExchange, random: (n: number) => Buffer): SpanIds {
  const tp = ex.request.headers.find(([n]) => n.toLowerCase() === 'traceparent')?.[1]?.trim().toLowerCase();
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
  startWallNs: bigint;
  endWallNs: bigint;
  attributes: Record<string, string | number | boolean | string[]>;
  error: boolean;
  statusMessage?: string;
}

export function httpSpan(ex: HttpExchange, red: RedactedExchange, ids: SpanIds, realtimeOffsetNs: bigint): SpanData {
  const { conn } = ex;
  const server = conn.role === 'server';
  const serverEnd = server ? conn.local : conn.remote;
  const clientEnd = server ? conn.remote : conn.local;
  let host: string | undefined;
  let userAgent: string | undefined;
  const attrs: Record<string, string | number | boolean | string[]> = {};
  const set = (key: string, v: string | number | undefined): void => {
    if (v !== undefined && v !== '') attrs[key] = v;
  };
  set('http.request.method', red.method);
  set('url.path', red.path);
  set('url.query', red.query);
  attrs['url.scheme'] = conn.tls ? 'https' : 'http';
  attrs['http.response.status_code'] = red.status;
  attrs['network.protocol.name'] = 'http';
  attrs['network.protocol.version'] = red.version;
  attrs['network.transport'] = 'tcp';
  for (const [name, value] of red.request.headers) {
    const lower = name.toLowerCase();
    if (lower === 'host') host = value;
    else if (lower === 'user-agent') userAgent = value;
    const key = `http.request.header.${lower}`;
    const prev = attrs[key];
    attrs[key] = Array.isArray(prev) ? [...prev, value] : [value];
  }
  for (const [name, value] of red.response.headers) {
    const key = `http.response.header.${name.toLowerCase()}`;
    const prev = attrs[key];
    attrs[key] = Array.isArray(prev) ? [...prev, value] : [value];
  }
  set('server.address', host ? host.replace(/:\d+$/, '') : serverEnd?.address);
  set('server.port', serverEnd?.port);
  set('client.address', clientEnd?.address);
  set('client.port', clientEnd?.port);
  set('network.peer.address', conn.remote?.address);
  set('network.peer.port', conn.remote?.port);
  set('network.local.address', conn.local?.address);
  set('network.local.port', conn.local?.port);
  set('user_agent.original', userAgent);
  attrs['http.request.body.size'] = red.request.bodySize;
  attrs['http.response.body.size'] = red.response.bodySize;
  set('http.request.body', red.request.body);
  set('http.response.body', red.response.body);
  attrs['thread.id'] = ex.tid;
  attrs['peregrine.capture'] = conn.tls ? 'ebpf-tls-uprobe' : 'ebpf-syscall';
  // Semantic conventions: 5xx is an error on both sides, 4xx only for the client.
  const error = red.status >= 500 || (!server && red.status >= 400) || red.status === 0;
  return {
    traceId: ids.traceId,
    spanId: ids.spanId,
    parentSpanId: ids.parentSpanId,
    name: `${red.method} ${routeTemplate(red.path)}`,
    kind: SPAN_KIND[conn.role],
    startWallNs: BigInt(Math.round(red.startNs)) + realtimeOffsetNs,
    endWallNs: BigInt(Math.round(red.endNs)) + realtimeOffsetNs,
    attributes: attrs,
    error,
    statusMessage: error ? `HTTP ${red.status}` : undefined,
  };
}

export interface ResourceGroup<T> {
  resource: Record<string, AttrInput>;
  items: T[];
}

interface Writer {
  pos: number;
  finish(): Uint8Array;
  startLengthDelimited(): number;
  finishLengthDelimited(pos: number, length: number): void;
  writeVarint(value: number): void;
  writeFixed64(low: number, high: number): void;
  writeBytes(bytes: Uint8Array): void;
  writeTag(fieldNumber: number, wireType: number): void;
  writeString(str: string): void;
}
const { ProtobufWriter } = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/protobuf-writer.js') as {
  ProtobufWriter: new (estimatedSize?: number) => Writer;
};
const { writeAttributes } = require('@opentelemetry/otlp-transformer/build/src/common/protobuf/common-serializer.js') as {
  writeAttributes(writer: Writer, attributes: object, fieldNumber: number): void;
};

function definedAttributes(input: Record<string, AttrInput>): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

function nested(w: Writer, field: number, body: () => void): void {
  w.writeTag(field, 2);
  const at = w.startLengthDelimited();
  const start = w.pos;
  body();
  w.finishLengthDelimited(at, w.pos - start);
}

const MASK32 = 0xffffffffn;

function writeSpan(w: Writer, s: SpanData): void {
  w.writeTag(1, 2); w.writeBytes(s.traceId);
  w.writeTag(2, 2); w.writeBytes(s.spanId);
  if (s.parentSpanId) { w.writeTag(4, 2); w.writeBytes(s.parentSpanId); }
  w.writeTag(5, 2); w.writeString(s.name);
  w.writeTag(6, 0); w.writeVarint(s.kind);
  w.writeTag(7, 1); w.writeFixed64(Number(s.startWallNs & MASK32), Number(s.startWallNs >> 32n));
  w.writeTag(8, 1); w.writeFixed64(Number(s.endWallNs & MASK32), Number(s.endWallNs >> 32n));
  writeAttributes(w, s.attributes, 9);
  nested(w, 15, () => {
    if (s.statusMessage) { w.writeTag(2, 2); w.writeString(s.statusMessage); }
    if (s.error) { w.writeTag(3, 0); w.writeVarint(2); }
  });
}

/**
 * ExportTraceServiceRequest bytes, written field by field with otlp-transformer's ProtobufWriter
 * (the generic protobufjs encoder of its generated code cost ten times more per span).
 */
export function encodeTraces(groups: ReadonlyArray<ResourceGroup<SpanData>>): Uint8Array {
  const w = new ProtobufWriter(64 * 1024);
  for (const g of groups) {
    nested(w, 1, () => {
      nested(w, 1, () => writeAttributes(w, definedAttributes(g.resource), 1));
      nested(w, 2, () => {
        nested(w, 1, () => {
          w.writeTag(1, 2); w.writeString(SCOPE.name);
          w.writeTag(2, 2); w.writeString(SCOPE.version);
        });
        for (const span of g.items) nested(w, 2, () => writeSpan(w, span));
      });
    });
  }
  return w.finish();
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

const hrTime = (wallNs: bigint): [number, number] => [Number(wallNs / 1_000_000_000n), Number(wallNs % 1_000_000_000n)];

/** Log records (execs, connection lifecycle) through otlp-transformer's protobuf logs serializer. */
export function encodeLogs(groups: ReadonlyArray<ResourceGroup<LogItem>>, observedWallNs: bigint): Uint8Array {
  const records: object[] = [];
  for (const g of groups) {
    const resource = { attributes: Object.fromEntries(Object.entries(g.resource).filter(([, v]) => v !== undefined && v !== '')) };
    for (const item of g.items) {
      records.push({
        hrTime: hrTime(item.timeWallNs),
        hrTimeObserved: hrTime(observedWallNs),
        severityNumber: 9,
        severityText: 'INFO',
        body: item.body,
        attributes: Object.fromEntries(Object.entries(item.attributes).filter(([, v]) => v !== undefined && v !== '')),
        droppedAttributesCount: 0,
        resource,
        instrumentationScope: SCOPE,
      });
    }
  }
  return ProtobufLogsSerializer.serializeRequest(records) ?? new Uint8Array();
}
