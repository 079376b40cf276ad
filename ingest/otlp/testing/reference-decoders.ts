/**
 * Reference decoders for tests and benchmarks only: protobufjs → plain objects → the same normalization as the hot
 * path. The differential tests compare the wire decoders against them; bench:decode uses them as a baseline.
 */
import { DecodeError } from '../../../core/errors.ts';
import type { LogRecordEvent, MetricPointEvent, RequestEvent } from '../../../core/events.ts';
import type { DecodeOptions } from '../proto-common.ts';
import { plainTraceRequestToEvents } from '../plain-traces.ts';
import { plainMetricsRequestToPoints, type MetricsDecodeOptions } from '../plain-metrics.ts';
import { plainLogsRequestToEvents } from '../plain-logs.ts';
import { ExportMetricsServiceRequest, ExportTraceServiceRequest, exportLogsServiceRequestType, type Message, type MessageType } from '../proto-types.ts';

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
