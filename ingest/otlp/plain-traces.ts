/**
 * ExportTraceServiceRequest as a plain object (a protobufjs message, or parsed OTLP/JSON) →
 * RequestEvent[], through the same SpanNormalizer the wire decoder feeds.
 */
import { DecodeError } from '../../core/errors.ts';
import type { RequestEvent } from '../../core/events.ts';
import { emptySpanFields, resourceInfo, SpanNormalizer } from '../normalize/span.ts';
import { asArray, asId, asInt, asObject, asString, eachAttribute, field, nanosSpanMs, resourceAttributes, type Obj } from './plain-common.ts';
import { DEFAULT_MAX_EVENTS, type DecodeOptions } from './proto-common.ts';

const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODE_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

const normalizer = new SpanNormalizer();
const sink = (key: string, value: string | number | boolean): void => normalizer.attribute(key, value);

export function plainTraceRequestToEvents(request: Obj, options: DecodeOptions = {}): RequestEvent[] {
  const limit = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  const out: RequestEvent[] = [];
  const resourceSpans = asArray(field(request, 'resourceSpans', 'resource_spans'), '$.resourceSpans');
  resourceSpans.forEach((rsValue, i) => {
    const rsPath = `$.resourceSpans[${i}]`;
    const rs = asObject(rsValue, rsPath);
    const res = resourceInfo(resourceAttributes(rs.resource, `${rsPath}.resource`));
    const scopes = asArray(field(rs, 'scopeSpans', 'scope_spans'), `${rsPath}.scopeSpans`);
    scopes.forEach((ssValue, j) => {
      const ssPath = `${rsPath}.scopeSpans[${j}]`;
      const spans = asArray(asObject(ssValue, ssPath).spans, `${ssPath}.spans`);
      spans.forEach((spanValue, k) => {
        // Paths are built only when something is wrong: this runs for every span.
        const path = (f: string) => () => `${ssPath}.spans[${k}]${f}`;
        if (out.length >= limit) throw new DecodeError(`more than ${limit} spans in one message`);
        const s = asObject(spanValue, path(''));
        const span = emptySpanFields();
        span.traceId = asId(field(s, 'traceId', 'trace_id'), 16, path('.traceId'));
        span.spanId = asId(field(s, 'spanId', 'span_id'), 8, path('.spanId'));
        span.parentSpanId = asId(field(s, 'parentSpanId', 'parent_span_id'), 8, path('.parentSpanId'));
        span.name = asString(s.name, path('.name'));
        span.kind = asInt(s.kind, path('.kind'), SPAN_KIND_NAMES);
        [span.startMs, span.durationMs] = nanosSpanMs(
          field(s, 'startTimeUnixNano', 'start_time_unix_nano'),
          field(s, 'endTimeUnixNano', 'end_time_unix_nano'),
          path('.startTimeUnixNano'),
        );
        const status = s.status;
        if (status !== undefined && status !== null) {
          const st = asObject(status, path('.status'));
          span.statusCode = asInt(st.code, path('.status.code'), STATUS_CODE_NAMES);
          span.statusMessage = asString(st.message, path('.status.message'));
        }
        normalizer.begin();
        eachAttribute(s.attributes, path('.attributes'), sink);
        out.push(normalizer.finish(span, res));
      });
    });
  });
  return out;
}
