/**
 * The HTTP request model as a TrainingJob, so `train http --mlflow --register NAME` goes through the same
 * trackTrainingRun as the window model. Its evaluation data is a labelled file (`--eval`, rows with
 * label normal/anomalous, e.g. CSIC 2010 dev); without one, the run is logged and registered but no champion
 * comparison can be made (the challenger metric is NaN, so an existing champion is kept).
 */
import { detectionMetrics } from '../http/metrics.ts';
import { HTTP_MODEL_KIND, HttpModel, type TrainProgress } from '../http/model.ts';
import type { HttpRequest } from '../http/request.ts';
import type { EvaluationResult, TrainingJob } from './track.ts';

const SCORE_BATCH = 512;

export interface HttpJobOptions {
  requests: HttpRequest[];
  evaluation?: { requests: HttpRequest[]; anomalous: boolean[] };
  out: string;
  createdAt: string;
  source?: string;
  malformedRows?: number;
  onProgress?: (p: TrainProgress) => void;
}

export interface HttpJob extends TrainingJob { readonly model: HttpModel | undefined }

function evaluate(model: HttpModel, evaluation: HttpJobOptions['evaluation']): EvaluationResult {
  if (!evaluation || evaluation.requests.length === 0) return { metrics: {}, scores: [] };
  const scores = new Float64Array(evaluation.requests.length);
  for (let i = 0; i < evaluation.requests.length; i += SCORE_BATCH) scores.set(model.scoreBatch(evaluation.requests.slice(i, i + SCORE_BATCH)), i);
  const m = detectionMetrics(scores, evaluation.anomalous);
  const metrics: Record<string, number> = { roc_auc: m.rocAuc, best_f1: m.bestF1.f1, rows: scores.length, anomalous_rows: m.anomalies };
  for (const p of m.operatingPoints) metrics[`tpr_at_fpr_${String(p.maxFpr * 100).replace('.', '_')}pct`] = p.tpr;
  let lo = Infinity, hi = -Infinity;
  for (const s of scores) { if (s < lo) lo = s; if (s > hi) hi = s; }
  return {
    metrics, scores, labels: evaluation.anomalous,
    ids: evaluation.requests.map((r, i) => `${i}:${String(r.id)}`),
    scoreRange: lo < hi ? [lo, hi] : [lo - 0.5, hi + 0.5],
  };
}

export function httpTrainingJob(options: HttpJobOptions): HttpJob {
  let model: HttpModel | undefined;
  return {
    kind: HTTP_MODEL_KIND,
    get model() { return model; },
    params: {
      train_rows: options.requests.length, eval_rows: options.evaluation?.requests.length ?? 0, source: options.source ?? '',
      network_weight: process.env.PEREGRINE_HTTP_NN_WEIGHT ?? 'default',
    },
    async train(hooks) {
      const started = performance.now();
      let step = 0;
      let logged: Promise<void> = Promise.resolve();
      model = await HttpModel.train(options.requests, {
        onProgress: (p) => {
          options.onProgress?.(p);
          // The request model reports steps, not epochs: log each step's index so the run shows its progress.
          const index = step++;
          logged = logged.then(() => hooks.onEpoch(index, { training_step: index + 1 }));
        },
      });
      await logged;
      const trainingSeconds = (performance.now() - started) / 1000;
      const evaluation = evaluate(model, options.evaluation);
      await model.save(options.out, {
        createdAt: options.createdAt,
        trainingData: { rows: options.requests.length, source: options.source, malformedRows: options.malformedRows ?? 0 },
        metrics: { ...evaluation.metrics, trainingSeconds },
      });
      return { packageDir: options.out, evaluation, metrics: { training_seconds: trainingSeconds, train_rows: options.requests.length } };
    },
    async evaluatePackage(dir) {
      return evaluate(await HttpModel.load(dir), options.evaluation);
    },
  };
}
