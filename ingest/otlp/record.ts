import type { RequestEvent } from '../../core/events.ts';
import type { IncomingRecord } from '../../core/kafka/adapter.ts';
import { decodeTraces } from './index.ts';

/**
 * One message of `otlp_spans`, in either encoding the collector's kafka exporter writes: `otlp_proto` (a protobuf
 * ExportTraceServiceRequest starts with field 1, byte 0x0a) or `otlp_json` (starts with `{`). Anything malformed,
 * in either encoding, is a DecodeError.
 */
export function decodeSpansRecord(record: IncomingRecord): RequestEvent[] {
  const bytes = record.value;
  return decodeTraces(bytes, bytes?.[0] === 0x7b ? 'otlp_json' : 'otlp_proto');
}
