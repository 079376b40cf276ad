/** Log record → LogRecordEvent (pure). */
import type { LogRecordEvent } from '../../core/events.ts';
import type { Attributes, AttrValue, ResourceInfo } from './span.ts';

/** A log record's fields as decoded. Times in ms since the epoch, 0 = unset; ids lowercase hex, '' = none. */
export interface LogFields {
  timeMs: number;
  observedTimeMs: number;
  severityNumber: number;
  severityText: string;
  body: AttrValue;
  attributes: Attributes;
  traceId: string;
  spanId: string;
  eventName: string;
}

export function emptyLogFields(): LogFields {
  return { timeMs: 0, observedTimeMs: 0, severityNumber: 0, severityText: '', body: '', attributes: {}, traceId: '', spanId: '', eventName: '' };
}

export function normalizeLog(log: LogFields, res: ResourceInfo): LogRecordEvent {
  return {
    kind: 'log',
    // time_unix_nano is optional in OTLP; the collector's observed time stands in when it is unset.
    timeMs: log.timeMs !== 0 ? log.timeMs : log.observedTimeMs,
    service: res.service,
    severity: log.severityNumber,
    severityText: log.severityText === '' ? undefined : log.severityText,
    body: typeof log.body === 'string' ? log.body : String(log.body),
    traceId: log.traceId === '' ? undefined : log.traceId,
    spanId: log.spanId === '' ? undefined : log.spanId,
    attributes: log.attributes,
    observedTimeMs: log.observedTimeMs === 0 ? undefined : log.observedTimeMs,
    eventName: log.eventName === '' ? undefined : log.eventName,
    resource: res.resource,
  };
}
