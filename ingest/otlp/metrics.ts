/**
 * ExportMetricsServiceRequest protobuf bytes → MetricPointEvent[] (gauge, sum, histogram,
 * exponential histogram, summary), read straight from the wire. Cumulative points go through the
 * caller's CumulativeToDelta, which keeps the per-series state between messages.
 */
import { DecodeError } from '../../core/errors.ts';
import type { MetricPointEvent, MetricType } from '../../core/events.ts';
import {
  CumulativeToDelta, emptyRawPoint, stableKey, type ExpBuckets, type RawMetricPoint,
} from '../normalize/metrics.ts';
import { resourceInfo, type Attributes } from '../normalize/span.ts';
import { asBytes, DEFAULT_MAX_EVENTS, guarded, lastKey, readKeyValue, readResource, type DecodeOptions } from './proto-common.ts';
import { ProtoReader, WIRE_FIXED64, WIRE_LEN } from '../../core/protobuf/reader.ts';
import { nanosToMs } from './nanos.ts';

export interface MetricsDecodeOptions extends DecodeOptions {
  /** Keeps cumulative state across messages; pass the same instance for a whole stream. */
  deltas?: CumulativeToDelta;
}

interface Context {
  out: MetricPointEvent[];
  deltas: CumulativeToDelta;
  limit: number;
  seen: number;
  service: string;
  resource: Attributes;
  prefix: string;
}

/**
 * Decodes one ExportMetricsServiceRequest. Without `options.deltas` a fresh converter is used, so
 * cumulative points only seed it (pass a long-lived one to get their deltas).
 */
export function decodeMetricsRequest(bytes: Uint8Array, options: MetricsDecodeOptions = {}): MetricPointEvent[] {
  return guarded('metrics', () => {
    const r = new ProtoReader(asBytes(bytes));
    const ctx: Context = {
      out: [], deltas: options.deltas ?? new CumulativeToDelta(), limit: options.maxEvents ?? DEFAULT_MAX_EVENTS,
      seen: 0, service: '', resource: {}, prefix: '',
    };
    while (r.pos < r.end) {
      const tag = r.tag();
      if (tag === 0x0a) readResourceMetrics(r, r.lengthEnd(), ctx);
      else if (tag >>> 3 === 1) r.wrongType(tag, 'ExportMetricsServiceRequest');
      else r.skip(tag);
    }
    return ctx.out;
  });
}

/** Finds the last occurrence of a length-delimited field (fields may come in any order on the wire). */
function findField(r: ProtoReader, end: number, wanted: number, message: string): [start: number, end: number] | undefined {
  const start = r.pos;
  let found: [number, number] | undefined;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === wanted) {
      const fieldEnd = r.lengthEnd();
      found = [r.pos, fieldEnd];
      r.pos = fieldEnd;
    } else if (tag >>> 3 === wanted >>> 3) r.wrongType(tag, message);
    else r.skip(tag);
  }
  r.pos = start;
  return found;
}

function readResourceMetrics(r: ProtoReader, end: number, ctx: Context): void {
  const saved = r.end;
  r.end = end;
  const res = findField(r, end, 0x0a, 'ResourceMetrics');
  let attrs: Attributes = {};
  if (res) {
    const back = r.pos;
    r.pos = res[0];
    attrs = readResource(r, res[1]);
    r.pos = back;
  }
  const info = resourceInfo(attrs);
  ctx.service = info.service;
  ctx.resource = attrs;
  const resourceKey = stableKey(attrs);
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x12) readScopeMetrics(r, r.lengthEnd(), ctx, resourceKey);
    else if (tag === 0x0a || tag === 0x1a) r.pos = r.lengthEnd();
    else if (tag >>> 3 <= 3) r.wrongType(tag, 'ResourceMetrics');
    else r.skip(tag);
  }
  r.end = saved;
}

function readScopeMetrics(r: ProtoReader, end: number, ctx: Context, resourceKey: string): void {
  const saved = r.end;
  r.end = end;
  const scope = findField(r, end, 0x0a, 'ScopeMetrics');
  let scopeName = '';
  let scopeVersion = '';
  if (scope) {
    const back = r.pos;
    r.pos = scope[0];
    r.end = scope[1];
    while (r.pos < scope[1]) {
      const tag = r.tag();
      if (tag === 0x0a) scopeName = r.string();
      else if (tag === 0x12) scopeVersion = r.string();
      else r.skip(tag);
    }
    r.end = end;
    r.pos = back;
  }
  ctx.prefix = `${resourceKey}\u0000${scopeName}\u0000${scopeVersion}`;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x12) readMetric(r, r.lengthEnd(), ctx);
    else if (tag === 0x0a || tag === 0x1a) r.pos = r.lengthEnd();
    else if (tag >>> 3 <= 3) r.wrongType(tag, 'ScopeMetrics');
    else r.skip(tag);
  }
  r.end = saved;
}

const DATA_TYPES: Record<number, MetricType> = { 0x2a: 'gauge', 0x3a: 'sum', 0x4a: 'histogram', 0x52: 'exponential_histogram', 0x5a: 'summary' };

function readMetric(r: ProtoReader, end: number, ctx: Context): void {
  const saved = r.end;
  r.end = end;
  let name = '';
  let unit = '';
  let dataTag = 0;
  let dataStart = 0;
  let dataEnd = 0;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x0a:
        name = r.string();
        break;
      case 0x1a:
        unit = r.string();
        break;
      case 0x12: // description
      case 0x62: // metadata
        r.pos = r.lengthEnd();
        break;
      case 0x2a:
      case 0x3a:
      case 0x4a:
      case 0x52:
      case 0x5a: {
        const fieldEnd = r.lengthEnd();
        dataTag = tag; // a oneof: the last one wins
        dataStart = r.pos;
        dataEnd = fieldEnd;
        r.pos = fieldEnd;
        break;
      }
      default:
        if ([1, 2, 3, 5, 7, 9, 10, 11, 12].includes(tag >>> 3)) r.wrongType(tag, 'Metric');
        r.skip(tag);
    }
  }
  if (dataTag !== 0) {
    r.pos = dataStart;
    readData(r, dataEnd, DATA_TYPES[dataTag], name, unit, ctx);
  }
  r.pos = end;
  r.end = saved;
}

/** Gauge/Sum/Histogram/ExponentialHistogram/Summary: temporality and monotonicity first, then the points. */
function readData(r: ProtoReader, end: number, type: MetricType, name: string, unit: string, ctx: Context): void {
  const saved = r.end;
  r.end = end;
  const start = r.pos;
  let temporality = 0;
  let monotonic = false;
  const hasTemporality = type === 'sum' || type === 'histogram' || type === 'exponential_histogram';
  while (r.pos < end) {
    const tag = r.tag();
    const fieldNumber = tag >>> 3;
    if (tag === 0x0a) r.pos = r.lengthEnd();
    else if (tag === 0x10 && hasTemporality) temporality = r.varint32() | 0;
    else if (tag === 0x18 && type === 'sum') {
      r.varint64();
      monotonic = r.lo !== 0 || r.hi !== 0;
    } else if (fieldNumber === 1 || (hasTemporality && fieldNumber === 2) || (type === 'sum' && fieldNumber === 3)) r.wrongType(tag, type);
    else r.skip(tag);
  }
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag !== 0x0a) {
      r.skip(tag);
      continue;
    }
    const pointEnd = r.lengthEnd();
    if (++ctx.seen > ctx.limit) throw new DecodeError(`more than ${ctx.limit} data points in one message`);
    const p = emptyRawPoint();
    p.service = ctx.service;
    p.resource = ctx.resource;
    p.seriesPrefix = ctx.prefix;
    p.name = name;
    p.unit = unit;
    p.metricType = type;
    p.temporality = temporality;
    p.monotonic = monotonic;
    if (type === 'gauge' || type === 'sum') readNumberPoint(r, pointEnd, p);
    else if (type === 'histogram') readHistogramPoint(r, pointEnd, p);
    else if (type === 'exponential_histogram') readExpHistogramPoint(r, pointEnd, p);
    else readSummaryPoint(r, pointEnd, p);
    const event = ctx.deltas.accept(p);
    if (event) ctx.out.push(event);
  }
  r.end = saved;
}

function attribute(r: ProtoReader, attrs: Attributes): void {
  const value = readKeyValue(r, r.lengthEnd());
  if (value !== undefined) attrs[lastKey] = value;
}

function time(r: ProtoReader): number {
  r.fixed64();
  return nanosToMs(r.lo, r.hi);
}

function fixed64Count(r: ProtoReader): number {
  r.fixed64();
  return r.uint64Number();
}

function readNumberPoint(r: ProtoReader, end: number, p: RawMetricPoint): void {
  const saved = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x3a: attribute(r, p.attributes); break;
      case 0x11: p.startTimeMs = time(r); break;
      case 0x19: p.timeMs = time(r); break;
      case 0x21: p.value = r.double(); break;
      case 0x31: r.fixed64(); p.value = r.int64Number(); break;
      case 0x2a: r.pos = r.lengthEnd(); break; // exemplars
      case 0x40: p.flags = r.varint32(); break;
      default:
        if (tag >>> 3 >= 2 && tag >>> 3 <= 8) r.wrongType(tag, 'NumberDataPoint');
        r.skip(tag);
    }
  }
  r.end = saved;
}

/** A repeated fixed64 or double field, packed or not. */
function repeated64(r: ProtoReader, tag: number, out: number[], asDouble: boolean): void {
  if ((tag & 7) === WIRE_LEN) {
    const end = r.lengthEnd();
    if ((end - r.pos) % 8 !== 0) r.fail('packed 64-bit field length is not a multiple of 8');
    while (r.pos < end) {
      if (asDouble) out.push(r.double());
      else out.push(fixed64Count(r));
    }
  } else if ((tag & 7) === WIRE_FIXED64) out.push(asDouble ? r.double() : fixed64Count(r));
  else r.wrongType(tag, 'repeated 64-bit');
}

function readHistogramPoint(r: ProtoReader, end: number, p: RawMetricPoint): void {
  const saved = r.end;
  r.end = end;
  const bounds: number[] = [];
  const counts: number[] = [];
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x4a: attribute(r, p.attributes); break;
      case 0x11: p.startTimeMs = time(r); break;
      case 0x19: p.timeMs = time(r); break;
      case 0x21: p.count = fixed64Count(r); break;
      case 0x29: p.sum = r.double(); break;
      case 0x31: case 0x32: repeated64(r, tag, counts, false); break;
      case 0x39: case 0x3a: repeated64(r, tag, bounds, true); break;
      case 0x42: r.pos = r.lengthEnd(); break; // exemplars
      case 0x50: p.flags = r.varint32(); break;
      case 0x59: p.min = r.double(); break;
      case 0x61: p.max = r.double(); break;
      default:
        if (tag >>> 3 >= 2 && tag >>> 3 <= 12) r.wrongType(tag, 'HistogramDataPoint');
        r.skip(tag);
    }
  }
  p.bucketBounds = bounds;
  p.bucketCounts = counts;
  p.value = p.count;
  r.end = saved;
}

function zigzag32(n: number): number {
  return (n >>> 1) ^ -(n & 1);
}

function readBuckets(r: ProtoReader, end: number): ExpBuckets {
  const saved = r.end;
  r.end = end;
  const b: ExpBuckets = { offset: 0, counts: [] };
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x08) b.offset = zigzag32(r.varint32());
    else if (tag === 0x12) {
      const fieldEnd = r.lengthEnd();
      while (r.pos < fieldEnd) {
        r.varint64();
        b.counts.push(r.uint64Number());
      }
    } else if (tag === 0x10) {
      r.varint64();
      b.counts.push(r.uint64Number());
    } else if (tag >>> 3 <= 2) r.wrongType(tag, 'Buckets');
    else r.skip(tag);
  }
  r.end = saved;
  return b;
}

function readExpHistogramPoint(r: ProtoReader, end: number, p: RawMetricPoint): void {
  const saved = r.end;
  r.end = end;
  p.scale = 0;
  p.zeroCount = 0;
  p.positive = { offset: 0, counts: [] };
  p.negative = { offset: 0, counts: [] };
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x0a: attribute(r, p.attributes); break;
      case 0x11: p.startTimeMs = time(r); break;
      case 0x19: p.timeMs = time(r); break;
      case 0x21: p.count = fixed64Count(r); break;
      case 0x29: p.sum = r.double(); break;
      case 0x30: p.scale = zigzag32(r.varint32()); break;
      case 0x39: p.zeroCount = fixed64Count(r); break;
      case 0x42: p.positive = readBuckets(r, r.lengthEnd()); break;
      case 0x4a: p.negative = readBuckets(r, r.lengthEnd()); break;
      case 0x50: p.flags = r.varint32(); break;
      case 0x5a: r.pos = r.lengthEnd(); break; // exemplars
      case 0x61: p.min = r.double(); break;
      case 0x69: p.max = r.double(); break;
      case 0x71: r.double(); break; // zero_threshold
      default:
        if (tag >>> 3 >= 1 && tag >>> 3 <= 14) r.wrongType(tag, 'ExponentialHistogramDataPoint');
        r.skip(tag);
    }
  }
  p.value = p.count;
  r.end = saved;
}

function readSummaryPoint(r: ProtoReader, end: number, p: RawMetricPoint): void {
  const saved = r.end;
  r.end = end;
  const quantiles: Array<{ quantile: number; value: number }> = [];
  p.sum = 0;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x3a: attribute(r, p.attributes); break;
      case 0x11: p.startTimeMs = time(r); break;
      case 0x19: p.timeMs = time(r); break;
      case 0x21: p.count = fixed64Count(r); break;
      case 0x29: p.sum = r.double(); break;
      case 0x32: {
        const qEnd = r.lengthEnd();
        r.end = qEnd;
        const q = { quantile: 0, value: 0 };
        while (r.pos < qEnd) {
          const t = r.tag();
          if (t === 0x09) q.quantile = r.double();
          else if (t === 0x11) q.value = r.double();
          else if (t >>> 3 <= 2) r.wrongType(t, 'ValueAtQuantile');
          else r.skip(t);
        }
        r.end = end;
        quantiles.push(q);
        break;
      }
      case 0x40: p.flags = r.varint32(); break;
      default:
        if (tag >>> 3 >= 2 && tag >>> 3 <= 8) r.wrongType(tag, 'SummaryDataPoint');
        r.skip(tag);
    }
  }
  p.quantiles = quantiles;
  p.value = p.count;
  r.end = saved;
}

