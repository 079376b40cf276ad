import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PeregrineError } from '../../core/errors.ts';
import { initTf, tf, tfBackendName } from '../tf.ts';
import { featureFingerprint, loadModelPackage, ModelPackageError, readManifest, saveModelPackage, type ManifestInput } from './index.ts';

const fingerprint = featureFingerprint('test/1', ['a', 'b', 'c']);
const manifest: ManifestInput = {
  kind: 'test-autoencoder',
  createdAt: '2026-01-01T00:00:00.000Z',
  featureSchema: { fingerprint, names: ['a', 'b', 'c'] },
  scaling: { mean: [0, 0, 0], std: [1, 1, 1] },
  calibration: { threshold: 0.5 },
  trainingData: { rows: 10, from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' },
  metrics: { loss: 0.1 },
};

function tinyNetwork(): tf.LayersModel {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }), tf.layers.dense({ units: 3 })] });
  model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  return model;
}

const predict = (m: tf.LayersModel) => tf.tidy(() => Array.from((m.predict(tf.tensor2d([[1, 2, 3], [0.5, -1, 2]])) as tf.Tensor).dataSync()));

let dir: string;
beforeAll(async () => {
  await initTf();
});
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('TF.js backend selection', () => {
  it('runs on a real backend and names it', async () => {
    const name = await initTf();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(name);
    expect(tfBackendName()).toBe(name);
  });
});

describe('model package', () => {
  it('round-trips a TF.js network, its manifest and artifacts', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'peregrine-pkg-'));
    const network = tinyNetwork();
    const saved = await saveModelPackage(dir, { manifest, network, artifacts: { 'extra.json': '{"k":1}', 'blob.bin': new Uint8Array([1, 2, 3]) } });
    expect(saved.files['weights.bin'].bytes).toBeGreaterThan(0);
    expect(saved.libraries['@tensorflow/tfjs']).toBe('4.22.0');
    const loaded = await loadModelPackage(dir, { kind: 'test-autoencoder', fingerprint });
    expect(loaded.manifest.featureSchema.names).toEqual(['a', 'b', 'c']);
    expect(loaded.manifest.calibration).toEqual({ threshold: 0.5 });
    expect(loaded.artifactJson('extra.json')).toEqual({ k: 1 });
    expect([...loaded.artifact('blob.bin')]).toEqual([1, 2, 3]);
    const a = predict(network), b = predict(loaded.network!);
    b.forEach((v, i) => expect(v).toBeCloseTo(a[i], 6));
  });

  it('works without a network', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'peregrine-pkg-'));
    await saveModelPackage(dir, { manifest, artifacts: { 'p.json': '[]' } });
    const loaded = await loadModelPackage(dir);
    expect(loaded.network).toBeUndefined();
    expect(loaded.manifest.hasNetwork).toBe(false);
  });

  it('refuses another kind and another feature schema, saying which', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'peregrine-pkg-'));
    await saveModelPackage(dir, { manifest, network: tinyNetwork() });
    await expect(loadModelPackage(dir, { kind: 'http-request' })).rejects.toThrow(/is a "test-autoencoder" model, expected "http-request"/);
    const other = featureFingerprint('test/2', ['a', 'b', 'c']);
    await expect(loadModelPackage(dir, { fingerprint: other })).rejects.toThrow(`feature schema fingerprint mismatch: the model was trained on ${fingerprint}`);
  });

  it('reports missing, truncated and invalid files as ModelPackageError', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'peregrine-pkg-'));
    await expect(loadModelPackage(dir)).rejects.toThrow(/no manifest\.json/);
    await saveModelPackage(dir, { manifest, network: tinyNetwork() });
    const weights = path.join(dir, 'weights.bin');
    const bytes = await readFile(weights);
    await writeFile(weights, bytes.subarray(0, 4));
    const error = await loadModelPackage(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelPackageError);
    expect(error).toBeInstanceOf(PeregrineError);
    expect((error as Error).message).toMatch(/weights\.bin is corrupt/);
    await writeFile(weights, bytes);
    await writeFile(path.join(dir, 'manifest.json'), '{"format":');
    await expect(readManifest(dir)).rejects.toThrow(/manifest\.json is not valid JSON/);
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ format: 'peregrine-model-package', formatVersion: 1 }));
    await expect(readManifest(dir)).rejects.toThrow(/manifest\.json is invalid at kind/);
  });

  it('rejects artifact names that would escape the directory', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'peregrine-pkg-'));
    await expect(saveModelPackage(dir, { manifest, artifacts: { '../x.json': '{}' } })).rejects.toThrow(/invalid artifact name/);
  });
});
