/** A TF.js IO handler that saves a layers model to, and loads it from, a directory (model.json + weights.bin). */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { tf } from '../tf.ts';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

type Artifacts = tf.io.ModelArtifacts;

export function directoryIoHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: Artifacts): Promise<tf.io.SaveResult> {
      await mkdir(dir, { recursive: true });
      const weights = artifacts.weightData
        ? Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData))
        : Buffer.alloc(0);
      const modelJson = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology,
        trainingConfig: artifacts.trainingConfig,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(path.join(dir, WEIGHTS_BIN), weights);
      await writeFile(path.join(dir, MODEL_JSON), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<Artifacts> {
      const modelJson = JSON.parse(await readFile(path.join(dir, MODEL_JSON), 'utf8')) as tf.io.ModelJSON;
      const manifest = modelJson.weightsManifest ?? [];
      const specs = manifest.flatMap((group) => group.weights);
      const buffers = await Promise.all(manifest.flatMap((group) => group.paths).map((p) => readFile(path.join(dir, path.basename(p)))));
      const weights = Buffer.concat(buffers);
      const expected = specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * bytesPerElement(s.dtype), 0);
      if (weights.length !== expected) throw new Error(`${WEIGHTS_BIN} holds ${weights.length} bytes, the model needs ${expected}`);
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        trainingConfig: modelJson.trainingConfig,
        weightSpecs: specs,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length),
      };
    },
  };
}

function bytesPerElement(dtype: string): number {
  return dtype === 'bool' || dtype === 'uint8' ? 1 : dtype === 'float16' ? 2 : 4;
}
