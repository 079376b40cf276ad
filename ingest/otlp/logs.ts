/** ExportLogsServiceRequest protobuf bytes (a Kafka message on `otlp_logs`) → LogRecordEvent[], straight from the wire. */
import { DecodeError } from '../../core/errors.ts';
import type { LogRecordEvent } from '../../core/events.ts';
import { emptyLogFields, normalizeLog } from '../normalize/logs.ts';
import { resourceInfo, type ResourceInfo } from '../normalize/span.ts';
import { asBytes, DEFAULT_MAX_EVENTS, guarded, lastKey, readAnyValue, readKeyValue, readResource, type DecodeOptions } from './proto-common.ts';
import { ProtoReader } from '../../core/protobuf/reader.ts';
import { nanosToMs } from './nanos.ts';

export function decodeLogsRequest(bytes: Uint8Array, options: DecodeOptions = {}): LogRecordEvent[] {
  return guarded('logs', () => {
    const r = new ProtoReader(asBytes(bytes));
    const out: LogRecordEvent[] = [];
    const limit = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    while (r.pos < r.end) {
      const tag = r.tag();
      if (tag === 0x0a) readResourceLogs(r, r.lengthEnd(), out, limit);
      else if (tag >>> 3 === 1) r.wrongType(tag, 'ExportLogsServiceRequest');
      else r.skip(tag);
    }
    return out;
  });
}

function readResourceLogs(r: ProtoReader, end: number, out: LogRecordEvent[], limit: number): void {
  const saved = r.end;
  r.end = end;
  const start = r.pos;
  let resource: [number, number] | undefined;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a) {
      const fieldEnd = r.lengthEnd();
      resource = [r.pos, fieldEnd];
      r.pos = fieldEnd;
    } else if (tag === 0x12 || tag === 0x1a) r.pos = r.lengthEnd();
    else if (tag >>> 3 <= 3) r.wrongType(tag, 'ResourceLogs');
    else r.skip(tag);
  }
  let res: ResourceInfo = resourceInfo({});
  if (resource) {
    r.pos = resource[0];
    res = resourceInfo(readResource(r, resource[1]));
  }
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x12) readScopeLogs(r, r.lengthEnd(), res, out, limit);
    else r.skip(tag);
  }
  r.end = saved;
}

function readScopeLogs(r: ProtoReader, end: number, res: ResourceInfo, out: LogRecordEvent[], limit: number): void {
  const saved = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x12) {
      if (out.length >= limit) throw new DecodeError(`more than ${limit} log records in one message`);
      out.push(readLogRecord(r, r.lengthEnd(), res));
    } else if (tag === 0x0a || tag === 0x1a) r.pos = r.lengthEnd();
    else if (tag >>> 3 <= 3) r.wrongType(tag, 'ScopeLogs');
    else r.skip(tag);
  }
  r.end = saved;
}

function readLogRecord(r: ProtoReader, end: number, res: ResourceInfo): LogRecordEvent {
  const saved = r.end;
  r.end = end;
  const log = emptyLogFields();
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x09:
        r.fixed64();
        log.timeMs = nanosToMs(r.lo, r.hi);
        break;
      case 0x59:
        r.fixed64();
        log.observedTimeMs = nanosToMs(r.lo, r.hi);
        break;
      case 0x10:
        log.severityNumber = r.varint32() | 0;
        break;
      case 0x1a:
        log.severityText = r.string();
        break;
      case 0x2a:
        log.body = readAnyValue(r, r.lengthEnd());
        break;
      case 0x32: {
        const value = readKeyValue(r, r.lengthEnd());
        if (value !== undefined) log.attributes[lastKey] = value;
        break;
      }
      case 0x38:
        r.varint64();
        break;
      case 0x45:
        r.fixed32();
        break;
      case 0x4a:
        log.traceId = r.id(16, 'trace_id');
        break;
      case 0x52:
        log.spanId = r.id(8, 'span_id');
        break;
      case 0x62:
        log.eventName = r.string();
        break;
      default:
        if (tag >>> 3 <= 12 && tag >>> 3 !== 4) r.wrongType(tag, 'LogRecord');
        r.skip(tag);
    }
  }
  r.end = saved;
  return normalizeLog(log, res);
}
