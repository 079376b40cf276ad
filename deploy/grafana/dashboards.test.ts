import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { dashboardQueries, queryProblems, readDashboards, SCRAPED_SERIES_FILE, type ScrapedSeries } from './dashboards.ts';

const scraped = JSON.parse(readFileSync(SCRAPED_SERIES_FILE, 'utf8')) as ScrapedSeries;
const queries = dashboardQueries();

describe('Grafana dashboards, checked against the series Prometheus scraped from the running pipeline', () => {
  it('the fixture comes from a real scrape of every stage', () => {
    expect(existsSync(SCRAPED_SERIES_FILE)).toBe(true);
    expect(scraped.metrics.peregrine_records_in_total?.labels).toEqual(expect.arrayContaining(['job', 'instance', 'stage']));
    expect(scraped.metrics.up?.labels).toContain('job');
  });

  it('every query selects metrics and labels that exist, counters only through rate() or increase()', () => {
    expect(queries.length).toBeGreaterThan(20);
    const problems = queries.flatMap((q) => queryProblems(q.expr, scraped.metrics, { legendFormat: q.legendFormat }).map((p) => `${q.dashboard} "${q.panel}": ${p}`));
    expect(problems).toEqual([]);
  });

  // Rules may test a raw counter for a series that is new (`x unless x offset 10m`); promtool's unit tests
  // (rules.test.yml) check what they mean.
  it('every alerting rule selects metrics and labels that exist', () => {
    const rules = parseYaml(readFileSync(new URL('../prometheus/rules/peregrine.rules.yml', import.meta.url), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const problems = rules.groups.flatMap((g) => g.rules).flatMap((r) => queryProblems(r.expr, scraped.metrics, { rawCounters: true }).map((p) => `${r.alert}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('covers pipeline health (throughput, lag, errors, dead letters, latency) and findings by severity and technique', () => {
    const used = (pattern: RegExp) => queries.filter((q) => pattern.test(q.expr)).map((q) => q.dashboard);
    expect(used(/peregrine_records_in_total/)).toContain('pipeline-health.json');
    expect(used(/peregrine_consumer_lag_records/)).toContain('pipeline-health.json');
    expect(used(/peregrine_errors_total/)).toContain('pipeline-health.json');
    expect(used(/peregrine_records_dropped_total\{reason=~"undecodable\|rejected_by_\.\+"\}/)).toContain('pipeline-health.json');
    expect(used(/peregrine_detection_latency_seconds_bucket/)).toContain('pipeline-health.json');
    expect(used(/by \(severity\)/)).toContain('findings.json');
    expect(used(/by \(technique\)/)).toContain('findings.json');
  });

  it('each dashboard has a unique uid, unique panel ids and a Prometheus data source variable every panel uses', () => {
    const dashboards = readDashboards();
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(dashboards.length);
    for (const { file, json } of dashboards) {
      expect(json.templating?.list.find((v) => v.name === 'datasource')?.type, file).toBe('datasource');
      const panels = json.panels as Array<{ id: number; type: string; datasource?: { uid: string }; targets?: Array<{ datasource?: { uid: string } }> }>;
      expect(new Set(panels.map((p) => p.id)).size, file).toBe(panels.length);
      for (const p of panels.filter((x) => x.type !== 'row')) {
        expect(p.datasource?.uid, `${file} panel ${p.id}`).toBe('${datasource}');
        for (const t of p.targets ?? []) expect(t.datasource?.uid, `${file} panel ${p.id}`).toBe('${datasource}');
      }
    }
  });
});

describe('the query check itself', () => {
  const metrics: ScrapedSeries['metrics'] = {
    peregrine_errors_total: { type: 'counter', labels: ['job', 'stage', 'kind'] },
    peregrine_x_seconds_bucket: { type: 'histogram', labels: ['job', 'le'] },
  };
  it('refuses unknown metrics and labels, raw counters, lost legend labels and unknown variables', () => {
    expect(queryProblems('sum by (stage) (rate(peregrine_errors_total[$__rate_interval]))', metrics, { legendFormat: '{{stage}}' })).toEqual([]);
    expect(queryProblems('peregrine_nope', metrics)).toEqual(['peregrine_nope was not scraped from the running pipeline']);
    expect(queryProblems('rate(peregrine_errors_total{reason="x"}[5m])', metrics)).toEqual([expect.stringMatching(/has no label reason/)]);
    expect(queryProblems('sum(peregrine_errors_total)', metrics)).toEqual([expect.stringMatching(/is a counter: wrap it in rate/)]);
    expect(queryProblems('histogram_quantile(0.9, sum by (le, detector) (rate(peregrine_x_seconds_bucket[5m])))', metrics)).toEqual([expect.stringMatching(/groups by detector/)]);
    expect(queryProblems('sum by (job) (rate(peregrine_errors_total[5m]))', metrics, { legendFormat: '{{stage}}' })).toEqual([expect.stringMatching(/legend uses \{\{stage\}\}/)]);
    expect(queryProblems('rate(peregrine_errors_total{job="$job"}[5m])', metrics)).toEqual([expect.stringMatching(/dashboard variable/)]);
  });
});
