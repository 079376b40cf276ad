/** OTLP decoding: Kafka message bytes (`otlp_proto` or `otlp_json`) → normalized events. */
import type { LogRecordEvent, MetricPointEvent, RequestEvent } from '../../core/events.ts';
import { DecodeError } from '../../core/errors.ts';
import { decodeLogsRequestJson, decodeMetricsRequestJson, decodeTraceRequestJson } from './json.ts';
import { decodeLogsRequest } from './logs.ts';
import { decodeMetricsRequest, type MetricsDecodeOptions } from './metrics.ts';
import type { DecodeOptions } from './proto-common.ts';
import { decodeTraceRequest } from './traces.ts';

export { checkTraceRequest, decodeTraceRequest } from './traces.ts';
export { decodeMetricsRequest } from './metrics.ts';
export { decodeLogsRequest } from './logs.ts';
export { decodeTraceRequestJson, decodeMetricsRequestJson, decodeLogsRequestJson } from './json.ts';
export { CumulativeToDelta } from '../normalize/metrics.ts';
export type { CumulativeToDeltaOptions, CumulativeToDeltaStats } from '../normalize/metrics.ts';
export type { DecodeOptions } from './proto-common.ts';
export type { MetricsDecodeOptions } from './metrics.ts';

/** The two encodings the collector's kafka exporter writes and Peregrine reads. */
export type OtlpEncoding = 'otlp_proto' | 'otlp_json';

function checkEncoding(encoding: string): void {
  if (encoding !== 'otlp_proto' && encoding !== 'otlp_json') throw new DecodeError(`unsupported OTLP encoding '${encoding}'`);
}

export function decodeTraces(bytes: Uint8Array, encoding: OtlpEncoding, options?: DecodeOptions): RequestEvent[] {
  checkEncoding(encoding);
  return encoding === 'otlp_json' ? decodeTraceRequestJson(bytes, options) : decodeTraceRequest(bytes, options);
}

export function decodeMetrics(bytes: Uint8Array, encoding: OtlpEncoding, options?: MetricsDecodeOptions): MetricPointEvent[] {
  checkEncoding(encoding);
  return encoding === 'otlp_json' ? decodeMetricsRequestJson(bytes, options) : decodeMetricsRequest(bytes, options);
}

export function decodeLogs(bytes: Uint8Array, encoding: OtlpEncoding, options?: DecodeOptions): LogRecordEvent[] {
  checkEncoding(encoding);
  return encoding === 'otlp_json' ? decodeLogsRequestJson(bytes, options) : decodeLogsRequest(bytes, options);
}
