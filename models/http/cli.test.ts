import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticAttacks, syntheticRows } from './synthetic.ts';

const run = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/peregrine.js');
const peregrine = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: { ...process.env, PEREGRINE_LOG_LEVEL: 'warn' }, maxBuffer: 64 << 20 });

describe('peregrine train|score|eval http', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'peregrine-http-cli-'));
    const train = syntheticRows(1500, 11).map((r) => JSON.stringify(r));
    train.splice(3, 0, '{"req_method": "GET", "req_path": '); // line 4: broken JSON
    train.splice(9, 0, '{"req_path": "/x"}'); // line 10: no method
    await writeFile(path.join(dir, 'train.jsonl.gz'), gzipSync(train.join('\n') + '\n'));
    const test = [...syntheticRows(40, 12, 't'), ...syntheticAttacks()].map((r) => JSON.stringify(r));
    test.splice(5, 0, 'not json'); // line 6
    await writeFile(path.join(dir, 'test.jsonl'), test.join('\n') + '\n');
  }, 30_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('trains, reporting malformed rows by line number and a summary', async () => {
    const { stderr } = await peregrine('train', 'http', '--input', path.join(dir, 'train.jsonl.gz'), '--out', path.join(dir, 'model'));
    expect(stderr).toContain('line 4: skipped malformed row: not valid JSON');
    expect(stderr).toContain('line 10: skipped malformed row: req_method is missing or not a string');
    expect(stderr).toMatch(/trained http model: 1500 rows, 2 malformed rows skipped \(lines 4, 10\)/);
  }, 120_000);

  it('scores one line per usable row, in input order, as the live detector does: model score, risk, alert, signature hits', async () => {
    const { stdout, stderr } = await peregrine('score', 'http', '--model', path.join(dir, 'model'), '--input', path.join(dir, 'test.jsonl'));
    type Line = { id: string; score: number; risk: number; alert: boolean; signatures: Array<{ kind: string; field: string; fragment: string; start: number; end: number }> };
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    const attacks = syntheticAttacks();
    expect(lines.map((l) => l.id)).toEqual([...syntheticRows(40, 12, 't'), ...attacks].map((r) => r.id));
    for (const l of lines) expect(Object.keys(l)).toEqual(['id', 'score', 'risk', 'alert', 'signatures']);
    // Normal rows carry no attack grammar; this small model may still find one of them odd (an unseen quantity).
    for (const l of lines.slice(0, 40)) expect(l.signatures).toEqual([]);
    expect(lines.slice(0, 40).filter((l) => l.alert).length).toBeLessThanOrEqual(1);
    // The injection is caught by its grammar too, with the raw fragment and its offsets in the parameter.
    const sqli = lines.find((l) => l.id === 'sqli')!;
    expect(sqli.alert).toBe(true);
    expect(sqli.signatures[0]).toMatchObject({ kind: 'sql_injection', field: 'name', fragment: '%27+OR+%271%27%3D%271', start: 3, end: 24 });
    expect(sqli.risk).toBeGreaterThanOrEqual(80);
    expect(stderr).toContain('line 6: skipped malformed row: not valid JSON');
    expect(stderr).toContain('scored 49 rows, 1 malformed rows skipped');
    const worstNormal = Math.max(...lines.slice(0, 40).map((l) => l.score));
    for (const l of lines.slice(40)) expect(l.score).toBeGreaterThan(worstNormal);
  }, 60_000);

  it('scores with signatures alone without a model', async () => {
    const { stdout } = await peregrine('score', 'http', '--input', path.join(dir, 'test.jsonl'));
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; score: null; alert: boolean });
    expect(lines.filter((l) => l.alert).map((l) => l.id)).toEqual(['sqli']);
    expect(lines.every((l) => l.score === null)).toBe(true);
  }, 60_000);

  it('evaluates with --json, with and without shortcut requests', async () => {
    const { stdout } = await peregrine('eval', 'http', '--model', path.join(dir, 'model'), '--input', path.join(dir, 'test.jsonl'), '--json');
    const report = JSON.parse(stdout);
    expect(report.rows).toBe(49);
    expect(report.malformedRows).toBe(1);
    expect(report.shortcutRows).toBe(2); // a new route and a PUT
    const full = report.sets.full;
    expect(full.all.anomalies).toBe(9);
    expect(full.withoutShortcuts.anomalies).toBe(7);
    expect(full.all.rocAuc).toBe(1);
    expect(full.all.operatingPoints.map((o: { maxFpr: number }) => o.maxFpr)).toEqual([0.01, 0.03, 0.005, 0.001]);
    expect(Object.keys(report.sets)).toEqual(['full', 'tune', 'holdout']);
    expect(report.anchors).toHaveLength(3);
    // The live detector's alerting beside the model: per FPR setting, model, signatures and combined.
    const points = report.detector.sets.full.all as Array<{ falsePositiveRate: number; signatures: { tpr: number; fpr: number }; combined: { tpr: number } }>;
    expect(points.map((p) => p.falsePositiveRate)).toEqual([0.01, 0.001, 0.0001]);
    expect(points[1].signatures).toEqual({ tpr: 1 / 9, fpr: 0 });
    expect(points[1].combined.tpr).toBeGreaterThanOrEqual(points[1].signatures.tpr);
  }, 60_000);

  it('says clearly when the model directory is not a package', async () => {
    const error = await peregrine('score', 'http', '--model', path.join(dir, 'nope'), '--input', path.join(dir, 'test.jsonl')).catch((e: { stderr: string; code: number }) => e);
    expect((error as { code: number }).code).toBe(2);
    expect((error as { stderr: string }).stderr).toMatch(/peregrine: model package .*nope: no manifest\.json/);
    expect((error as { stderr: string }).stderr).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);
});
