import type { RequestEvent } from '../../core/events.ts';
import type { IncomingRecord } from '../../core/kafka/adapter.ts';
import { decodeTraceRequestJson } from './json.ts';
import { decodeTraceRequest } from './traces.ts';

/**
 * One message of `otlp_spans`, in either encoding the collector's kafka exporter writes: `otlp_proto` (a protobuf
 * ExportTraceServiceRequest starts with field 1, byte 0x0a) or `otlp_json` (starts with `{`). Anything malformed,
 * in either encoding, is a DecodeError.
 */
export function decodeSpansRecord(record: IncomingRecord): RequestEvent[] {
  const bytes = record.value;
  if (bytes !== undefined && bytes !== null && bytes[0] === 0x7b) return decodeTraceRequestJson(bytes);
  return decodeTraceRequest(bytes);
}
