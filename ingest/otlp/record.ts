import { DecodeError } from '../../core/errors.ts';
import type { RequestEvent } from '../../core/events.ts';
import type { IncomingRecord } from '../../core/kafka/adapter.ts';
import { plainTraceRequestToEvents } from './plain-traces.ts';
import { decodeTraceRequest } from './traces.ts';

/**
 * One message of `otlp_spans`, in either encoding the collector's kafka exporter writes: `otlp_proto` (a protobuf
 * ExportTraceServiceRequest starts with field 1, byte 0x0a) or `otlp_json` (starts with `{`).
 */
export function decodeSpansRecord(record: IncomingRecord): RequestEvent[] {
  const bytes = record.value;
  if (bytes[0] === 0x7b) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new DecodeError(`otlp_json: ${(e as Error).message}`);
    }
    return plainTraceRequestToEvents(parsed as never);
  }
  return decodeTraceRequest(bytes);
}
