// MLflow through core/mlflow.ts against the real server `peregrine stack up` runs.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient, MlflowError } from '../../core/mlflow.ts';
import { UnavailableError } from '../../core/errors.ts';
import { ensureStackUp, STACK_URLS } from './stack.ts';

const client = new MlflowClient({ url: STACK_URLS.mlflow });
const suffix = randomUUID().slice(0, 8);

beforeAll(async () => {
  await ensureStackUp({ only: ['mlflow'], progress: 'plain' });
});

describe('MLflow tracking and registry', () => {
  it('keeps an experiment, a run with metrics/params/tags, and its artifacts', async () => {
    const name = `peregrine-it-${suffix}`;
    expect(await client.getExperimentByName(name)).toBeUndefined();
    const experiment = await client.getOrCreateExperiment(name);
    expect(experiment.name).toBe(name);
    // Idempotent: the second call finds the same experiment.
    expect((await client.getOrCreateExperiment(name)).experiment_id).toBe(experiment.experiment_id);

    const run = await client.createRun({ experimentId: experiment.experiment_id, runName: 'train', tags: [{ key: 'stage', value: 'test' }] });
    expect(run.info.status).toBe('RUNNING');
    expect(run.info.artifact_uri).toMatch(/^mlflow-artifacts:\//);

    // 1,200 metric points need two log-batch requests (limit 1,000 per request).
    const points = Array.from({ length: 1200 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), timestamp: 1_700_000_000_000 + step, step }));
    await client.logBatch(run.info.run_id, { metrics: points, params: [{ key: 'window_s', value: '60' }] });
    await client.logMetric(run.info.run_id, 'auc', 0.93, { step: 1 });
    await client.logParams(run.info.run_id, { lr: 0.001 });
    await client.setTag(run.info.run_id, 'feature_fingerprint', 'abc123');

    const bytes = new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256));
    await client.uploadArtifact(run, 'model/weights.bin', bytes);
    await client.uploadArtifact(run, 'model/model.json', JSON.stringify({ format: 'layers-model' }), 'application/json');
    expect(Buffer.from(await client.downloadArtifact(run, 'model/weights.bin')).equals(Buffer.from(bytes))).toBe(true);
    expect(JSON.parse(Buffer.from(await client.downloadArtifact(run, 'model/model.json')).toString())).toEqual({ format: 'layers-model' });
    const listed = await client.listArtifacts(run, 'model');
    expect(listed.map((f) => f.path).sort()).toEqual(['model.json', 'weights.bin']);

    const finished = await client.finishRun(run.info.run_id);
    expect(finished.status).toBe('FINISHED');

    const stored = await client.getRun(run.info.run_id);
    const metrics = Object.fromEntries((stored.data.metrics ?? []).map((m) => [m.key, m]));
    expect(metrics.auc.value).toBeCloseTo(0.93);
    // Latest value of loss is the one at the last step.
    expect(metrics.loss.step).toBe(1199);
    const params = Object.fromEntries((stored.data.params ?? []).map((p) => [p.key, p.value]));
    expect(params).toEqual({ window_s: '60', lr: '0.001' });
    expect(stored.data.tags?.find((t) => t.key === 'feature_fingerprint')?.value).toBe('abc123');
    expect(stored.info.status).toBe('FINISHED');

    // Params are immutable: changing one is an MLflow error with its code.
    await expect(client.logParams(run.info.run_id, { lr: 0.5 })).rejects.toMatchObject({ name: 'MlflowError', errorCode: 'INVALID_PARAMETER_VALUE' });

    // ---- registry: a model version made from the run's artifacts, and an alias on it.
    const modelName = `peregrine-it-model-${suffix}`;
    expect(await client.getRegisteredModel(modelName)).toBeUndefined();
    const model = await client.getOrCreateRegisteredModel(modelName, { description: 'integration test' });
    expect(model.name).toBe(modelName);
    const v1 = await client.createModelVersion({ name: modelName, source: `${run.info.artifact_uri}/model`, runId: run.info.run_id });
    expect(v1.version).toBe('1');
    expect(v1.source).toBe(`${run.info.artifact_uri}/model`);
    expect(v1.run_id).toBe(run.info.run_id);
    const v2 = await client.createModelVersion({ name: modelName, source: `${run.info.artifact_uri}/model`, runId: run.info.run_id });
    expect(v2.version).toBe('2');

    expect(await client.getModelVersionByAlias(modelName, 'champion')).toBeUndefined();
    await client.setAlias(modelName, 'champion', v1.version);
    expect((await client.getModelVersionByAlias(modelName, 'champion'))?.version).toBe('1');
    await client.setAlias(modelName, 'champion', v2.version);
    expect((await client.getModelVersionByAlias(modelName, 'champion'))?.version).toBe('2');
    await client.deleteAlias(modelName, 'champion');
    expect(await client.getModelVersionByAlias(modelName, 'champion')).toBeUndefined();

    const versions = await client.searchModelVersions(modelName);
    expect(versions.map((v) => v.version).sort()).toEqual(['1', '2']);
    expect((await client.getModelVersion(modelName, '1'))?.run_id).toBe(run.info.run_id);
  });

  it('says which error MLflow gave for a missing run', async () => {
    const error = await client.getRun('0'.repeat(32)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowError);
    expect((error as MlflowError).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    expect((error as MlflowError).retryable).toBe(false);
  });

  it('names the URL when nothing listens', async () => {
    const nowhere = new MlflowClient({ url: 'http://127.0.0.1:9', timeoutMs: 2000 });
    const error = await nowhere.getExperimentByName('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain('http://127.0.0.1:9');
    expect((error as UnavailableError).retryable).toBe(true);
  });
});
