import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf.ts';
import { DenseForward } from './forward.ts';
import { WindowModel } from './model.ts';
import { generateWindowVectors } from './synthetic.fixture.ts';

describe('entity-window autoencoder', () => {
  let model: WindowModel;
  let dir: string;
  const train = generateWindowVectors({ seed: 1, entities: 20, windowsPerEntity: 100 }).map((s) => s.vector);
  const test = generateWindowVectors({ seed: 2, entities: 20, windowsPerEntity: 40, anomalyRate: 0.05 });

  beforeAll(async () => {
    model = await WindowModel.train(train, { seed: 7, epochs: 20, batchSize: 128 });
    dir = await mkdtemp(path.join(tmpdir(), 'window-model-'));
  }, 180_000);
  afterAll(async () => {
    model?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('learns a falling loss and stores log scaling for heavy-tailed features', () => {
    expect(model.history).toHaveLength(20);
    expect(model.history.at(-1)!.loss).toBeLessThan(model.history[0].loss);
    const transforms = Object.fromEntries(model.scaling.features.map((f) => [f.name, f.transform]));
    expect(transforms.error_count).toBe('log1p');
    expect(transforms.latency_max_ms).toBe('log1p');
  });

  it('scores planted anomalies high, normal windows mostly low, and explains with the planted feature', () => {
    const results = model.scoreVectors(test.map((s) => s.vector));
    const planted = test.map((s, i) => ({ s, r: results[i] })).filter(({ s }) => s.planted);
    const normal = test.map((s, i) => ({ s, r: results[i] })).filter(({ s }) => !s.planted);
    expect(planted.length).toBeGreaterThan(20);
    for (const { r } of planted) expect(r.score).toBeGreaterThan(90);
    const lowShare = normal.filter(({ r }) => r.score < 70).length / normal.length;
    expect(lowShare).toBeGreaterThan(0.6);
    expect(normal.filter(({ r }) => r.score > 99).length / normal.length).toBeLessThan(0.02);
    const explained = planted.filter(({ s, r }) => r.contributions[0].feature === s.planted).length;
    expect(explained / planted.length).toBeGreaterThan(0.9);
    const top = planted[0].r.contributions[0];
    const shares = planted[0].r.contributions.reduce((sum, c) => sum + c.share, 0);
    expect(shares).toBeCloseTo(1, 5);
    expect(top.actual).toBe(planted[0].s.vector.values[planted[0].s.vector.featureNames.indexOf(top.feature)]);
    expect(Number.isFinite(top.typical) && Number.isFinite(top.expected)).toBe(true);
  });

  it('scores the same with the fused forward pass as with TF.js predict', () => {
    const vectors = test.slice(0, 500).map((s) => s.vector);
    const d = model.featureNames.length;
    const x = new Float32Array(vectors.length * d);
    vectors.forEach((v, i) => model.scaleInto(v, x, i * d));
    const js = model.reconstruct(x, vectors.length, 'js');
    const tfjs = model.reconstruct(x, vectors.length, 'tfjs');
    let worst = 0;
    for (let k = 0; k < js.length; k++) worst = Math.max(worst, Math.abs(js[k] - tfjs[k]) / (1 + Math.abs(tfjs[k])));
    expect(worst).toBeLessThan(1e-4);
    const forward = new DenseForward(model.network);
    const layered = forward.predictLayered(x, vectors.length);
    for (let k = 0; k < js.length; k++) expect(Math.abs(js[k] - layered[k])).toBeLessThan(1e-5);
  });

  it('serialises a result with its contributions', () => {
    const [r] = model.scoreVectors([test[0].vector]);
    const json = JSON.parse(JSON.stringify(r));
    expect(json).toMatchObject({ entityId: test[0].vector.entityId, windowStartMs: test[0].vector.windowStartMs, score: r.score });
    expect(json.contributions).toHaveLength(7);
    expect(json.contributions[0].feature).toBe(r.contributions[0].feature);
  });

  it('keeps no tensors behind while scoring', () => {
    model.engine = 'tfjs';
    const before = tf.memory().numTensors;
    for (let k = 0; k < 5; k++) model.scoreVectors(test.slice(0, 300).map((s) => s.vector));
    expect(tf.memory().numTensors).toBe(before);
    model.engine = 'js';
  });

  it('saves and loads to the same scores; maps features by name', async () => {
    await model.save(dir, { createdAt: '2026-12-01T00:00:00.000Z', trainingData: { rows: train.length } });
    const loaded = await WindowModel.load(dir);
    const vectors = test.slice(0, 50).map((s) => s.vector);
    const a = model.scoreVectors(vectors).map((r) => r.score);
    expect(loaded.scoreVectors(vectors).map((r) => r.score)).toEqual(a);
    const reordered = vectors.map((v) => ({ ...v, featureNames: [...v.featureNames].reverse(), values: [...v.values].reverse() }));
    expect(loaded.scoreVectors(reordered).map((r) => r.score)).toEqual(a);
    expect(() => loaded.scoreVectors([{ ...vectors[0], featureNames: ['request_count'], values: [1] }])).toThrow(/has no feature error_count/);
    loaded.dispose();
  });

  it('refuses a package trained on another feature schema, and a corrupt one', async () => {
    const manifestFile = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    await writeFile(manifestFile, JSON.stringify({ ...manifest, featureSchema: { ...manifest.featureSchema, fingerprint: 'deadbeef' } }));
    await expect(WindowModel.load(dir)).rejects.toThrow(/feature schema fingerprint mismatch: the model was trained on deadbeef/);
    await writeFile(manifestFile, JSON.stringify(manifest));
    await writeFile(path.join(dir, 'weights.bin'), 'x');
    await expect(WindowModel.load(dir)).rejects.toThrow(/weights.bin is corrupt/);
  });
});
