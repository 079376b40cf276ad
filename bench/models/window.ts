/**
 * Scoring throughput of the entity-window model in batches, per core: the TF.js (wasm) backend runs on the calling
 * thread, so vectors per second of this process's CPU time is the per-core figure (a busy machine does not skew it).
 */
import type { FeatureVector } from '../../schemas/feature-vector.ts';
import { tfBackendName } from '../../models/tf.ts';
import { WindowModel } from '../../models/window/model.ts';
import { generateWindowVectors } from '../../models/window/synthetic.fixture.ts';

export interface WindowBenchFigures {
  /** scoreVectors per CPU second: scaling, network, calibrated score, result objects (contributions on demand). */
  windowVectorsPerSecond: number;
  windowVectorsPerWallSecond: number;
  /** The same with every vector's contributions read (what `score window` pays; a detector reads only its findings'). */
  windowWithContributionsVectorsPerSecond: number;
  /** Scores only (columns, no contribution objects): what a detector pays before it explains a finding. */
  windowScoreOnlyVectorsPerSecond: number;
  windowBatchSize: number;
  windowVectors: number;
  windowBackend: string;
}

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

export async function benchWindowModel(options: { vectors?: number; batchSize?: number } = {}): Promise<WindowBenchFigures> {
  const total = options.vectors ?? 400_000;
  const batchSize = options.batchSize ?? 8192;
  const model = await WindowModel.train(generateWindowVectors({ seed: 1, entities: 20, windowsPerEntity: 50 }).map((s) => s.vector), { epochs: 3, seed: 1 });
  const pool: FeatureVector[] = generateWindowVectors({ seed: 2, entities: 50, windowsPerEntity: Math.ceil(batchSize / 50), anomalyRate: 0.02 }).map((s) => s.vector).slice(0, batchSize);
  const d = model.featureNames.length;
  const x = new Float32Array(batchSize * d);
  const batches = Math.ceil(total / batchSize);
  let checksum = 0;
  // Warm-up: JIT and the wasm kernels' first calls.
  for (let i = 0; i < 3; i++) checksum += model.scoreVectors(pool)[0].score;

  let cpu = process.cpuUsage();
  let wall = performance.now();
  for (let b = 0; b < batches; b++) checksum += model.scoreVectors(pool)[b % batchSize].score;
  const fullCpu = cpuSeconds(process.cpuUsage(cpu));
  const fullWall = (performance.now() - wall) / 1000;

  cpu = process.cpuUsage();
  for (let b = 0; b < batches; b++) {
    const results = model.scoreVectors(pool);
    for (const r of results) checksum += r.contributions[0].share;
  }
  const explainedCpu = cpuSeconds(process.cpuUsage(cpu));

  cpu = process.cpuUsage();
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < batchSize; i++) model.scaleInto(pool[i], x, i * d);
    checksum += model.scoreMatrix(x, batchSize).scores[b % batchSize];
  }
  const onlyCpu = cpuSeconds(process.cpuUsage(cpu));
  model.dispose();
  if (!Number.isFinite(checksum)) throw new Error('benchmark produced a non-finite score');
  const scored = batches * batchSize;
  return {
    windowVectorsPerSecond: Math.round(scored / fullCpu),
    windowVectorsPerWallSecond: Math.round(scored / fullWall),
    windowWithContributionsVectorsPerSecond: Math.round(scored / explainedCpu),
    windowScoreOnlyVectorsPerSecond: Math.round(scored / onlyCpu),
    windowBatchSize: batchSize,
    windowVectors: scored,
    windowBackend: tfBackendName() ?? 'none',
  };
}
