import { describe, expect, it } from 'vitest';
import type { JaegerSpan, JaegerTrace } from '../core/jaeger.ts';
import { isTraceId, waterfallOf } from './trace.ts';

const T0 = 1_796_563_507_028_000;
function span(id: string, parent: string | undefined, startUs: number, durationUs: number, tags: JaegerSpan['tags'] = [], processID = 'p1'): JaegerSpan {
  return {
    traceID: 't', spanID: id, operationName: `op-${id}`, startTime: T0 + startUs, duration: durationUs, processID, tags,
    references: parent ? [{ refType: 'CHILD_OF', traceID: 't', spanID: parent }] : [],
  };
}
const processes = { p1: { serviceName: 'frontend' }, p2: { serviceName: 'catalog' } };

describe('waterfall', () => {
  it('orders spans parent first, siblings by start, with depth, offsets and the failing span marked', () => {
    const trace: JaegerTrace = {
      traceID: 't', processes,
      spans: [
        span('c2', 'root', 600, 100),
        span('g1', 'c1', 150, 50, [{ key: 'otel.status_code', type: 'string', value: 'ERROR' }, { key: 'otel.status_description', type: 'string', value: 'boom' }, { key: 'app.id', type: 'string', value: 'X' }], 'p2'),
        span('root', undefined, 0, 1000, [{ key: 'span.kind', type: 'string', value: 'server' }]),
        span('c1', 'root', 100, 300, [{ key: 'error', type: 'bool', value: true }]),
      ],
    };
    const w = waterfallOf(trace);
    expect(w.spans.map((s) => [s.spanId, s.depth, s.parentId])).toEqual([['root', 0, undefined], ['c1', 1, 'root'], ['g1', 2, 'c1'], ['c2', 1, 'root']]);
    expect(w.durationUs).toBe(1000);
    expect(w.startMs).toBe(T0 / 1000);
    expect(w.errors).toBe(2);
    expect(w.services).toEqual(['catalog', 'frontend']);
    const g1 = w.spans.find((s) => s.spanId === 'g1')!;
    expect(g1).toMatchObject({ service: 'catalog', offsetUs: 150, durationUs: 50, error: true, statusMessage: 'boom', attributes: [['otel.status_code', 'ERROR'], ['app.id', 'X']] });
    expect(w.spans[0]).toMatchObject({ kind: 'server', error: false, attributes: [] });
  });

  it('shows a span whose parent is missing as a root, survives a reference cycle, and stops at maxSpans', () => {
    const orphan = waterfallOf({ traceID: 't', processes, spans: [span('a', 'gone', 10, 5), span('b', undefined, 0, 20)] });
    expect(orphan.spans.map((s) => [s.spanId, s.depth])).toEqual([['b', 0], ['a', 0]]);
    const cycle = waterfallOf({ traceID: 't', processes, spans: [span('x', 'y', 0, 5), span('y', 'x', 1, 5)] });
    expect(cycle.spans.map((s) => s.spanId).sort()).toEqual(['x', 'y']);
    const many = waterfallOf({ traceID: 't', processes, spans: Array.from({ length: 50 }, (_, i) => span(`s${i}`, undefined, i, 1)) }, { maxSpans: 10 });
    expect(many.spans).toHaveLength(10);
    expect(many.truncated).toBe(40);
  });

  it('takes span events and cuts very long attribute values', () => {
    const s = span('e', undefined, 0, 10, [{ key: 'big', type: 'string', value: 'x'.repeat(5000) }]);
    s.logs = [{ timestamp: T0 + 4, fields: [{ key: 'event', type: 'string', value: 'exception' }, { key: 'exception.message', type: 'string', value: 'nope' }] }];
    const w = waterfallOf({ traceID: 't', processes, spans: [s] });
    expect(w.spans[0]!.events).toEqual([{ offsetUs: 4, name: 'exception', attributes: [['exception.message', 'nope']] }]);
    expect(w.spans[0]!.attributes[0]![1]).toHaveLength(4097);
  });

  it('accepts Jaeger trace ids only', () => {
    expect(isTraceId('0123456789abcdef0123456789abcdef')).toBe(true);
    expect(isTraceId('0123456789abcdef')).toBe(true);
    expect(isTraceId('../../api/services')).toBe(false);
    expect(isTraceId('0123456789ABCDEF')).toBe(false);
  });
});
