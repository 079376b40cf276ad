/** `peregrine train window` and `peregrine score window`: thin I/O around the entity-window model. */
import { Listr } from 'listr2';
import { systemClock } from '../../core/clock.ts';
import { ConfigError, PeregrineError } from '../../core/errors.ts';
import { MlflowClient } from '../../core/mlflow.ts';
import type { ModelCommandGroups } from '../cli.ts';
import { resolveModelDir } from '../registry/artifacts.ts';
import { trackTrainingRun, type TrackResult } from '../registry/track.ts';
import { addFeedbackOptions, feedbackWeightOf, type FeedbackCliOptions } from '../registry/tracking-cli.ts';
import { CHAMPION_ALIAS, mlflowUrl } from '../registry/uri.ts';
import { tfBackendName } from '../tf.ts';
import { readFeatureVectors, type InputRow } from './input.ts';
import { WindowModel, type WindowTrainOptions } from './model.ts';
import { prepareWindowData, SCORE_BATCH, windowTrainingJob } from './job.ts';
import { withElasticsearch } from '../../core/elasticsearch/client.ts';
import type { ElasticsearchConfig, LoadConfig } from '../../core/config.ts';
import { labelledVectors } from '../../findings/feedback/store.ts';

/**
 * Analysts' verdicts as rows: each false positive `weight` times as normal training data, true positives as labelled
 * anomalies. Only judged windows whose vector carries every feature the training data has are usable, whichever
 * detector raised them (a client window of a brute-force finding has other features than an operation window).
 */
async function feedbackRows(elasticsearch: ElasticsearchConfig, weight: number, featureNames: readonly string[]): Promise<{ normal: InputRow[]; anomalous: InputRow[] }> {
  const judged = await withElasticsearch(elasticsearch, (es, config) => labelledVectors(es, config));
  const labelled = judged.filter((l) => featureNames.every((name) => l.vector.featureNames.includes(name)));
  const normal: InputRow[] = [];
  for (const l of labelled) if (l.verdict === 'false_positive') for (let k = 0; k < weight; k++) normal.push({ line: 0, vector: l.vector });
  const anomalous = labelled.filter((l) => l.verdict === 'true_positive').map((l): InputRow => ({ line: 0, vector: l.vector, label: 'anomalous' }));
  return { normal, anomalous };
}

const MAX_REPORTED_MALFORMED = 20;
export const DEFAULT_WINDOW_EXPERIMENT = 'peregrine-entity-window';

/** Counts malformed rows and reports the first ones by line number on stderr. */
export class MalformedRows {
  count = 0;
  readonly lines: number[] = [];
  constructor(private readonly file: string) {}
  readonly report = (line: number, reason: string): void => {
    this.count++;
    if (this.lines.length < MAX_REPORTED_MALFORMED) {
      this.lines.push(line);
      process.stderr.write(`${this.file}:${line}: skipped malformed row: ${reason}\n`);
    } else if (this.count === MAX_REPORTED_MALFORMED + 1) {
      process.stderr.write(`${this.file}: further malformed rows are counted, not listed\n`);
    }
  };
}

interface TrainWindowOptions extends FeedbackCliOptions {
  input: string; out: string; eval?: string;
  epochs: string; batchSize: string; hidden: string; bottleneck?: string; learningRate: string; seed: string; alertScore: string;
  mlflow?: string | boolean; register?: string; experiment: string; runName?: string; alias: string; minImprovement: string;
}

export function registerWindowCommands(groups: ModelCommandGroups): void {
  addFeedbackOptions(groups.train
    .command('window')
    .description('train the entity-window autoencoder on feature vectors (JSON lines, .gz allowed, or an Avro container of schemas/feature-vector.avsc)')
    .requiredOption('--input <file>', 'feature vectors; rows labelled "anomalous" are used for evaluation only')
    .requiredOption('--out <dir>', 'model package directory to write')
    .option('--eval <file>', 'evaluation vectors (labels "normal"/"anomalous"); default: a hold-out of --input, with planted anomalies if it has no labelled ones')
    .option('--epochs <n>', 'training epochs', '40')
    .option('--batch-size <n>', 'training batch size', '256')
    .option('--hidden <n>', 'hidden layer width', '16')
    .option('--bottleneck <n>', 'bottleneck width (default: half the features)')
    .option('--learning-rate <x>', 'Adam learning rate', '0.005')
    .option('--seed <n>', 'seed for splits and initial weights', '1')
    .option('--alert-score <x>', 'score (0-100) from which a window counts as anomalous', '95')
    .option('--mlflow [url]', 'track the run in MLflow (default $PEREGRINE_MLFLOW_URL or http://127.0.0.1:5000)')
    .option('--register <name>', 'register the model in MLflow under this name and run the champion comparison (implies --mlflow)')
    .option('--experiment <name>', 'MLflow experiment', DEFAULT_WINDOW_EXPERIMENT)
    .option('--run-name <name>', 'MLflow run name')
    .option('--alias <alias>', 'alias that moves to a better model', CHAMPION_ALIAS)
    .option('--min-improvement <x>', 'ROC AUC margin the challenger needs over the champion', '0'))
    .action(async (options: TrainWindowOptions) => trainWindowCommand(options, groups.loadConfig));
  groups.score
    .command('window')
    .description('score feature vectors: one {"entityId","windowStartMs","score","contributions"} JSON line per vector, in input order')
    .requiredOption('--model <dir|uri>', 'model package directory, or models:/NAME@ALIAS or models:/NAME/VERSION from MLflow')
    .requiredOption('--input <file>', 'feature vectors (JSON lines or Avro container)')
    .option('--mlflow <url>', 'MLflow for models:/ URIs (default $PEREGRINE_MLFLOW_URL or http://127.0.0.1:5000)')
    .action(async (options: { model: string; input: string; mlflow?: string }) => scoreWindowCommand(options));
}

function integer(value: string, key: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${key} must be an integer >= ${min}, got "${value}"`, key);
  return n;
}

function number(value: string, key: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ConfigError(`${key} must be a number, got "${value}"`, key);
  return n;
}

async function readAll(file: string, malformed: MalformedRows, onCount?: (n: number) => void): Promise<InputRow[]> {
  const rows: InputRow[] = [];
  for await (const row of readFeatureVectors(file, malformed.report)) {
    rows.push(row);
    if (rows.length % 10_000 === 0) onCount?.(rows.length);
  }
  return rows;
}

async function trainWindowCommand(options: TrainWindowOptions, loadConfig: LoadConfig): Promise<void> {
  const train: Omit<WindowTrainOptions, 'onEpoch'> = {
    epochs: integer(options.epochs, '--epochs'),
    batchSize: integer(options.batchSize, '--batch-size'),
    hidden: integer(options.hidden, '--hidden'),
    bottleneck: options.bottleneck ? integer(options.bottleneck, '--bottleneck') : undefined,
    learningRate: number(options.learningRate, '--learning-rate'),
    seed: integer(options.seed, '--seed', 0),
    alertScore: number(options.alertScore, '--alert-score'),
  };
  const tracking = Boolean(options.mlflow || options.register);
  const client = tracking ? new MlflowClient({ url: mlflowUrl(options.mlflow) }) : undefined;
  const malformed = new MalformedRows(options.input);
  const evalMalformed = new MalformedRows(options.eval ?? '');
  const started = systemClock.now();
  let rows: InputRow[] = [];
  let evalRows: InputRow[] | undefined;
  let tracked: TrackResult | undefined;
  let metrics: Record<string, number> = {};
  let trainSeconds = 0;
  let feedback: { false_positives: number; true_positives: number; weight: number } | undefined;
  await new Listr(
    [
      {
        title: `Reading ${options.input}`,
        task: async (_ctx, task) => {
          rows = await readAll(options.input, malformed, (n) => { task.output = `${n} rows`; });
          if (options.eval) evalRows = await readAll(options.eval, evalMalformed);
          if (rows.length === 0) throw new PeregrineError(`${options.input}: no usable feature vectors (${malformed.count} malformed rows)`);
          task.title = `Read ${rows.length} vectors (${malformed.count} malformed skipped)${evalRows ? `, ${evalRows.length} evaluation vectors` : ''}`;
          if (options.feedback) {
            const weight = feedbackWeightOf(options);
            const fb = await feedbackRows(loadConfig({ file: options.config }).elasticsearch, weight, rows[0]!.vector.featureNames);
            rows.push(...fb.normal);
            // True positives only evaluate: into --eval when given, else as labelled anomalies of the input.
            if (evalRows) evalRows.push(...fb.anomalous);
            else rows.push(...fb.anomalous);
            feedback = { false_positives: fb.normal.length / weight, true_positives: fb.anomalous.length, weight };
            task.title += `; feedback: ${feedback.false_positives} false positives (x${weight}), ${feedback.true_positives} true positives`;
          }
        },
      },
      {
        title: tracking ? `Training with MLflow tracking (${client!.url})` : 'Training',
        task: async (_ctx, task) => {
          const data = prepareWindowData(rows, evalRows, train.seed ?? 1);
          const job = windowTrainingJob({
            data, out: options.out, train, source: options.input, malformedRows: malformed.count,
            createdAt: new Date(systemClock.now()).toISOString(),
            onEpoch: (epoch, loss, valLoss) => { task.output = `epoch ${epoch + 1}/${train.epochs}: loss ${loss.toFixed(4)}, validation ${valLoss.toFixed(4)}`; },
          });
          if (feedback) {
            job.params.feedback_false_positives = feedback.false_positives;
            job.params.feedback_true_positives = feedback.true_positives;
            job.params.feedback_weight = feedback.weight;
          }
          const t0 = systemClock.now();
          if (client) {
            tracked = await trackTrainingRun(job, {
              client, experiment: options.experiment, runName: options.runName, registerAs: options.register, alias: options.alias,
              minImprovement: number(options.minImprovement, '--min-improvement'), onStep: (message) => { task.output = message; },
            });
          } else {
            const result = await job.train({ onEpoch: async () => undefined });
            metrics = result.evaluation.metrics;
          }
          trainSeconds = (systemClock.now() - t0) / 1000;
          if (tracked) metrics = tracked.metrics;
          task.title = `Trained ${data.training.length} vectors in ${trainSeconds.toFixed(1)} s (TF.js backend ${tfBackendName()})`;
          job.model?.dispose();
        },
      },
    ],
    { renderer: process.stderr.isTTY ? 'default' : 'simple', rendererOptions: { collapseSubtasks: false }, exitOnError: true },
  ).run();
  const seconds = (systemClock.now() - started) / 1000;
  const summary = {
    out: options.out,
    rows: rows.length,
    malformedRows: malformed.count + evalMalformed.count,
    ...(feedback ? { feedback } : {}),
    metrics,
    ...(tracked ? { mlflow: { url: client!.url, runId: tracked.runId, version: tracked.version?.version, decision: tracked.decision, reason: tracked.reason } } : {}),
  };
  process.stderr.write(
    `trained window model: ${rows.length} vectors, ${summary.malformedRows} malformed rows skipped, ROC AUC ${fmt(metrics.roc_auc)} ` +
    `(evaluation ${metrics.rows ?? '?'} rows), ${seconds.toFixed(1)} s -> ${options.out}` +
    (tracked ? `; MLflow run ${tracked.runId}${tracked.version ? `, version ${tracked.version.version}: ${tracked.decision} (${tracked.reason})` : ''}` : '') + '\n',
  );
  process.stdout.write(JSON.stringify(summary) + '\n');
}

function fmt(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(4);
}

async function scoreWindowCommand(options: { model: string; input: string; mlflow?: string }): Promise<void> {
  const { dir } = await resolveModelDir(options.model, () => new MlflowClient({ url: mlflowUrl(options.mlflow) }));
  const model = await WindowModel.load(dir);
  // `| head` closes stdout early: stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const malformed = new MalformedRows(options.input);
  let batch: InputRow[] = [];
  let rows = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    let text = '';
    let results;
    try {
      results = model.scoreVectors(batch.map((b) => b.vector));
    } catch {
      // A vector lacking a feature: score row by row so only that row is skipped.
      results = batch.map((b) => {
        try {
          return model.scoreVectors([b.vector])[0];
        } catch (error) {
          malformed.report(b.line, (error as Error).message);
          return undefined;
        }
      });
    }
    for (const r of results) {
      if (!r) continue;
      rows++;
      text += JSON.stringify({
        entityId: r.entityId, windowStartMs: r.windowStartMs, score: round(r.score, 4),
        contributions: r.contributions.map((c) => ({ feature: c.feature, share: round(c.share, 4), actual: c.actual, typical: round(c.typical, 6), expected: round(c.expected, 6) })),
      }) + '\n';
    }
    batch = [];
    if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
  };
  for await (const row of readFeatureVectors(options.input, malformed.report)) {
    batch.push(row);
    if (batch.length >= SCORE_BATCH) await flush();
  }
  await flush();
  model.dispose();
  process.stderr.write(`scored ${rows} vectors, ${malformed.count} malformed rows skipped (model ${options.model})\n`);
}

function round(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
