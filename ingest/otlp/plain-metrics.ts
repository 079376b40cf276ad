/** ExportMetricsServiceRequest as a plain object (protobufjs message or OTLP/JSON) → MetricPointEvent[]. */
import { DecodeError } from '../../core/errors.ts';
import type { MetricPointEvent, MetricType } from '../../core/events.ts';
import { CumulativeToDelta, emptyRawPoint, stableKey, type ExpBuckets, type RawMetricPoint } from '../normalize/metrics.ts';
import { resourceInfo } from '../normalize/span.ts';
import {
  asArray, asBool, asDouble, asInt, asObject, asString, attributesOf, field, int64Number, nanosMs, resourceAttributes,
  uint64Number, type Obj,
} from './plain-common.ts';
import { DEFAULT_MAX_EVENTS } from './proto-common.ts';
import type { MetricsDecodeOptions } from './metrics.ts';

export type { MetricsDecodeOptions };

const TEMPORALITY_NAMES: Record<string, number> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

const DATA_FIELDS: ReadonlyArray<[camel: string, snake: string, type: MetricType]> = [
  ['gauge', 'gauge', 'gauge'],
  ['sum', 'sum', 'sum'],
  ['histogram', 'histogram', 'histogram'],
  ['exponentialHistogram', 'exponential_histogram', 'exponential_histogram'],
  ['summary', 'summary', 'summary'],
];

function optionalDouble(v: unknown, path: string): number | undefined {
  return v === undefined || v === null ? undefined : asDouble(v, path);
}

function buckets(v: unknown, path: string): ExpBuckets {
  if (v === undefined || v === null) return { offset: 0, counts: [] };
  const o = asObject(v, path);
  return {
    offset: asInt(o.offset, `${path}.offset`),
    counts: asArray(field(o, 'bucketCounts', 'bucket_counts'), `${path}.bucketCounts`).map((c, i) => uint64Number(c, `${path}.bucketCounts[${i}]`)),
  };
}

export function plainMetricsRequestToPoints(request: Obj, options: MetricsDecodeOptions = {}): MetricPointEvent[] {
  const deltas = options.deltas ?? new CumulativeToDelta();
  const limit = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  const out: MetricPointEvent[] = [];
  let seen = 0;
  asArray(field(request, 'resourceMetrics', 'resource_metrics'), '$.resourceMetrics').forEach((rmValue, i) => {
    const rmPath = `$.resourceMetrics[${i}]`;
    const rm = asObject(rmValue, rmPath);
    const resource = resourceAttributes(rm.resource, `${rmPath}.resource`);
    const { service } = resourceInfo(resource);
    const resourceKey = stableKey(resource);
    asArray(field(rm, 'scopeMetrics', 'scope_metrics'), `${rmPath}.scopeMetrics`).forEach((smValue, j) => {
      const smPath = `${rmPath}.scopeMetrics[${j}]`;
      const sm = asObject(smValue, smPath);
      const scope = sm.scope === undefined || sm.scope === null ? {} : asObject(sm.scope, `${smPath}.scope`);
      const prefix = `${resourceKey}\u0000${asString(scope.name, `${smPath}.scope.name`)}\u0000${asString(scope.version, `${smPath}.scope.version`)}`;
      asArray(sm.metrics, `${smPath}.metrics`).forEach((mValue, k) => {
        const mPath = `${smPath}.metrics[${k}]`;
        const m = asObject(mValue, mPath);
        const name = asString(m.name, `${mPath}.name`);
        const unit = asString(m.unit, `${mPath}.unit`);
        const data = DATA_FIELDS.find(([camel, snake]) => field(m, camel, snake) !== undefined);
        if (!data) return;
        const [camel, snake, type] = data;
        const dPath = `${mPath}.${camel}`;
        const d = asObject(field(m, camel, snake), dPath);
        const temporality = type === 'gauge' || type === 'summary'
          ? 0
          : asInt(field(d, 'aggregationTemporality', 'aggregation_temporality'), `${dPath}.aggregationTemporality`, TEMPORALITY_NAMES);
        const monotonic = type === 'sum' ? asBool(field(d, 'isMonotonic', 'is_monotonic'), `${dPath}.isMonotonic`) : false;
        asArray(field(d, 'dataPoints', 'data_points'), `${dPath}.dataPoints`).forEach((pValue, n) => {
          const path = `${dPath}.dataPoints[${n}]`;
          if (++seen > limit) throw new DecodeError(`more than ${limit} data points in one message`);
          const dp = asObject(pValue, path);
          const p: RawMetricPoint = emptyRawPoint();
          p.service = service;
          p.resource = resource;
          p.seriesPrefix = prefix;
          p.name = name;
          p.unit = unit;
          p.metricType = type;
          p.temporality = temporality;
          p.monotonic = monotonic;
          p.attributes = attributesOf(dp.attributes, `${path}.attributes`);
          const start = field(dp, 'startTimeUnixNano', 'start_time_unix_nano');
          p.startTimeMs = start === undefined ? 0 : nanosMs(start, `${path}.startTimeUnixNano`);
          p.timeMs = nanosMs(field(dp, 'timeUnixNano', 'time_unix_nano'), `${path}.timeUnixNano`);
          p.flags = asInt(dp.flags, `${path}.flags`);
          fillPoint(p, dp, path);
          const event = deltas.accept(p);
          if (event) out.push(event);
        });
      });
    });
  });
  return out;
}

function fillPoint(p: RawMetricPoint, dp: Obj, path: string): void {
  switch (p.metricType) {
    case 'gauge':
    case 'sum': {
      const asInt64 = field(dp, 'asInt', 'as_int');
      const asDbl = field(dp, 'asDouble', 'as_double');
      p.value = asDbl !== undefined ? asDouble(asDbl, `${path}.asDouble`) : asInt64 !== undefined ? int64Number(asInt64, `${path}.asInt`) : 0;
      return;
    }
    case 'histogram':
      p.count = uint64Number(dp.count ?? 0, `${path}.count`);
      p.sum = optionalDouble(dp.sum, `${path}.sum`);
      p.min = optionalDouble(dp.min, `${path}.min`);
      p.max = optionalDouble(dp.max, `${path}.max`);
      p.bucketCounts = asArray(field(dp, 'bucketCounts', 'bucket_counts'), `${path}.bucketCounts`).map((c, i) => uint64Number(c, `${path}.bucketCounts[${i}]`));
      p.bucketBounds = asArray(field(dp, 'explicitBounds', 'explicit_bounds'), `${path}.explicitBounds`).map((b, i) => asDouble(b, `${path}.explicitBounds[${i}]`));
      p.value = p.count;
      return;
    case 'exponential_histogram':
      p.count = uint64Number(dp.count ?? 0, `${path}.count`);
      p.sum = optionalDouble(dp.sum, `${path}.sum`);
      p.min = optionalDouble(dp.min, `${path}.min`);
      p.max = optionalDouble(dp.max, `${path}.max`);
      p.scale = asInt(dp.scale, `${path}.scale`);
      p.zeroCount = uint64Number(field(dp, 'zeroCount', 'zero_count') ?? 0, `${path}.zeroCount`);
      p.positive = buckets(dp.positive, `${path}.positive`);
      p.negative = buckets(dp.negative, `${path}.negative`);
      p.value = p.count;
      return;
    case 'summary':
      p.count = uint64Number(dp.count ?? 0, `${path}.count`);
      p.sum = asDouble(dp.sum, `${path}.sum`);
      p.quantiles = asArray(field(dp, 'quantileValues', 'quantile_values'), `${path}.quantileValues`).map((q, i) => {
        const o = asObject(q, `${path}.quantileValues[${i}]`);
        return { quantile: asDouble(o.quantile, `${path}.quantileValues[${i}].quantile`), value: asDouble(o.value, `${path}.quantileValues[${i}].value`) };
      });
      p.value = p.count;
  }
}
