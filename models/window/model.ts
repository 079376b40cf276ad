/**
 * The entity-window model: a small dense autoencoder (TF.js) over per-entity window feature vectors.
 * Inputs are scaled with the stored robust scaling (log1p for heavy tails), the reconstruction error is mapped onto a
 * calibrated 0-100 score, and each score comes with per-feature contributions (share of the error, actual vs typical
 * and expected value in original units) that detectors use to explain findings.
 */
import { z } from 'zod';
import { FEATURE_SCHEMA_FINGERPRINT, type FeatureVector } from '../../schemas/feature-vector.ts';
import { loadModelPackage, ModelPackageError, saveModelPackage, type ModelManifest } from '../package/index.ts';
import { initTf, tf } from '../tf.ts';
import { DenseForward } from './forward.ts';
import { calibratedScore, fitCalibration, type Calibration } from './calibration.ts';
import { seededRandom, shuffleInPlace } from './random.ts';
import { fitScaling, scaleValue, unscaleValue, type Scaling } from './scaling.ts';

export const WINDOW_MODEL_KIND = 'entity-window-autoencoder';
/** Score at and above which a window is reported as anomalous (unless a package says otherwise). */
export const DEFAULT_ALERT_SCORE = 95;
/** Training inputs are clipped here so a few extreme windows do not dominate the fit; scoring is not clipped. */
const TRAIN_CLIP = 10;

export interface WindowTrainOptions {
  epochs?: number;
  batchSize?: number;
  hidden?: number;
  bottleneck?: number;
  learningRate?: number;
  /** Share of the rows held out for validation loss and calibration. */
  validationFraction?: number;
  seed?: number;
  alertScore?: number;
  onEpoch?: (epoch: number, metrics: EpochMetrics) => void | Promise<void>;
}

export interface EpochMetrics { loss: number; valLoss: number }

export interface Contribution {
  feature: string;
  /** This feature's share of the reconstruction error, 0-1; shares of a vector sum to 1. */
  share: number;
  actual: number;
  /** The training median. */
  typical: number;
  /** What the autoencoder reconstructed (what the rest of the vector makes plausible). */
  expected: number;
}

export interface WindowScore {
  readonly entityId: string;
  readonly windowStartMs: number;
  readonly score: number;
  readonly error: number;
  /** Sorted by share, largest first. */
  readonly contributions: Contribution[];
}

/** Scores of a batch in columns (the fast path: no objects per vector). */
export interface ScoreColumns {
  scores: Float64Array;
  errors: Float64Array;
  /** n x d squared errors per feature, row-major. */
  featureErrors: Float32Array;
  /** n x d reconstruction in scaled units, row-major. */
  reconstruction: Float32Array;
}

const Architecture = z.object({ inputs: z.number().int().positive(), hidden: z.number().int().positive(), bottleneck: z.number().int().positive() });
const ScalingSchema = z.object({
  features: z.array(z.object({
    name: z.string(), transform: z.enum(['log1p', 'identity']), center: z.number(), scale: z.number().positive(), typical: z.number(),
  })),
});
const CalibrationSchema = z.object({ quantiles: z.array(z.number()).min(2), rows: z.number().int().positive() });
const WindowExtra = z.object({ alertScore: z.number(), architecture: Architecture, history: z.array(z.object({ loss: z.number(), valLoss: z.number() })).optional() }).loose();

/** `js`: the fused forward pass over the network's weights (default, fast); `tfjs`: network.predict. */
export type ScoringEngine = 'js' | 'tfjs';

export class WindowModel {
  private lastNames: readonly string[] | undefined;
  private forward: DenseForward | undefined;
  engine: ScoringEngine = process.env.PEREGRINE_WINDOW_ENGINE === 'tfjs' ? 'tfjs' : 'js';

  private constructor(
    readonly network: tf.LayersModel,
    readonly featureNames: readonly string[],
    readonly scaling: Scaling,
    readonly calibration: Calibration,
    readonly alertScore: number,
    readonly architecture: z.infer<typeof Architecture>,
    readonly history: EpochMetrics[] = [],
  ) {}

  static async train(vectors: readonly FeatureVector[], options: WindowTrainOptions = {}): Promise<WindowModel> {
    await initTf();
    if (vectors.length < 20) throw new Error(`the entity-window model needs at least 20 feature vectors, got ${vectors.length}`);
    const featureNames = [...vectors[0].featureNames];
    const d = featureNames.length;
    const random = seededRandom(options.seed ?? 1);
    const order = shuffleInPlace(Array.from({ length: vectors.length }, (_, i) => i), random);
    const holdOut = Math.max(10, Math.round(vectors.length * (options.validationFraction ?? 0.2)));
    const fitRows = order.slice(holdOut);
    const validationRows = order.slice(0, holdOut);

    // Scaling from the fitting rows only; missing values are left out of the statistics.
    const columns: number[][] = featureNames.map(() => []);
    for (const i of fitRows) {
      const values = alignValues(vectors[i], featureNames);
      for (let j = 0; j < d; j++) if (Number.isFinite(values[j])) columns[j].push(values[j]);
    }
    const scaling = fitScaling(featureNames, columns);
    const toMatrix = (rows: number[], clip: number) => {
      const x = new Float32Array(rows.length * d);
      rows.forEach((i, r) => {
        const values = alignValues(vectors[i], featureNames);
        for (let j = 0; j < d; j++) x[r * d + j] = Math.max(-clip, Math.min(clip, scaleValue(scaling.features[j], values[j])));
      });
      return x;
    };

    const architecture = { inputs: d, hidden: options.hidden ?? 16, bottleneck: options.bottleneck ?? Math.max(2, Math.round(d / 2)) };
    const network = buildNetwork(architecture, random.seed());
    network.compile({ optimizer: tf.train.adam(options.learningRate ?? 0.005), loss: 'meanSquaredError' });
    const xs = tf.tensor2d(toMatrix(fitRows, TRAIN_CLIP), [fitRows.length, d]);
    const xv = tf.tensor2d(toMatrix(validationRows, TRAIN_CLIP), [validationRows.length, d]);
    const history: EpochMetrics[] = [];
    try {
      await network.fit(xs, xs, {
        epochs: options.epochs ?? 40,
        batchSize: options.batchSize ?? 256,
        // Rows were shuffled with the seed; TF.js would shuffle with Math.random.
        shuffle: false,
        validationData: [xv, xv],
        verbose: 0,
        callbacks: {
          onEpochEnd: async (epoch, logs) => {
            const metrics = { loss: Number(logs?.loss), valLoss: Number(logs?.val_loss) };
            history.push(metrics);
            await options.onEpoch?.(epoch, metrics);
          },
        },
      });
    } finally {
      xs.dispose();
      xv.dispose();
    }

    // Calibrate on the held-out rows (unclipped, as they will be scored).
    const partial = new WindowModel(network, featureNames, scaling, { quantiles: [0, 1], rows: 1 }, options.alertScore ?? DEFAULT_ALERT_SCORE, architecture, history);
    const heldOut = partial.scoreMatrix(toMatrix(validationRows, Infinity), validationRows.length);
    return new WindowModel(network, featureNames, scaling, fitCalibration(heldOut.errors), partial.alertScore, architecture, history);
  }

  /** Values of a vector in this model's feature order, scaled. Throws when the vector lacks a feature. */
  scaleInto(vector: FeatureVector, out: Float32Array, offset: number): void {
    const names = vector.featureNames;
    const d = this.featureNames.length;
    if (names !== this.lastNames) {
      if (!sameNames(names, this.featureNames)) {
        const values = alignValues(vector, this.featureNames);
        for (let j = 0; j < d; j++) out[offset + j] = scaleValue(this.scaling.features[j], values[j]);
        return;
      }
      this.lastNames = names;
    }
    const values = vector.values;
    const features = this.scaling.features;
    for (let j = 0; j < d; j++) out[offset + j] = scaleValue(features[j], values[j]);
  }

  /** The network's reconstruction of n scaled rows (row-major n x d), in one call. */
  reconstruct(x: Float32Array, n: number, engine: ScoringEngine = this.engine): Float32Array {
    const d = this.featureNames.length;
    if (engine === 'js') {
      this.forward ??= new DenseForward(this.network);
      return this.forward.predict(x, n);
    }
    return tf.tidy(() => (this.network.predict(tf.tensor2d(x, [n, d])) as tf.Tensor).dataSync() as Float32Array);
  }

  /** Scores n scaled rows (row-major n x d) in one batch. */
  scoreMatrix(x: Float32Array, n: number): ScoreColumns {
    const d = this.featureNames.length;
    const reconstruction = this.reconstruct(x, n);
    const featureErrors = new Float32Array(n * d);
    const errors = new Float64Array(n);
    const scores = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0, k = i * d; j < d; j++, k++) {
        const diff = x[k] - reconstruction[k];
        const e = diff * diff;
        featureErrors[k] = e;
        sum += e;
      }
      errors[i] = sum / d;
      scores[i] = calibratedScore(this.calibration, errors[i]);
    }
    return { scores, errors, featureErrors, reconstruction };
  }

  /**
   * Scores a batch of vectors. Each result's contributions are computed when first read (or serialised), so a
   * detector pays for explanations only of the windows it reports. Throws when a vector lacks a model feature.
   */
  scoreVectors(vectors: readonly FeatureVector[]): WindowScore[] {
    const d = this.featureNames.length;
    const x = new Float32Array(vectors.length * d);
    for (let i = 0; i < vectors.length; i++) this.scaleInto(vectors[i], x, i * d);
    const columns = this.scoreMatrix(x, vectors.length);
    const out: WindowScore[] = new Array(vectors.length);
    for (let i = 0; i < vectors.length; i++) out[i] = new ScoredWindow(this, vectors[i], columns, i);
    return out;
  }

  /** @internal The contributions of row i of a scored batch. */
  contributionsOf(vector: FeatureVector, columns: ScoreColumns, i: number): Contribution[] {
    return this.contributions(vector, columns, i);
  }

  private contributions(vector: FeatureVector, columns: ScoreColumns, i: number): Contribution[] {
    const d = this.featureNames.length;
    const total = columns.errors[i] * d;
    const values = vector.featureNames === this.lastNames ? vector.values : alignValues(vector, this.featureNames);
    const features = this.scaling.features;
    const out: Contribution[] = new Array(d);
    for (let j = 0; j < d; j++) {
      const f = features[j];
      const c: Contribution = {
        feature: f.name,
        share: total > 0 ? columns.featureErrors[i * d + j] / total : 1 / d,
        actual: values[j],
        typical: f.typical,
        expected: unscaleValue(f, columns.reconstruction[i * d + j]),
      };
      // Insertion sort by share, largest first (d is small).
      let k = j;
      while (k > 0 && out[k - 1].share < c.share) { out[k] = out[k - 1]; k--; }
      out[k] = c;
    }
    return out;
  }

  async save(dir: string, info: { createdAt: string; name?: string; trainingData: ModelManifest['trainingData']; metrics?: Record<string, unknown> }): Promise<ModelManifest> {
    return saveModelPackage(dir, {
      network: this.network,
      manifest: {
        kind: WINDOW_MODEL_KIND,
        name: info.name,
        createdAt: info.createdAt,
        featureSchema: { fingerprint: FEATURE_SCHEMA_FINGERPRINT, names: [...this.featureNames] },
        scaling: this.scaling,
        calibration: this.calibration,
        trainingData: info.trainingData,
        metrics: info.metrics,
        extra: { alertScore: this.alertScore, architecture: this.architecture, history: this.history },
      },
    });
  }

  /** Loads a package; refuses one of another kind or trained on another feature schema, naming the mismatch. */
  static async load(dir: string, options: { fingerprint?: string } = {}): Promise<WindowModel> {
    await initTf();
    const pkg = await loadModelPackage(dir, { kind: WINDOW_MODEL_KIND, fingerprint: options.fingerprint ?? FEATURE_SCHEMA_FINGERPRINT });
    const part = <T>(what: string, schema: z.ZodType<T>, value: unknown): T => {
      const parsed = schema.safeParse(value);
      if (!parsed.success) throw new ModelPackageError(dir, `manifest ${what} is invalid: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
      return parsed.data;
    };
    const scaling = part('scaling', ScalingSchema, pkg.manifest.scaling);
    const calibration = part('calibration', CalibrationSchema, pkg.manifest.calibration);
    const extra = part('extra', WindowExtra, pkg.manifest.extra);
    const names = pkg.manifest.featureSchema.names;
    if (!pkg.network) throw new ModelPackageError(dir, 'has no TF.js network');
    if (scaling.features.length !== names.length || scaling.features.some((f, j) => f.name !== names[j]) || extra.architecture.inputs !== names.length) {
      throw new ModelPackageError(dir, 'scaling, architecture and feature names disagree');
    }
    return new WindowModel(pkg.network, names, scaling, calibration, extra.alertScore, extra.architecture, extra.history ?? []);
  }

  dispose(): void {
    this.network.dispose();
  }
}

/** A scored window; contributions are computed on first access and included in JSON. */
class ScoredWindow implements WindowScore {
  private cached: Contribution[] | undefined = undefined;

  constructor(private readonly model: WindowModel, private readonly vector: FeatureVector, private readonly columns: ScoreColumns, private readonly index: number) {}

  get entityId(): string { return this.vector.entityId; }
  get windowStartMs(): number { return this.vector.windowStartMs; }
  get score(): number { return this.columns.scores[this.index]; }
  get error(): number { return this.columns.errors[this.index]; }

  get contributions(): Contribution[] {
    return (this.cached ??= this.model.contributionsOf(this.vector, this.columns, this.index));
  }

  toJSON(): Omit<WindowScore, never> {
    return { entityId: this.entityId, windowStartMs: this.windowStartMs, score: this.score, error: this.error, contributions: this.contributions };
  }
}

function buildNetwork(a: z.infer<typeof Architecture>, seed: number): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: seed + k });
  const network = tf.sequential();
  network.add(tf.layers.dense({ inputShape: [a.inputs], units: a.hidden, activation: 'tanh', kernelInitializer: init(1) }));
  network.add(tf.layers.dense({ units: a.bottleneck, activation: 'linear', kernelInitializer: init(2) }));
  network.add(tf.layers.dense({ units: a.hidden, activation: 'tanh', kernelInitializer: init(3) }));
  network.add(tf.layers.dense({ units: a.inputs, activation: 'linear', kernelInitializer: init(4) }));
  return network;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A vector's values in the given feature order; a feature it lacks is an error naming it. */
export function alignValues(vector: FeatureVector, names: readonly string[]): readonly number[] {
  if (sameNames(vector.featureNames, names)) return vector.values;
  return names.map((name) => {
    const i = vector.featureNames.indexOf(name);
    if (i < 0) throw new Error(`feature vector of ${vector.entityId} has no feature ${name}`);
    return vector.values[i];
  });
}
