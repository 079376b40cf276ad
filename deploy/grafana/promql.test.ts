import { describe, expect, it } from 'vitest';
import { promqlReferences } from './promql.ts';

describe('promqlReferences', () => {
  it('finds selectors with their matchers and the function around them', () => {
    const r = promqlReferences('histogram_quantile(0.95, sum by (le, stage) (rate(peregrine_processing_latency_seconds_bucket{stage=~"features|detectors"}[5m])))');
    expect(r.selectors).toEqual([{ metric: 'peregrine_processing_latency_seconds_bucket', matchers: ['stage'], enclosingFunction: 'rate' }]);
    expect(r.groupingLabels).toEqual(['le', 'stage']);
  });

  it('reads binary expressions, postfix grouping, keywords, numbers and durations', () => {
    const r = promqlReferences(`sum(rate(a_total{x="1,}"}[1m30s] offset 5m)) by (job) / on(job) group_left(instance) sum(b) > bool 1e3
      unless up{job=~"peregrine-.*"} == 0 or vector(0) and c # trailing comment`);
    expect(r.selectors.map((s) => [s.metric, s.enclosingFunction])).toEqual([['a_total', 'rate'], ['b', 'sum'], ['up', ''], ['c', '']]);
    expect(r.selectors[2]!.matchers).toEqual(['job']);
    expect(r.groupingLabels).toEqual(['job', 'job', 'instance']);
  });

  it('skips selectors without a metric name and refuses what it cannot read', () => {
    expect(promqlReferences('count({__name__=~"peregrine_.+"})').selectors).toEqual([]);
    expect(() => promqlReferences('sum(rate(x[5m])')).toThrow(/unbalanced/);
    expect(() => promqlReferences('x{job="a}')).toThrow(/unterminated/);
    expect(() => promqlReferences('x ; y')).toThrow(/unexpected/);
  });
});
