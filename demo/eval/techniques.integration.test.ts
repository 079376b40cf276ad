/**
 * Every ATT&CK technique the detectors know, proven end to end on the real stack: fast-mode scenarios of the shop (SDK
 * spans and logs, the sensor's exec and connection records, host metrics) through Peregrine's receiver, Kafka, the
 * features, detectors and findings stages into Elasticsearch, scored by `peregrine eval`'s own runner: one scenario
 * with the request and network attacks one after the other, and the built-in new-binary and cryptominer scenarios
 * (an intruder's process tree on one service each). Each attack must be found with its technique (and entity, where
 * the scenario names one) within 15 s of event time, and the normal traffic around them must raise no finding. detectors/techniques.integration.test.ts checks the same
 * detectors on crafted windows; the built-in scenarios (`peregrine eval --builtin --fast`) run each attack alone.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../app/config.ts';
import { startPipeline } from '../../app/runtime.ts';
import { createLogger } from '../../core/log.ts';
import type { StartPipeline } from '../pipeline.ts';
import { BUILTIN_DIR, loadScenarios, runEval } from './cli.ts';

/** Attacks one after the other once the baselines and first-seen histories are warm (8 simulated minutes). */
const SCENARIO = `name: every-technique
seed: 21
duration: 16m
traffic:
  sessions: 80
  rate: 12
  bots: true
events:
  - kind: credential_stuffing
    at: 8m
    duration: 40s
    source: 203.0.113.7
    target: POST /api/login
    rate: 12
    expect:
      technique: T1110
      entity: client:203.0.113.7
  - kind: scanning
    at: 560s
    duration: 40s
    source: 192.0.2.44
    target: GET /
    rate: 30
    expect:
      technique: T1595
      entity: client:192.0.2.44
  - kind: sql_injection
    at: 640s
    duration: 40s
    source: 198.51.100.23
    target: GET /api/products/{productId}
    rate: 6
    expect:
      technique: T1190
      entity: client:198.51.100.23
  - kind: exfiltration
    at: 12m
    duration: 40s
    source: 203.0.113.99
    target: accounting
    rate: 1
    expect:
      technique: T1048
  - kind: lateral_movement
    at: 800s
    duration: 40s
    target: recommendation -> payment
    rate: 1
    expect:
      technique: T1021
      entity: edge:recommendation->payment
  - kind: flood
    at: 880s
    duration: 30s
    source: 45.128.0.0/16
    target: GET /api/products
    rate: 300
    expect:
      technique: T1499
`;

describe('every technique end to end (fast mode, real stack)', () => {
  it('finds each attack with its technique within 15 s of event time, and nothing in the normal traffic', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'peregrine-techniques-'));
    const file = path.join(dir, 'every-technique.yaml');
    writeFileSync(file, SCENARIO);
    const out = path.join(dir, 'out');
    const lines: string[] = [];
    await runEval(loadScenarios([file, path.join(BUILTIN_DIR, 'new-binary.yaml'), path.join(BUILTIN_DIR, 'cryptominer.yaml')]), {
      config: loadAppConfig({ env: {} }), log: createLogger({ level: 'warn' }), print: (l) => lines.push(l), signal: new AbortController().signal,
      out, mode: 'fast', startPipeline: startPipeline as unknown as StartPipeline,
    });
    type Result = { events: Array<{ kind: string; technique?: string; detected: boolean; time_to_detect_s: number | null }>; false_findings: number };
    const results = ['every-technique', 'new-binary', 'cryptominer'].map((name) => JSON.parse(readFileSync(path.join(out, `${name}.json`), 'utf8')) as Result);
    const summary = lines.join('\n');
    const events = results.flatMap((r) => r.events);
    for (const event of events) {
      expect(event.detected, `${event.kind} (${event.technique}) not detected:\n${summary}`).toBe(true);
      expect(event.time_to_detect_s, `${event.kind} detected late:\n${summary}`).toBeLessThanOrEqual(15);
    }
    expect(events.map((e) => e.technique)).toEqual(['T1110', 'T1595', 'T1190', 'T1048', 'T1021', 'T1499', 'T1059', 'T1496']);
    for (const r of results) expect(r.false_findings, summary).toBe(0);
  }, 1_500_000);
});
