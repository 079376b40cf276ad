/**
 * Hot-path decoder: ExportTraceServiceRequest protobuf bytes (one Kafka message on `otlp_spans`, as
 * the collector's kafka exporter writes it with `otlp_proto`) → RequestEvent[]. It walks the bytes
 * once and reads only what normalization needs; events, links and trace state are skipped without
 * being decoded, and no OTLP object tree is built.
 */
import { DecodeError } from '../../core/errors.ts';
import type { RequestEvent } from '../../core/events.ts';
import { emptySpanFields, resourceInfo, SpanNormalizer, UNIQUE_VALUE, type AttrValue, type ResourceInfo } from '../normalize/span.ts';
import { asBytes, checkKeyValue, DEFAULT_MAX_EVENTS, guarded, lastKey, lastKeyMeta, readKeyValue, readResource, type DecodeOptions } from './proto-common.ts';
import { BytesCache } from '../../core/protobuf/bytes-cache.ts';
import { ProtoReader } from '../../core/protobuf/reader.ts';
import { nanosDiffMs, nanosToMs } from './nanos.ts';

const normalizer = new SpanNormalizer();
/** The resource of spans that are only checked. */
const NO_RESOURCE: ResourceInfo = resourceInfo({});
const fields = emptySpanFields();

interface CachedAttribute {
  key: string;
  meta: number;
  value: AttrValue;
}
/**
 * Whole span attributes (KeyValue bytes) seen before: most repeat exactly from span to span (method,
 * scheme, addresses, ports, user agents), so one lookup replaces parsing key and value. Attributes
 * whose values rarely repeat (paths, URLs) are never stored.
 */
const attributeCache = new BytesCache<CachedAttribute>(2048, 192);

/**
 * False while `checkTraceRequest` runs: every field is read and checked exactly as for decoding, but no event is
 * built (normalization never rejects anything, so what passes the check decodes).
 */
let building = true;
/** Spans read so far in the current message (the `maxEvents` bound). */
let spanCount = 0;

/** Decodes one ExportTraceServiceRequest. Malformed input throws DecodeError. */
export function decodeTraceRequest(bytes: Uint8Array, options: DecodeOptions = {}): RequestEvent[] {
  return guarded('trace', () => {
    const out: RequestEvent[] = [];
    readRequest(asBytes(bytes), out, options.maxEvents ?? DEFAULT_MAX_EVENTS);
    return out;
  });
}

/**
 * Checks one ExportTraceServiceRequest as `decodeTraceRequest` would read it, without building events (what the
 * receiver does before accepting a request); returns its span count. Malformed input throws the same DecodeError.
 */
export function checkTraceRequest(bytes: Uint8Array, options: DecodeOptions = {}): number {
  return guarded('trace', () => {
    building = false;
    try {
      readRequest(asBytes(bytes), [], options.maxEvents ?? DEFAULT_MAX_EVENTS);
      return spanCount;
    } finally {
      building = true;
    }
  });
}

function readRequest(bytes: Uint8Array, out: RequestEvent[], limit: number): void {
  const r = new ProtoReader(bytes);
  spanCount = 0;
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag === 0x0a) readResourceSpans(r, r.lengthEnd(), out, limit);
    else if (tag >>> 3 === 1) r.wrongType(tag, 'ExportTraceServiceRequest');
    else r.skip(tag);
  }
}

function readResourceSpans(r: ProtoReader, end: number, out: RequestEvent[], limit: number): void {
  const saved = r.end;
  r.end = end;
  const start = r.pos;
  // The resource may follow its scope spans on the wire: find it first (the last one wins, as in protobufjs).
  let resourceStart = -1;
  let resourceEnd = -1;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a) {
      const fieldEnd = r.lengthEnd();
      resourceStart = r.pos;
      resourceEnd = fieldEnd;
      r.pos = fieldEnd;
    } else if (tag === 0x12 || tag === 0x1a) r.pos = r.lengthEnd();
    else if (tag >>> 3 <= 3) r.wrongType(tag, 'ResourceSpans');
    else r.skip(tag);
  }
  let res = NO_RESOURCE;
  if (resourceStart >= 0) {
    r.pos = resourceStart;
    const attributes = readResource(r, resourceEnd);
    if (building) res = resourceInfo(attributes);
  } else if (building) res = resourceInfo({});
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x12) readScopeSpans(r, r.lengthEnd(), res, out, limit);
    else r.skip(tag);
  }
  r.end = saved;
}

function readScopeSpans(r: ProtoReader, end: number, res: ResourceInfo, out: RequestEvent[], limit: number): void {
  const saved = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x12) {
      if (spanCount >= limit) throw new DecodeError(`more than ${limit} spans in one message`);
      spanCount++;
      const event = readSpan(r, r.lengthEnd(), res);
      if (event) out.push(event);
    } else if (tag === 0x0a || tag === 0x1a) r.pos = r.lengthEnd();
    else if (tag >>> 3 <= 3) r.wrongType(tag, 'ScopeSpans');
    else r.skip(tag);
  }
  r.end = saved;
}

/** One span → its event; undefined while only checking. */
function readSpan(r: ProtoReader, end: number, res: ResourceInfo): RequestEvent | undefined {
  const saved = r.end;
  r.end = end;
  const span = fields;
  span.traceId = '';
  span.spanId = '';
  span.parentSpanId = '';
  span.name = '';
  span.kind = 0;
  span.statusCode = 0;
  span.statusMessage = '';
  let startLo = 0;
  let startHi = 0;
  let endLo = 0;
  let endHi = 0;
  if (building) normalizer.begin();
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x0a:
        span.traceId = r.id(16, 'trace_id');
        break;
      case 0x12:
        span.spanId = r.id(8, 'span_id');
        break;
      case 0x22:
        span.parentSpanId = r.id(8, 'parent_span_id');
        break;
      case 0x2a:
        span.name = r.string();
        break;
      case 0x30:
        span.kind = r.varint32() | 0;
        break;
      case 0x39:
        r.fixed64();
        startLo = r.lo;
        startHi = r.hi;
        break;
      case 0x41:
        r.fixed64();
        endLo = r.lo;
        endHi = r.hi;
        break;
      case 0x4a: {
        const kvEnd = r.lengthEnd();
        if (!building) {
          checkKeyValue(r, kvEnd);
          break;
        }
        const kvStart = r.pos;
        const cacheable = kvEnd > kvStart && kvEnd - kvStart <= attributeCache.maxBytes;
        const cached = cacheable ? attributeCache.find(r.buf, r.view, kvStart, kvEnd) : undefined;
        if (cached !== undefined) {
          r.pos = kvEnd;
          normalizer.attributeClassified(cached.key, cached.meta, cached.value);
          break;
        }
        const value = readKeyValue(r, kvEnd);
        if (value === undefined) break;
        normalizer.attributeClassified(lastKey, lastKeyMeta, value);
        if (cacheable && (lastKeyMeta & UNIQUE_VALUE) === 0) attributeCache.store(r.buf, r.view, kvStart, kvEnd, { key: lastKey, meta: lastKeyMeta, value });
        break;
      }
      case 0x7a:
        readStatus(r, r.lengthEnd());
        break;
      case 0x1a: // trace_state
      case 0x5a: // events
      case 0x6a: // links
        r.pos = r.lengthEnd();
        break;
      case 0x50: // dropped_attributes_count
      case 0x60: // dropped_events_count
      case 0x70: // dropped_links_count
        r.varint64();
        break;
      case 0x85: // flags: field 16, fixed32 (tag 0x85 0x01)
        r.fixed32();
        break;
      default:
        if (tag >>> 3 <= 16) r.wrongType(tag, 'Span');
        r.skip(tag);
    }
  }
  r.end = saved;
  if (!building) return undefined;
  span.startMs = nanosToMs(startLo, startHi);
  span.durationMs = nanosDiffMs(startLo, startHi, endLo, endHi);
  return normalizer.finish(span, res);
}

function readStatus(r: ProtoReader, end: number): void {
  const saved = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x12) fields.statusMessage = r.string();
    else if (tag === 0x18) fields.statusCode = r.varint32() | 0;
    else if (tag === 0x08) r.varint64(); // deprecated_code (reserved 1)
    else if (tag >>> 3 <= 3) r.wrongType(tag, 'Status');
    else r.skip(tag);
  }
  r.end = saved;
}
