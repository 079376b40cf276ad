/**
 * `trackTrainingRun`: the training job's MLflow side, for any model family. It opens a run, logs params and per-epoch
 * metrics while the family's `train` runs, then the evaluation metrics, PNG plots and the model package as artifacts;
 * registers a new model version; and moves the alias (default `champion`) to it only if it beats the current champion
 * on the challenger's own evaluation data (the champion is downloaded and scored on it). The comparison is recorded
 * on the run as metrics and tags, and on the version as tags.
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import { errorMessage, PeregrineError } from '../../core/errors.ts';
import { logger } from '../../core/log.ts';
import type { MlflowClient, MlflowMetric, ModelVersion, Run } from '../../core/mlflow.ts';
import { histogramPng, lossCurvePng, rocCurvePng } from '../plots/charts.ts';
import { rocCurve } from '../window/metrics.ts';
import { downloadModelVersion, uploadDirectory } from './artifacts.ts';
import { CHAMPION_ALIAS } from './uri.ts';

/** Scores of one model on an evaluation set; `labels` where the set has them. */
export interface EvaluationResult {
  metrics: Record<string, number>;
  scores: ArrayLike<number>;
  labels?: ArrayLike<boolean>;
  /** Row ids (same order as scores), kept in evaluation/scores.csv so runs can be compared row by row. */
  ids?: readonly string[];
  /** The model's alert threshold on the score scale. */
  threshold?: number;
  /** Range of the score scale for plots, default [0, 100]. */
  scoreRange?: [number, number];
}

export interface TrainedModel {
  /** Directory of the saved model package. */
  packageDir: string;
  evaluation: EvaluationResult;
  /** Per-epoch metrics, already logged live through onEpoch; used for the loss curve. */
  history?: ReadonlyArray<Record<string, number>>;
  /** Further metrics of the training itself (e.g. seconds, rows). */
  metrics?: Record<string, number>;
  tags?: Record<string, string>;
}

export interface TrainingJob {
  /** Model family, e.g. entity-window-autoencoder. */
  kind: string;
  params: Record<string, string | number | boolean>;
  train(hooks: { onEpoch(epoch: number, metrics: Record<string, number>): Promise<void> }): Promise<TrainedModel>;
  /** Scores another package of the same family (the champion) on this job's evaluation data. */
  evaluatePackage(dir: string): Promise<EvaluationResult>;
}

export interface TrackOptions {
  client: MlflowClient;
  experiment: string;
  runName?: string;
  /** Register a version under this name (and run the champion comparison). */
  registerAs?: string;
  alias?: string;
  /** Which evaluation metric decides; higher is better. Default roc_auc. */
  comparisonMetric?: string;
  /** The challenger must exceed the champion by more than this. Default 0. */
  minImprovement?: number;
  cacheDir?: string;
  clock?: Clock;
  onStep?: (message: string) => void;
}

export type ChampionDecision = 'first' | 'promoted' | 'kept' | 'not-registered';

export interface TrackResult {
  runId: string;
  experimentId: string;
  artifactUri: string;
  version?: ModelVersion;
  decision: ChampionDecision;
  reason: string;
  championVersion?: string;
  challengerMetric: number;
  championMetric?: number;
  /** The challenger's evaluation metrics. */
  metrics: Record<string, number>;
}

/** The comparison rule, pure: a missing/NaN champion metric loses; a NaN challenger metric never wins. */
export function compareToChampion(challenger: number, champion: number | undefined, minImprovement = 0): { promote: boolean; reason: string } {
  if (!Number.isFinite(challenger)) return { promote: false, reason: `challenger metric is ${challenger}` };
  if (champion === undefined || !Number.isFinite(champion)) return { promote: true, reason: `champion metric is ${champion}` };
  if (challenger > champion + minImprovement) return { promote: true, reason: `challenger ${fmt(challenger)} > champion ${fmt(champion)}${minImprovement ? ` + ${minImprovement}` : ''}` };
  return { promote: false, reason: `challenger ${fmt(challenger)} does not beat champion ${fmt(champion)}${minImprovement ? ` + ${minImprovement}` : ''}` };
}

const fmt = (x: number) => x.toFixed(6);

export async function trackTrainingRun(job: TrainingJob, options: TrackOptions): Promise<TrackResult> {
  const { client } = options;
  const clock = options.clock ?? systemClock;
  const step = options.onStep ?? (() => undefined);
  const log = logger().child({ component: 'training-run', kind: job.kind });
  const metricName = options.comparisonMetric ?? 'roc_auc';
  const alias = options.alias ?? CHAMPION_ALIAS;

  const experiment = await client.getOrCreateExperiment(options.experiment);
  // A deleted experiment keeps its name, and MLflow refuses runs in it: bring it back.
  if (experiment.lifecycle_stage === 'deleted') await client.restoreExperiment(experiment.experiment_id);
  const run = await client.createRun({
    experimentId: experiment.experiment_id,
    runName: options.runName,
    tags: [
      { key: 'peregrine.kind', value: job.kind },
      ...(options.registerAs ? [{ key: 'peregrine.registered_model', value: options.registerAs }] : []),
    ],
  });
  const runId = run.info.run_id;
  step(`MLflow run ${runId} in experiment "${options.experiment}" (${client.url})`);
  try {
    await client.logParams(runId, job.params);
    const trained = await job.train({
      onEpoch: async (epoch, metrics) => {
        const timestamp = clock.now();
        await client.logBatch(runId, { metrics: numericMetrics(metrics, timestamp, epoch) });
      },
    });
    const evaluation = trained.evaluation;
    await client.logBatch(runId, {
      metrics: [...numericMetrics(prefixed('eval_', evaluation.metrics), clock.now(), 0), ...numericMetrics(trained.metrics ?? {}, clock.now(), 0)],
      tags: Object.entries(trained.tags ?? {}).map(([key, value]) => ({ key, value })),
    });

    step('Uploading plots and the model package');
    await uploadPlots(client, run, trained);
    await client.uploadArtifact(run, 'evaluation/scores.csv', scoresCsv(evaluation), 'text/csv');
    await uploadDirectory(client, run, trained.packageDir, 'model');

    const challengerMetric = evaluation.metrics[metricName];
    if (!options.registerAs) {
      await client.finishRun(runId);
      return { runId, experimentId: experiment.experiment_id, artifactUri: run.info.artifact_uri, decision: 'not-registered', reason: 'no --register name', challengerMetric, metrics: evaluation.metrics };
    }

    const name = options.registerAs;
    await client.getOrCreateRegisteredModel(name, { description: `Peregrine ${job.kind} model` });
    const version = await client.createModelVersion({
      name, source: `${run.info.artifact_uri}/model`, runId,
      tags: [{ key: 'peregrine.kind', value: job.kind }, { key: `eval_${metricName}`, value: String(challengerMetric) }],
    });
    step(`Registered ${name} version ${version.version}`);

    const champion = await client.getModelVersionByAlias(name, alias);
    let decision: ChampionDecision;
    let reason: string;
    let championMetric: number | undefined;
    let unusable: string | undefined;
    if (!champion) {
      decision = 'first';
      reason = `no "${alias}" yet`;
    } else {
      step(`Scoring ${alias} (version ${champion.version}) on this run's evaluation data`);
      let championEval: EvaluationResult | undefined;
      try {
        const dir = await downloadModelVersion(client, champion, options.cacheDir);
        championEval = await job.evaluatePackage(dir);
      } catch (error) {
        // A champion that cannot be loaded any more (other feature schema, corrupt) cannot keep the alias.
        if (!(error instanceof PeregrineError) || error.retryable) throw error;
        unusable = `champion version ${champion.version} is unusable: ${errorMessage(error)}`;
        log.warn({ champion: champion.version }, unusable);
      }
      if (championEval) {
        championMetric = championEval.metrics[metricName];
        await client.logBatch(runId, { metrics: numericMetrics(prefixed('champion_eval_', championEval.metrics), clock.now(), 0) });
        await client.uploadArtifact(run, 'evaluation/champion_scores.csv', scoresCsv({ ...championEval, ids: championEval.ids ?? evaluation.ids }), 'text/csv');
        await uploadComparisonPlots(client, run, evaluation, championEval, champion.version);
      }
      const verdict = compareToChampion(challengerMetric, championMetric, options.minImprovement);
      decision = verdict.promote ? 'promoted' : 'kept';
      reason = unusable ?? verdict.reason;
    }
    if (decision !== 'kept') await client.setAlias(name, alias, version.version);

    const comparisonMetrics: Record<string, number> = { [`comparison_challenger_${metricName}`]: challengerMetric, comparison_promoted: decision === 'kept' ? 0 : 1 };
    if (championMetric !== undefined) {
      comparisonMetrics[`comparison_champion_${metricName}`] = championMetric;
      comparisonMetrics.comparison_delta = challengerMetric - championMetric;
    }
    await client.logBatch(runId, {
      metrics: numericMetrics(comparisonMetrics, clock.now(), 0),
      tags: [
        { key: 'peregrine.comparison.metric', value: metricName },
        { key: 'peregrine.comparison.decision', value: decision },
        { key: 'peregrine.comparison.reason', value: reason },
        { key: 'peregrine.comparison.alias', value: alias },
        { key: 'peregrine.comparison.champion_version', value: champion?.version ?? 'none' },
        { key: 'peregrine.model_version', value: version.version },
      ],
    });
    await client.setModelVersionTag(name, version.version, 'peregrine.comparison', `${decision}: ${reason}`);
    await client.finishRun(runId);
    log.info({ runId, version: version.version, decision }, `${name} version ${version.version}: ${decision} (${reason})`);
    return {
      runId, experimentId: experiment.experiment_id, artifactUri: run.info.artifact_uri, version, decision, reason,
      championVersion: champion?.version, challengerMetric, championMetric, metrics: evaluation.metrics,
    };
  } catch (error) {
    await client.finishRun(runId, 'FAILED').catch(() => undefined);
    throw error;
  }
}

function prefixed(prefix: string, metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [prefix + k, v]));
}

/** MLflow takes finite numbers only: NaN/Infinity are left out. */
function numericMetrics(metrics: Record<string, number>, timestamp: number, stepIndex: number): MlflowMetric[] {
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === 'number' && Number.isFinite(v))
    .map(([key, value]) => ({ key: key.replace(/[^A-Za-z0-9_\-. /]/g, '_'), value, timestamp, step: stepIndex }));
}

function scoresCsv(e: EvaluationResult): string {
  let text = 'id,label,score\n';
  for (let i = 0; i < e.scores.length; i++) {
    const id = e.ids?.[i] ?? String(i);
    const label = e.labels ? (e.labels[i] ? 'anomalous' : 'normal') : '';
    text += `${JSON.stringify(id)},${label},${e.scores[i]}\n`;
  }
  return text;
}

function hasBothLabels(labels: ArrayLike<boolean> | undefined): labels is ArrayLike<boolean> {
  if (!labels) return false;
  let pos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) pos++;
  return pos > 0 && pos < labels.length;
}

function split(e: EvaluationResult): Array<{ name: string; values: number[] }> {
  if (!e.labels) return [{ name: 'all rows', values: Array.from(e.scores) }];
  const normal: number[] = [], anomalous: number[] = [];
  for (let i = 0; i < e.scores.length; i++) (e.labels[i] ? anomalous : normal).push(e.scores[i]);
  return [{ name: 'normal', values: normal }, ...(anomalous.length ? [{ name: 'anomalous', values: anomalous }] : [])];
}

async function uploadPlots(client: MlflowClient, run: Run, trained: TrainedModel): Promise<void> {
  const e = trained.evaluation;
  if (trained.history?.length) await client.uploadArtifact(run, 'plots/loss_curve.png', lossCurvePng(trained.history, Object.keys(trained.history[0])), 'image/png');
  await client.uploadArtifact(run, 'plots/score_distribution.png', histogramPng({
    title: 'SCORE DISTRIBUTION (EVALUATION)', xLabel: 'SCORE', groups: split(e), range: e.scoreRange ?? [0, 100], threshold: e.threshold,
  }), 'image/png');
  if (hasBothLabels(e.labels)) await client.uploadArtifact(run, 'plots/roc_curve.png', rocCurvePng([{ name: 'this run', points: rocCurve(e.scores, e.labels) }]), 'image/png');
}

async function uploadComparisonPlots(client: MlflowClient, run: Run, challenger: EvaluationResult, champion: EvaluationResult, championVersion: string): Promise<void> {
  await client.uploadArtifact(run, 'plots/champion_vs_challenger_scores.png', histogramPng({
    title: 'CHAMPION VS CHALLENGER SCORES', xLabel: 'SCORE', range: challenger.scoreRange ?? [0, 100], threshold: challenger.threshold,
    groups: [{ name: 'challenger', values: Array.from(challenger.scores) }, { name: `champion v${championVersion}`, values: Array.from(champion.scores) }],
  }), 'image/png');
  if (hasBothLabels(challenger.labels)) {
    await client.uploadArtifact(run, 'plots/champion_vs_challenger_roc.png', rocCurvePng([
      { name: 'challenger', points: rocCurve(challenger.scores, challenger.labels) },
      { name: `champion v${championVersion}`, points: rocCurve(champion.scores, challenger.labels) },
    ]), 'image/png');
  }
}
