import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { startPipeline } from '../../app/runtime.ts';
import { loadAppConfig } from '../../app/config.ts';
import { createLogger } from '../../core/log.ts';
import { createElasticsearchClient } from '../../core/elasticsearch/client.ts';
import { runEval, loadScenarios } from './cli.ts';
import type { StartPipeline } from '../pipeline.ts';

describe('peregrine eval --fast on the real stack', () => {
  it('runs a short scenario through receiver, Kafka and stages, detects the catalog failure, writes the JSON and the table, and cleans up', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peregrine-eval-'));
    const file = path.join(dir, 'catalog-quick.yaml');
    writeFileSync(file, 'name: catalog-quick\nseed: 3\nduration: 6m\ntraffic:\n  sessions: 60\n  rate: 15\n  bots: true\nevents:\n  - kind: product_catalog_failure\n    at: 3m\n    duration: 1m\n    expect:\n      detector: error_ratio\n');
    const out = path.join(dir, 'out');
    const lines: string[] = [];
    const config = loadAppConfig({ env: {} });
    const outcomes = await runEval(loadScenarios([file]), {
      config, log: createLogger({ level: 'warn' }), print: (l) => lines.push(l), signal: new AbortController().signal,
      out, mode: 'fast', startPipeline: startPipeline as unknown as StartPipeline,
    });

    const json = JSON.parse(readFileSync(path.join(out, 'catalog-quick.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['scenario', 'mode', 'normal_hours', 'events', 'false_findings', 'false_per_hour']);
    expect(json).toMatchObject({ scenario: 'catalog-quick', mode: 'fast', normal_hours: 0.08 });
    const [event] = json.events as Array<Record<string, unknown>>;
    expect(Object.keys(event!)).toEqual(['kind', 'detector', 'detected', 'time_to_detect_s', 'finding_ids']);
    expect(event).toMatchObject({ kind: 'product_catalog_failure', detector: 'error_ratio', detected: true });
    expect(event!.time_to_detect_s).toBeGreaterThan(0);
    expect(event!.time_to_detect_s).toBeLessThanOrEqual(20);
    expect((event!.finding_ids as string[]).every((id) => /^[0-9a-f]{40}$/.test(id))).toBe(true);
    // Five normal minutes: false findings per hour are twelve times their count.
    expect(json.false_per_hour).toBeCloseTo((json.false_findings as number) * 12, 1);

    const summary = readFileSync(path.join(out, 'summary.md'), 'utf8');
    expect(summary).toContain('| catalog-quick | fast | product_catalog_failure | detector error_ratio | yes |');
    expect(lines.join('\n')).toContain('| scenario | mode | event | expected | detected |');

    // The run's topics, groups and findings indices are gone.
    const id = outcomes[0]!.runId;
    const admin = new Kafka({ clientId: 'eval-test', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      expect((await admin.listTopics()).filter((t) => t.includes(id))).toEqual([]);
      expect((await admin.listGroups()).groups.filter((g) => g.groupId.includes(id))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
    const es = createElasticsearchClient(config.elasticsearch);
    try {
      expect(Object.keys(await es.indices.get({ index: `peregrine-eval-${id}-*`, ignore_unavailable: true, allow_no_indices: true }))).toEqual([]);
    } finally {
      await es.close();
    }
  }, 600_000);
});
