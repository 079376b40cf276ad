/**
 * OTLP/JSON (the collector kafka exporter's `otlp_json` encoding: hex trace/span ids, 64-bit integers
 * as decimal strings, enums as numbers) → the same events as the protobuf decoders.
 */
import type { LogRecordEvent, MetricPointEvent, RequestEvent } from '../../core/events.ts';
import { parseJson } from './plain-common.ts';
import { plainLogsRequestToEvents } from './plain-logs.ts';
import { plainMetricsRequestToPoints } from './plain-metrics.ts';
import { plainTraceRequestToEvents } from './plain-traces.ts';
import type { MetricsDecodeOptions } from './metrics.ts';
import { guarded, type DecodeOptions } from './proto-common.ts';

export function decodeTraceRequestJson(input: Uint8Array | string, options: DecodeOptions = {}): RequestEvent[] {
  return guarded('trace JSON', () => plainTraceRequestToEvents(parseJson(input), options));
}

export function decodeMetricsRequestJson(input: Uint8Array | string, options: MetricsDecodeOptions = {}): MetricPointEvent[] {
  return guarded('metrics JSON', () => plainMetricsRequestToPoints(parseJson(input), options));
}

export function decodeLogsRequestJson(input: Uint8Array | string, options: DecodeOptions = {}): LogRecordEvent[] {
  return guarded('logs JSON', () => plainLogsRequestToEvents(parseJson(input), options));
}
