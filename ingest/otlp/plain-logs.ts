/** ExportLogsServiceRequest as a plain object (protobufjs message or OTLP/JSON) → LogRecordEvent[]. */
import { DecodeError } from '../../core/errors.ts';
import type { LogRecordEvent } from '../../core/events.ts';
import { emptyLogFields, normalizeLog } from '../normalize/logs.ts';
import { resourceInfo } from '../normalize/span.ts';
import { asArray, asId, asInt, asObject, asString, attributesOf, field, flattenAnyValue, nanosMs, resourceAttributes, type Obj } from './plain-common.ts';
import { DEFAULT_MAX_EVENTS, type DecodeOptions } from './proto-common.ts';

export function plainLogsRequestToEvents(request: Obj, options: DecodeOptions = {}): LogRecordEvent[] {
  const limit = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  const out: LogRecordEvent[] = [];
  asArray(field(request, 'resourceLogs', 'resource_logs'), '$.resourceLogs').forEach((rlValue, i) => {
    const rlPath = `$.resourceLogs[${i}]`;
    const rl = asObject(rlValue, rlPath);
    const res = resourceInfo(resourceAttributes(rl.resource, `${rlPath}.resource`));
    asArray(field(rl, 'scopeLogs', 'scope_logs'), `${rlPath}.scopeLogs`).forEach((slValue, j) => {
      const slPath = `${rlPath}.scopeLogs[${j}]`;
      asArray(field(asObject(slValue, slPath), 'logRecords', 'log_records'), `${slPath}.logRecords`).forEach((lrValue, k) => {
        const path = `${slPath}.logRecords[${k}]`;
        if (out.length >= limit) throw new DecodeError(`more than ${limit} log records in one message`);
        const lr = asObject(lrValue, path);
        const log = emptyLogFields();
        log.timeMs = nanosMs(field(lr, 'timeUnixNano', 'time_unix_nano'), `${path}.timeUnixNano`);
        log.observedTimeMs = nanosMs(field(lr, 'observedTimeUnixNano', 'observed_time_unix_nano'), `${path}.observedTimeUnixNano`);
        log.severityNumber = asInt(field(lr, 'severityNumber', 'severity_number'), `${path}.severityNumber`, SEVERITY_NAMES);
        log.severityText = asString(field(lr, 'severityText', 'severity_text'), `${path}.severityText`);
        log.body = flattenAnyValue(lr.body, `${path}.body`);
        log.attributes = attributesOf(lr.attributes, `${path}.attributes`);
        log.traceId = asId(field(lr, 'traceId', 'trace_id'), 16, `${path}.traceId`);
        log.spanId = asId(field(lr, 'spanId', 'span_id'), 8, `${path}.spanId`);
        log.eventName = asString(field(lr, 'eventName', 'event_name'), `${path}.eventName`);
        out.push(normalizeLog(log, res));
      });
    });
  });
  return out;
}

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
/** SEVERITY_NUMBER_TRACE = 1 … SEVERITY_NUMBER_FATAL4 = 24, as OTLP/JSON may spell them. */
const SEVERITY_NAMES: Record<string, number> = { SEVERITY_NUMBER_UNSPECIFIED: 0 };
LEVELS.forEach((level, i) => {
  SEVERITY_NAMES[`SEVERITY_NUMBER_${level}`] = i * 4 + 1;
  for (let n = 2; n <= 4; n++) SEVERITY_NAMES[`SEVERITY_NUMBER_${level}${n}`] = i * 4 + n;
});
