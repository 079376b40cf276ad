/**
 * OTLP/JSON request bodies → protobuf, so Kafka always gets `otlp_proto` like the collector writes. The body is
 * first checked by the strict OTLP/JSON decoder (clear messages naming the bad field); protobufjs then encodes it.
 * JSON is not the hot path: SDKs default to protobuf.
 */
import { DecodeError } from '../../core/errors.ts';
import { decodeLogsRequestJson, decodeMetricsRequestJson, decodeTraceRequestJson } from '../otlp/json.ts';
import { ExportMetricsServiceRequest, ExportTraceServiceRequest, exportLogsServiceRequestType } from '../otlp/proto-types.ts';
import type { Signal } from './split.ts';

type Obj = Record<string, unknown>;

const HEX = /^[0-9a-fA-F]*$/;

/** OTLP/JSON ids are hex, protobuf JSON bytes are base64: turn the id fields into bytes before protobufjs sees them. */
function hexIds(o: unknown, keys: readonly string[], path: string): void {
  if (!o || typeof o !== 'object') return;
  const obj = o as Obj;
  for (const key of keys) {
    const v = obj[key];
    if (v === undefined || v === null || v instanceof Uint8Array) continue;
    if (typeof v !== 'string' || !HEX.test(v) || v.length % 2) throw new DecodeError(`invalid OTLP/JSON: ${path}.${key} is not a hex id`);
    obj[key] = Buffer.from(v, 'hex');
  }
}

function each(o: unknown, key: string, visit: (child: unknown, path: string) => void, path: string): void {
  const list = o && typeof o === 'object' ? (o as Obj)[key] : undefined;
  if (Array.isArray(list)) list.forEach((child, i) => visit(child, `${path}.${key}[${i}]`));
}

const ID_KEYS = ['traceId', 'spanId', 'parentSpanId'] as const;

function fixTraceIds(request: Obj): void {
  each(request, 'resourceSpans', (rs, p) => each(rs, 'scopeSpans', (ss, p2) => each(ss, 'spans', (span, p3) => {
    hexIds(span, ID_KEYS, p3);
    each(span, 'links', (link, p4) => hexIds(link, ID_KEYS, p4), p3);
  }, p2), p), 'request');
}

function fixLogIds(request: Obj): void {
  each(request, 'resourceLogs', (rl, p) => each(rl, 'scopeLogs', (sl, p2) => each(sl, 'logRecords', (lr, p3) => hexIds(lr, ID_KEYS, p3), p2), p), 'request');
}

function fixMetricIds(request: Obj): void {
  const points = (metric: unknown, p: string) => {
    for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
      const data = metric && typeof metric === 'object' ? (metric as Obj)[kind] : undefined;
      each(data, 'dataPoints', (dp, p2) => each(dp, 'exemplars', (ex, p3) => hexIds(ex, ID_KEYS, p3), p2), `${p}.${kind}`);
    }
  };
  each(request, 'resourceMetrics', (rm, p) => each(rm, 'scopeMetrics', (sm, p2) => each(sm, 'metrics', points, p2), p), 'request');
}

const VALIDATE: Record<Signal, (bytes: Uint8Array) => unknown> = {
  traces: (b) => decodeTraceRequestJson(b),
  metrics: (b) => decodeMetricsRequestJson(b),
  logs: (b) => decodeLogsRequestJson(b),
};

/** An OTLP/JSON Export*ServiceRequest body → its protobuf encoding. Bad JSON throws DecodeError. */
export function otlpJsonToProto(signal: Signal, body: Uint8Array): Uint8Array {
  VALIDATE[signal](body);
  const request = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as Obj;
  const type = signal === 'traces' ? ExportTraceServiceRequest : signal === 'metrics' ? ExportMetricsServiceRequest : exportLogsServiceRequestType();
  if (signal === 'traces') fixTraceIds(request);
  else if (signal === 'logs') fixLogIds(request);
  else fixMetricIds(request);
  try {
    return type.encode(type.fromObject(request)).finish();
  } catch (error) {
    throw new DecodeError(`invalid OTLP/JSON ${signal} request: ${(error as Error).message}`, { cause: error });
  }
}
