/**
 * The training job against the real MLflow of the local stack: runs with params, per-epoch metrics, evaluation
 * metrics and artifacts; versions registered; the champion alias moves only to a better model on the same
 * evaluation data; models:/NAME@champion loads; `peregrine models` reads and changes the registry.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient } from '../../core/mlflow.ts';
import { ensureStackUp, STACK_URLS } from '../../deploy/local/stack.ts';
import type { InputRow } from '../window/input.ts';
import { prepareWindowData, windowTrainingJob } from '../window/job.ts';
import { WindowModel } from '../window/model.ts';
import { generateWindowVectors } from '../window/synthetic.fixture.ts';
import { resolveModelDir } from './artifacts.ts';
import { trackTrainingRun, type TrackResult } from './track.ts';
import { removeModelAndExperiment } from './testing.ts';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../..');
const name = `it-window-${Date.now().toString(36)}`;
const experiment = `it-window-${Date.now().toString(36)}`;

/** Training rows where a share of the windows carry (unlabelled) subtle anomalies: more contamination, worse model. */
const trainingRows = (contamination: number): InputRow[] =>
  generateWindowVectors({ seed: 1, entities: 20, windowsPerEntity: 60, anomalyRate: contamination, plantStrength: 'subtle' })
    .map((s, i) => ({ line: i + 1, vector: s.vector }));
const evalRows: InputRow[] = generateWindowVectors({ seed: 3, entities: 20, windowsPerEntity: 20, anomalyRate: 0.3, plantStrength: 'subtle' })
  .map((s, i) => ({ line: i + 1, vector: s.vector, label: s.planted ? 'anomalous' : 'normal' }));

describe('window training runs tracked in MLflow', () => {
  let client: MlflowClient;
  let work: string;
  const results: TrackResult[] = [];

  const trainTracked = async (label: string, contamination: number) => {
    const out = path.join(work, label);
    const job = windowTrainingJob({
      data: prepareWindowData(trainingRows(contamination), evalRows, 1), out, createdAt: '2026-12-01T00:00:00.000Z', source: label,
      train: { epochs: 15, seed: 1 },
    });
    const result = await trackTrainingRun(job, { client, experiment, runName: label, registerAs: name, cacheDir: path.join(work, 'cache') });
    job.model?.dispose();
    results.push(result);
    return result;
  };

  beforeAll(async () => {
    await ensureStackUp({ only: ['mlflow'], progress: 'silent' });
    client = new MlflowClient({ url: STACK_URLS.mlflow });
    work = await mkdtemp(path.join(tmpdir(), 'window-mlflow-'));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    // Leave the shared MLflow as we found it.
    if (client) await removeModelAndExperiment(client, name, experiment);
  });

  it('logs the first run fully, registers version 1 and makes it champion', async () => {
    const first = await trainTracked('contaminated-25', 0.25);
    expect(first.decision).toBe('first');
    expect(first.version?.version).toBe('1');
    expect(first.version?.source).toBe(`${first.artifactUri}/model`);
    expect((await client.getModelVersionByAlias(name, 'champion'))?.version).toBe('1');

    const logged = await client.getRun(first.runId);
    expect(logged.info.status).toBe('FINISHED');
    const params = Object.fromEntries((logged.data.params ?? []).map((p) => [p.key, p.value]));
    expect(params).toMatchObject({ epochs: '15', seed: '1', eval_planted_anomalies: 'false' });
    const metrics = Object.fromEntries((logged.data.metrics ?? []).map((m) => [m.key, m.value]));
    expect(metrics.eval_roc_auc).toBeGreaterThan(0.8);
    expect(metrics.eval_rows).toBe(evalRows.length);
    const history = await fetch(`${STACK_URLS.mlflow}/api/2.0/mlflow/metrics/get-history?run_id=${first.runId}&metric_key=loss`).then((r) => r.json()) as { metrics: Array<{ step: number; value: number }> };
    expect(history.metrics.map((m) => m.step).sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i));

    const files = async (dir: string) => (await client.listArtifacts(logged, dir)).map((f) => f.path).sort();
    expect(await files('plots')).toEqual(['loss_curve.png', 'roc_curve.png', 'score_distribution.png']);
    expect(await files('model')).toEqual(['manifest.json', 'model.json', 'weights.bin']);
    const png = await client.downloadArtifact(logged, 'plots/roc_curve.png');
    expect(Buffer.from(png.subarray(1, 4)).toString()).toBe('PNG');
    const csv = new TextDecoder().decode(await client.downloadArtifact(logged, 'evaluation/scores.csv'));
    expect(csv.trim().split('\n')).toHaveLength(evalRows.length + 1);
  });

  it('keeps the champion when a worse challenger comes, and records the comparison on its run', async () => {
    const worse = await trainTracked('contaminated-60', 0.6);
    expect(worse.decision).toBe('kept');
    expect(worse.version?.version).toBe('2');
    expect(worse.championMetric).toBeGreaterThan(worse.challengerMetric);
    expect((await client.getModelVersionByAlias(name, 'champion'))?.version).toBe('1');
    const logged = await client.getRun(worse.runId);
    const tags = Object.fromEntries((logged.data.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags['peregrine.comparison.decision']).toBe('kept');
    expect(tags['peregrine.comparison.champion_version']).toBe('1');
    const metrics = Object.fromEntries((logged.data.metrics ?? []).map((m) => [m.key, m.value]));
    // The champion was scored on this run's evaluation data: its metric equals the first run's on the same file.
    expect(metrics.comparison_champion_roc_auc).toBeCloseTo(results[0].challengerMetric, 10);
    expect(metrics.comparison_delta).toBeLessThan(0);
    expect(metrics.comparison_promoted).toBe(0);
  });

  it('moves the champion to a better challenger', async () => {
    const better = await trainTracked('clean', 0);
    expect(better.decision).toBe('promoted');
    expect(better.challengerMetric).toBeGreaterThan(better.championMetric!);
    expect((await client.getModelVersionByAlias(name, 'champion'))?.version).toBe('3');
    const tags = Object.fromEntries(((await client.getRun(better.runId)).data.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags['peregrine.comparison.decision']).toBe('promoted');
  });

  it('loads models:/NAME@champion from MLflow, scoring like the local package', async () => {
    const { dir, version } = await resolveModelDir(`models:/${name}@champion`, () => client, path.join(work, 'cache2'));
    expect(version?.version).toBe('3');
    const [remote, local] = await Promise.all([WindowModel.load(dir), WindowModel.load(path.join(work, 'clean'))]);
    const vectors = evalRows.slice(0, 30).map((r) => r.vector);
    expect(remote.scoreVectors(vectors).map((r) => r.score)).toEqual(local.scoreVectors(vectors).map((r) => r.score));
    remote.dispose();
    local.dispose();
    await expect(resolveModelDir(`models:/${name}@nosuch`, () => client)).rejects.toThrow(`has no alias "nosuch"`);
  });

  it('reads and changes the registry from the command line', async () => {
    const env = { ...process.env, PEREGRINE_MLFLOW_URL: STACK_URLS.mlflow, PEREGRINE_MODEL_CACHE: path.join(work, 'cli-cache'), PEREGRINE_LOG_LEVEL: 'warn' };
    const cli = (...args: string[]) => run('node', ['bin/peregrine.js', ...args], { cwd: repo, env });
    const input = path.join(work, 'score.jsonl');
    await writeFile(input, evalRows.slice(0, 5).map((r) => JSON.stringify(r.vector)).join('\n') + '\nnot json\n');
    const scored = await cli('score', 'window', '--model', `models:/${name}@champion`, '--input', input);
    const lines = scored.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({ entityId: evalRows[0].vector.entityId, windowStartMs: evalRows[0].vector.windowStartMs });
    expect(lines[0].contributions).toHaveLength(7);
    expect(scored.stderr).toMatch(/score\.jsonl:6: skipped malformed row/);

    const shown = JSON.parse((await cli('models', 'show', name, '--json')).stdout);
    expect(shown.aliases).toEqual({ champion: '3' });
    expect(shown.versions.map((v: { version: string }) => v.version)).toEqual(['3', '2', '1']);
    const version = JSON.parse((await cli('models', 'show', name, '--version', '2', '--json')).stdout);
    expect(version.tags['peregrine.comparison.decision']).toBe('kept');
    const promoted = await cli('models', 'promote', name, '1');
    expect(promoted.stdout).toContain(`${name}@champion: version 3 -> version 1`);
    expect((await client.getModelVersionByAlias(name, 'champion'))?.version).toBe('1');
    expect((await cli('models', 'list')).stdout).toMatch(new RegExp(`${name}\\s+3\\s+@champion=v1`));
    await expect(cli('models', 'list', '--mlflow', 'http://127.0.0.1:5999')).rejects.toMatchObject({ stderr: expect.stringContaining('http://127.0.0.1:5999 unreachable') });
  });
});
