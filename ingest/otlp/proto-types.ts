/**
 * protobufjs message types of the OTLP export requests: the generated code shipped in @opentelemetry/otlp-transformer
 * for traces and metrics, the pinned protos in schemas/otlp for logs. Off the hot path: the receiver encodes
 * OTLP/JSON bodies with them, tests and fixtures build requests with them.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import protobuf from 'protobufjs';
import generatedRoot from '@opentelemetry/otlp-transformer/build/src/generated/root.js';

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
