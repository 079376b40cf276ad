/**
 * The retraining notebook, executed top to bottom with papermill against the local stack's MLflow: two window models
 * are trained and registered through the CLI (the second, trained on clean data, beats the first), then the notebook
 * reads the comparison back; its outputs are checked against what MLflow holds.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient } from '../core/mlflow.ts';
import { ensureStackUp, STACK_URLS } from '../deploy/local/stack.ts';
import { generateWindowVectors } from '../models/window/synthetic.fixture.ts';
import { removeModelAndExperiment } from '../models/registry/testing.ts';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..');
const name = `it-notebook-${Date.now().toString(36)}`;

interface Cell { cell_type: string; execution_count?: number | null; outputs?: Array<{ output_type: string; ename?: string }> }

describe('notebooks/retraining.ipynb', () => {
  let work: string;
  const env = () => ({ ...process.env, PEREGRINE_MLFLOW_URL: STACK_URLS.mlflow, PEREGRINE_LOG_LEVEL: 'warn', PEREGRINE_MODEL_CACHE: path.join(work, 'cache') });

  beforeAll(async () => {
    await ensureStackUp({ only: ['mlflow'], progress: 'silent' });
    work = await mkdtemp(path.join(tmpdir(), 'notebook-it-'));
    // Creates the notebook venv on first use (minutes); later runs find it.
    await run('bash', ['notebooks/run.sh', '--setup-only'], { cwd: repo, env: env(), maxBuffer: 1 << 24 });
    const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const train = (contamination: number) => generateWindowVectors({ seed: 1, entities: 20, windowsPerEntity: 60, anomalyRate: contamination, plantStrength: 'subtle' }).map((s) => s.vector);
    await writeFile(path.join(work, 'contaminated.jsonl'), jsonl(train(0.25)));
    await writeFile(path.join(work, 'clean.jsonl'), jsonl(train(0)));
    await writeFile(path.join(work, 'eval.jsonl'), jsonl(generateWindowVectors({ seed: 3, entities: 20, windowsPerEntity: 20, anomalyRate: 0.3, plantStrength: 'subtle' })
      .map((s) => ({ ...s.vector, label: s.planted ? 'anomalous' : 'normal' }))));
    for (const data of ['contaminated', 'clean']) {
      await run('node', ['bin/peregrine.js', 'train', 'window', '--input', path.join(work, `${data}.jsonl`), '--eval', path.join(work, 'eval.jsonl'),
        '--out', path.join(work, `model-${data}`), '--epochs', '15', '--register', name, '--experiment', `${name}-runs`, '--run-name', data], { cwd: repo, env: env() });
    }
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    await removeModelAndExperiment(new MlflowClient({ url: STACK_URLS.mlflow }), name, `${name}-runs`);
  });

  it('runs top to bottom and reports the champion/challenger comparison MLflow holds', async () => {
    const out = path.join(work, 'out');
    await run('bash', ['notebooks/run.sh', 'notebooks/retraining.ipynb', path.join(out, 'retraining.ipynb'),
      '-p', 'tracking_uri', STACK_URLS.mlflow, '-p', 'model_name', name, '-p', 'output_dir', out], { cwd: repo, env: env(), maxBuffer: 1 << 24 });

    const executed = JSON.parse(await readFile(path.join(out, 'retraining.ipynb'), 'utf8')) as { cells: Cell[] };
    const code = executed.cells.filter((c) => c.cell_type === 'code');
    expect(code.length).toBeGreaterThan(5);
    for (const cell of code) {
      expect(cell.execution_count).toBeGreaterThan(0);
      expect(cell.outputs?.filter((o) => o.output_type === 'error')).toEqual([]);
    }
    expect((await stat(path.join(out, 'score_distributions.png'))).size).toBeGreaterThan(5000);

    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ model: name, challenger_version: '2', champion_version: '1', decision: 'promoted', alias_now: '2', epochs: 15, rows: 400 });
    expect(summary.metrics.roc_auc.challenger).toBeGreaterThan(summary.metrics.roc_auc.champion);

    // The notebook's figures are MLflow's: same metrics, and the same disagreements counted from the logged scores.
    const client = new MlflowClient({ url: STACK_URLS.mlflow });
    const version = await client.getModelVersion(name, '2');
    const logged = await client.getRun(version!.run_id!);
    const metric = (key: string) => logged.data.metrics?.find((m) => m.key === key)?.value;
    expect(summary.metrics.roc_auc.challenger).toBeCloseTo(metric('eval_roc_auc')!, 12);
    expect(summary.metrics.roc_auc.champion).toBeCloseTo(metric('champion_eval_roc_auc')!, 12);
    const csv = async (file: string) => new TextDecoder().decode(await client.downloadArtifact(logged, file)).trim().split('\n').slice(1).map((l) => Number(l.split(',').at(-1)));
    const [challenger, champion] = await Promise.all([csv('evaluation/scores.csv'), csv('evaluation/champion_scores.csv')]);
    const disagreements = challenger.filter((s, i) => (s >= 95) !== (champion[i] >= 95)).length;
    expect(summary.disagreements).toBe(disagreements);
  });
});
