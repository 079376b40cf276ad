import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../core/errors.ts';
import { decodeLogsRequestJson, decodeMetricsRequestJson, decodeTraceRequestJson } from './json.ts';
import { decodeTraces } from './index.ts';
import { CumulativeToDelta } from '../normalize/metrics.ts';

const request = (span: Record<string, unknown>) => JSON.stringify({
  resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] }, scopeSpans: [{ spans: [span] }] }],
});
const base = { traceId: '0AF7651916CD43DD8448EB211C80319C', spanId: 'B7AD6B7169203331', name: 'GET', kind: 2, startTimeUnixNano: '1764547200000000001', endTimeUnixNano: '1764547200001000001' };

describe('OTLP/JSON as the collector writes it', () => {
  it('reads hex ids (any case) as lowercase, int64 strings exactly, and enum numbers or names', () => {
    const [e] = decodeTraceRequestJson(request({ ...base, attributes: [{ key: 'big', value: { intValue: '9007199254740993' } }, { key: 'http.response.status_code', value: { intValue: '200' } }] }));
    expect(e).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', service: 'api', spanKind: 'server', httpStatus: 200, durationMs: 1, timeMs: 1764547200000.000001 });
    expect(e.attributes.big).toBe(9007199254740992); // nearest double, as the wire decoder rounds
    const [named] = decodeTraceRequestJson(request({ ...base, kind: 'SPAN_KIND_CLIENT', status: { code: 'STATUS_CODE_ERROR' } }));
    expect(named).toMatchObject({ spanKind: 'client', error: true });
  });

  it('accepts the proto (snake_case) field names too', () => {
    const text = JSON.stringify({ resource_spans: [{ scope_spans: [{ spans: [{ trace_id: base.traceId, span_id: base.spanId, start_time_unix_nano: '5000000', end_time_unix_nano: '6000000' }] }] }] });
    expect(decodeTraceRequestJson(text)[0]).toMatchObject({ timeMs: 5, durationMs: 1 });
  });

  it('rejects malformed JSON and bad fields with DecodeError naming the path', () => {
    expect(() => decodeTraceRequestJson('{"resourceSpans": [')).toThrow(DecodeError);
    expect(() => decodeTraceRequestJson(request({ ...base, traceId: 'xyz' }))).toThrow(/resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId/);
    expect(() => decodeTraceRequestJson(request({ ...base, startTimeUnixNano: '12.5' }))).toThrow(/startTimeUnixNano/);
    expect(() => decodeTraceRequestJson('[]')).toThrow(/expected an object/);
    expect(() => decodeTraceRequestJson(JSON.stringify({ resourceSpans: {} }))).toThrow(/expected an array/);
  });

  it('dispatches on the kafka encoding name', () => {
    const bytes = new TextEncoder().encode(request(base));
    expect(decodeTraces(bytes, 'otlp_json')).toHaveLength(1);
    expect(() => decodeTraces(bytes, 'otlp_proto')).toThrow(DecodeError);
    expect(() => decodeTraces(bytes, 'zipkin' as never)).toThrow(/unsupported OTLP encoding/);
  });

  it('reads metrics and logs', () => {
    const metrics = JSON.stringify({
      resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'api' } }] }, scopeMetrics: [{ metrics: [
        { name: 'up', gauge: { dataPoints: [{ timeUnixNano: '2000000', asInt: '1' }] } },
        { name: 'lat', unit: 'ms', histogram: { aggregationTemporality: 1, dataPoints: [{ timeUnixNano: '2000000', count: '3', sum: 6, bucketCounts: ['1', '2'], explicitBounds: [5] }] } },
      ] }] }],
    });
    expect(decodeMetricsRequestJson(metrics, { deltas: new CumulativeToDelta() })).toMatchObject([
      { name: 'up', value: 1, timeMs: 2, metricType: 'gauge', service: 'api' },
      { name: 'lat', unit: 'ms', value: 3, count: 3, sum: 6, bucketCounts: [1, 2], bucketBounds: [5] },
    ]);
    const logs = JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ observedTimeUnixNano: '3000000', severityNumber: 'SEVERITY_NUMBER_WARN', body: { stringValue: 'disk low' }, traceId: '' }] }] }] });
    expect(decodeLogsRequestJson(logs)[0]).toMatchObject({ timeMs: 3, severity: 13, body: 'disk low', traceId: undefined, service: 'unknown_service' });
  });
});
