/**
 * The entity-window training job: splits the input into training rows and evaluation data, trains and evaluates the
 * model, saves the package, and describes itself as a TrainingJob so the registry module can track it in MLflow.
 */
import { tfBackendName } from '../tf.ts';
import { FEATURE_SCHEMA_FINGERPRINT, type FeatureVector } from '../../schemas/feature-vector.ts';
import type { EvaluationResult, TrainingJob } from '../registry/track.ts';
import { plantEvaluationSet, windowEvaluationMetrics, type EvaluationSet } from './evaluation.ts';
import type { InputRow } from './input.ts';
import { WINDOW_MODEL_KIND, WindowModel, type WindowTrainOptions } from './model.ts';
import { seededRandom, shuffleInPlace } from './random.ts';

export const SCORE_BATCH = 4096;
/** Share of the normal input rows kept aside for evaluation when no --eval file is given. */
export const EVALUATION_FRACTION = 0.15;

export interface WindowData { training: FeatureVector[]; evaluation: EvaluationSet }

/**
 * Normal rows train; rows labelled anomalous only evaluate. Evaluation data: the --eval rows if given, else a seeded
 * hold-out of the normal rows plus the labelled anomalies; anomalies are planted when the evaluation data has none. Pure.
 */
export function prepareWindowData(rows: readonly InputRow[], evalRows: readonly InputRow[] | undefined, seed: number): WindowData {
  const normal = rows.filter((r) => r.label !== 'anomalous').map((r) => r.vector);
  let training: FeatureVector[];
  let evaluation: InputRow[];
  if (evalRows) {
    training = normal;
    evaluation = [...evalRows];
  } else {
    const order = shuffleInPlace(normal.map((_, i) => i), seededRandom(seed + 101));
    const held = Math.max(1, Math.round(normal.length * EVALUATION_FRACTION));
    const heldSet = new Set(order.slice(0, held));
    training = normal.filter((_, i) => !heldSet.has(i));
    evaluation = [
      ...order.slice(0, held).sort((a, b) => a - b).map((i) => ({ line: 0, vector: normal[i], label: 'normal' as const })),
      ...rows.filter((r) => r.label === 'anomalous'),
    ];
  }
  const anomalous = evaluation.filter((r) => r.label === 'anomalous');
  const set: EvaluationSet = anomalous.length > 0 && anomalous.length < evaluation.length
    ? { vectors: evaluation.map((r) => r.vector), anomalous: evaluation.map((r) => r.label === 'anomalous'), synthetic: false }
    : plantEvaluationSet(evaluation.map((r) => r.vector), training, seed + 202);
  return { training, evaluation: set };
}

export function scoreInBatches(model: WindowModel, vectors: readonly FeatureVector[]): Float64Array {
  const scores = new Float64Array(vectors.length);
  for (let i = 0; i < vectors.length; i += SCORE_BATCH) {
    const batch = model.scoreVectors(vectors.slice(i, i + SCORE_BATCH));
    batch.forEach((r, k) => { scores[i + k] = r.score; });
  }
  return scores;
}

export function evaluateWindowModel(model: WindowModel, set: EvaluationSet): EvaluationResult {
  const scores = scoreInBatches(model, set.vectors);
  return {
    metrics: windowEvaluationMetrics(scores, set.anomalous, model.alertScore),
    scores,
    labels: set.anomalous,
    ids: set.vectors.map((v, i) => `${i}:${v.entityId}@${v.windowStartMs}`),
    threshold: model.alertScore,
    scoreRange: [0, 100],
  };
}

export interface WindowJobOptions {
  data: WindowData;
  out: string;
  createdAt: string;
  source?: string;
  malformedRows?: number;
  train: Omit<WindowTrainOptions, 'onEpoch'>;
  onEpoch?: (epoch: number, loss: number, valLoss: number) => void;
}

export interface WindowJob extends TrainingJob {
  /** The trained model, once train() finished. */
  readonly model: WindowModel | undefined;
}

export function windowTrainingJob(options: WindowJobOptions): WindowJob {
  const { data, train } = options;
  let model: WindowModel | undefined;
  const range = (vectors: FeatureVector[]) => {
    let from = Infinity, to = -Infinity;
    for (const v of vectors) { from = Math.min(from, v.windowStartMs); to = Math.max(to, v.windowEndMs); }
    return Number.isFinite(from) ? { from: new Date(from).toISOString(), to: new Date(to).toISOString() } : {};
  };
  return {
    kind: WINDOW_MODEL_KIND,
    get model() { return model; },
    params: {
      epochs: train.epochs ?? 40, batch_size: train.batchSize ?? 256, hidden: train.hidden ?? 16,
      bottleneck: train.bottleneck ?? 'auto', learning_rate: train.learningRate ?? 0.005, seed: train.seed ?? 1,
      validation_fraction: train.validationFraction ?? 0.2, alert_score: train.alertScore ?? 95,
      train_rows: data.training.length, eval_rows: data.evaluation.vectors.length, eval_planted_anomalies: data.evaluation.synthetic,
      feature_schema: FEATURE_SCHEMA_FINGERPRINT, feature_names: (data.training[0]?.featureNames ?? []).join(','),
      source: options.source ?? '',
    },
    async train(hooks) {
      const started = performance.now();
      model = await WindowModel.train(data.training, {
        ...train,
        onEpoch: async (epoch, m) => {
          options.onEpoch?.(epoch, m.loss, m.valLoss);
          await hooks.onEpoch(epoch, { loss: m.loss, val_loss: m.valLoss });
        },
      });
      const trainingSeconds = (performance.now() - started) / 1000;
      const evaluation = evaluateWindowModel(model, data.evaluation);
      await model.save(options.out, {
        createdAt: options.createdAt,
        trainingData: { rows: data.training.length, source: options.source, malformedRows: options.malformedRows ?? 0, ...range(data.training) },
        metrics: { ...evaluation.metrics, trainingSeconds, evaluationPlanted: data.evaluation.synthetic },
      });
      return {
        packageDir: options.out,
        evaluation,
        history: model.history.map((h) => ({ loss: h.loss, val_loss: h.valLoss })),
        metrics: { training_seconds: trainingSeconds, train_rows: data.training.length },
        tags: { 'peregrine.feature_schema': FEATURE_SCHEMA_FINGERPRINT, 'peregrine.tfjs_backend': tfBackendName() ?? 'none' },
      };
    },
    async evaluatePackage(dir) {
      const other = await WindowModel.load(dir);
      try {
        return evaluateWindowModel(other, data.evaluation);
      } finally {
        other.dispose();
      }
    },
  };
}
