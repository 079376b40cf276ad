/** The request model's training run tracked in MLflow through the same trackTrainingRun (real MLflow, CSIC 2010 sample). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient } from '../../core/mlflow.ts';
import { ensureStackUp, STACK_URLS } from '../../deploy/local/stack.ts';
import { readJsonLines } from '../http/jsonl.ts';
import type { HttpRequest } from '../http/request.ts';
import { modelView } from '../http/view.ts';
import { httpTrainingJob } from './http-job.ts';
import { trackTrainingRun } from './track.ts';
import { sharedDataPath } from '../../core/testing/shared-data.ts';
import { removeModelAndExperiment } from './testing.ts';

const data = sharedDataPath('csic2010');
const name = `it-http-${Date.now().toString(36)}`;

async function read(file: string, limit: number, every = 1): Promise<Array<{ request: HttpRequest; label?: unknown }>> {
  const out: Array<{ request: HttpRequest; label?: unknown }> = [];
  let i = 0;
  for await (const item of readJsonLines(file)) {
    if ('error' in item || i++ % every !== 0) continue;
    out.push({ request: modelView(item.value), label: (item.value as { label?: unknown }).label });
    if (out.length >= limit) break;
  }
  return out;
}

describe('train http tracked in MLflow', () => {
  let work: string;
  beforeAll(async () => {
    await ensureStackUp({ only: ['mlflow'], progress: 'silent' });
    work = await mkdtemp(path.join(tmpdir(), 'http-mlflow-'));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
    await removeModelAndExperiment(new MlflowClient({ url: STACK_URLS.mlflow }), name, `${name}-runs`);
  });

  it('logs, registers and makes the first request model champion', async () => {
    const client = new MlflowClient({ url: STACK_URLS.mlflow });
    const train = (await read(path.join(data, 'train-normal.jsonl.gz'), 3000)).map((r) => r.request);
    const dev = await read(path.join(data, 'dev.jsonl.gz'), 1500, 7);
    const job = httpTrainingJob({
      requests: train, out: path.join(work, 'http'), createdAt: '2026-12-01T00:00:00.000Z', source: 'train-normal sample',
      evaluation: { requests: dev.map((r) => r.request), anomalous: dev.map((r) => r.label === 'anomalous') },
    });
    const result = await trackTrainingRun(job, { client, experiment: `${name}-runs`, registerAs: name, cacheDir: path.join(work, 'cache') });
    expect(result.decision).toBe('first');
    expect(result.metrics.roc_auc).toBeGreaterThan(0.8);
    const run = await client.getRun(result.runId);
    expect(run.data.tags?.find((t) => t.key === 'peregrine.kind')?.value).toBe('http-request');
    expect((await client.listArtifacts(run, 'plots')).map((f) => f.path).sort()).toEqual(['roc_curve.png', 'score_distribution.png']);
    expect((await client.listArtifacts(run, 'model')).map((f) => f.path)).toContain('manifest.json');
    expect((await client.getModelVersionByAlias(name, 'champion'))?.version).toBe('1');
  });
});
