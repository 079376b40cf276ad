import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { mergeScraped, scrapeConfigFor, shippedJobs, summarizeSeries } from './prometheus.ts';

describe('the test scrape config made from the shipped one', () => {
  const targets = Object.fromEntries(shippedJobs().map((job, i) => [job, [`127.0.0.1:${20000 + i}`]]));

  it('keeps every shipped job and its settings, replaces the targets, points at the rules by absolute path', () => {
    const config = parseYaml(scrapeConfigFor(targets, { intervalS: 1 })) as { global: Record<string, string>; rule_files: string[]; scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
    expect(config.global).toMatchObject({ scrape_interval: '1s', evaluation_interval: '1s' });
    expect(config.rule_files).toEqual([expect.stringMatching(/^\/.*\/deploy\/prometheus\/rules\/\*\.yml$/)]);
    expect(config.scrape_configs.map((j) => [j.job_name, j.static_configs[0]!.targets])).toEqual(Object.entries(targets));
  });

  it('refuses a job the test started that the file lacks, and a shipped job left without targets', () => {
    expect(() => scrapeConfigFor({ ...targets, 'peregrine-other': ['x:1'] }, { intervalS: 1 })).toThrow(/has no job peregrine-other/);
    const { 'peregrine-console': _console, ...withoutConsole } = targets;
    expect(() => scrapeConfigFor(withoutConsole, { intervalS: 1 })).toThrow(/no process started for job peregrine-console/);
    expect(parseYaml(scrapeConfigFor(withoutConsole, { intervalS: 1, leaveOut: ['peregrine-console'] })).scrape_configs).toHaveLength(shippedJobs().length - 1);
  });
});

describe('the scraped-series record', () => {
  const families = { peregrine_findings_total: 'counter', peregrine_detection_latency_seconds: 'histogram', peregrine_process_nodejs_active_requests: 'gauge' };

  it('names each series with its family type and every label seen', () => {
    expect(summarizeSeries([
      { __name__: 'peregrine_findings_total', job: 'd', detector: 'a' },
      { __name__: 'peregrine_findings_total', job: 'd', technique: 'T1190' },
      { __name__: 'peregrine_detection_latency_seconds_bucket', le: '+Inf' },
    ], families)).toEqual({
      peregrine_detection_latency_seconds_bucket: { type: 'histogram', labels: ['le'] },
      peregrine_findings_total: { type: 'counter', labels: ['detector', 'job', 'technique'] },
    });
  });

  it('keeps series seen before whose family is still declared, drops the ones no process exposes any more', () => {
    const merged = mergeScraped(
      { peregrine_process_nodejs_active_requests: { type: 'gauge', labels: ['type'] }, peregrine_removed_total: { type: 'counter', labels: ['x'] }, peregrine_findings_total: { type: 'counter', labels: ['old'] } },
      { peregrine_findings_total: { type: 'counter', labels: ['detector'] } },
      families,
    );
    expect(merged).toEqual({
      peregrine_findings_total: { type: 'counter', labels: ['detector', 'old'] },
      peregrine_process_nodejs_active_requests: { type: 'gauge', labels: ['type'] },
    });
  });
});
