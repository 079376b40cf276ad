/**
 * Reference decoders: protobufjs (the generated code shipped in @opentelemetry/otlp-transformer for
 * traces and metrics; the pinned protos in schemas/otlp for logs) → plain objects → the same
 * normalization as the hot path. Used by the differential tests and as the benchmark baseline.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import generatedRoot from '@opentelemetry/otlp-transformer/build/src/generated/root.js';
import { DecodeError } from '../../core/errors.ts';
import type { LogRecordEvent, MetricPointEvent, RequestEvent } from '../../core/events.ts';
import type { DecodeOptions } from './proto-common.ts';
import { plainTraceRequestToEvents } from './plain-traces.ts';
import { plainMetricsRequestToPoints, type MetricsDecodeOptions } from './plain-metrics.ts';
import { plainLogsRequestToEvents } from './plain-logs.ts';

/** protobufjs messages are untyped plain objects here; the converters check every field they read. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Message = Record<string, any>;

export interface MessageType {
  decode(bytes: Uint8Array): Message;
  encode(message: Message): { finish(): Uint8Array };
  fromObject(object: Message): Message;
  toObject(message: Message, options: { defaults?: boolean; longs?: unknown; bytes?: unknown; enums?: unknown }): Message;
}

const otel = (generatedRoot as unknown as { opentelemetry: { proto: Record<string, any> } }).opentelemetry.proto;

export const ExportTraceServiceRequest: MessageType = otel.collector.trace.v1.ExportTraceServiceRequest;
export const ExportMetricsServiceRequest: MessageType = otel.collector.metrics.v1.ExportMetricsServiceRequest;

const schemaDir = fileURLToPath(new URL('../../schemas/otlp/', import.meta.url));
let logsType: MessageType | undefined;

/** ExportLogsServiceRequest from the pinned opentelemetry-proto files (otlp-transformer's generated code has no logs types). */
export function exportLogsServiceRequestType(): MessageType {
  if (logsType) return logsType;
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string) => path.join(schemaDir, target);
  root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto');
  logsType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest') as unknown as MessageType;
  return logsType;
}

function decodeWith(type: MessageType, bytes: Uint8Array, what: string): Message {
  try {
    return type.decode(bytes);
  } catch (error) {
    throw new DecodeError(`malformed ${what}: ${(error as Error).message}`, { cause: error });
  }
}

export function referenceDecodeTraceRequest(bytes: Uint8Array, options: DecodeOptions = {}): RequestEvent[] {
  return plainTraceRequestToEvents(decodeWith(ExportTraceServiceRequest, bytes, 'ExportTraceServiceRequest'), options);
}

export function referenceDecodeMetricsRequest(bytes: Uint8Array, options: MetricsDecodeOptions = {}): MetricPointEvent[] {
  return plainMetricsRequestToPoints(decodeWith(ExportMetricsServiceRequest, bytes, 'ExportMetricsServiceRequest'), options);
}

export function referenceDecodeLogsRequest(bytes: Uint8Array, options: DecodeOptions = {}): LogRecordEvent[] {
  const type = exportLogsServiceRequestType();
  // Reflection messages carry every default on their prototype (a oneof then looks set); toObject
  // without defaults keeps only what was on the wire.
  return plainLogsRequestToEvents(type.toObject(decodeWith(type, bytes, 'ExportLogsServiceRequest'), { defaults: false }), options);
}
