/**
 * The MLflow options every `train <kind>` command shares, and the tracked training of the HTTP request model, so that
 * `train http` needs two lines to gain `--mlflow [url] --register NAME --eval FILE` (see http-job.ts).
 */
import type { Command } from 'commander';
import { systemClock } from '../../core/clock.ts';
import { ConfigError, PeregrineError } from '../../core/errors.ts';
import { MlflowClient } from '../../core/mlflow.ts';
import { readJsonLines } from '../http/jsonl.ts';
import type { HttpRequest } from '../http/request.ts';
import { modelView } from '../http/view.ts';
import { httpTrainingJob } from './http-job.ts';
import { trackTrainingRun, type TrackResult } from './track.ts';
import { CHAMPION_ALIAS, mlflowUrl } from './uri.ts';

export interface TrackingCliOptions {
  mlflow?: string | boolean;
  register?: string;
  experiment?: string;
  runName?: string;
  alias?: string;
  eval?: string;
}

export function addTrackingOptions(command: Command, defaultExperiment: string): Command {
  return command
    .option('--mlflow [url]', 'track the run in MLflow (default $PEREGRINE_MLFLOW_URL or http://127.0.0.1:5000)')
    .option('--register <name>', 'register the model under this name and move the champion alias only if it is better (implies --mlflow)')
    .option('--experiment <name>', 'MLflow experiment', defaultExperiment)
    .option('--run-name <name>', 'MLflow run name')
    .option('--alias <alias>', 'alias that moves to a better model', CHAMPION_ALIAS)
    .option('--eval <file>', 'labelled evaluation rows for the run\'s metrics and the champion comparison');
}

export interface FeedbackCliOptions {
  feedback?: boolean;
  feedbackWeight: string;
  config?: string;
}

/** `--feedback`: analysts' verdicts from Elasticsearch join the training run (false positives as normal, weighted). */
export function addFeedbackOptions(command: Command): Command {
  return command
    .option('--feedback', 'add analysts\' verdicts from Elasticsearch (`peregrine findings feedback`): false positives train as normal, true positives evaluate as anomalies')
    .option('--feedback-weight <n>', 'how many times each false positive counts in training', '10')
    .option('-c, --config <file>', 'YAML configuration (where Elasticsearch and the feedback index are, for --feedback)');
}

export function feedbackWeightOf(options: FeedbackCliOptions): number {
  const n = Number(options.feedbackWeight);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--feedback-weight must be an integer >= 1, got "${options.feedbackWeight}"`, '--feedback-weight');
  return n;
}

export function trackingRequested(options: TrackingCliOptions): boolean {
  return Boolean(options.mlflow || options.register);
}

/** Trains the request model inside a tracked MLflow run; evaluation rows (labelled) come from options.eval. */
export async function trainHttpTracked(args: {
  requests: HttpRequest[]; out: string; source: string; malformedRows: number; options: TrackingCliOptions; onStep?: (m: string) => void;
  /** Analysts' verdicts: confirmed attacks join the evaluation rows; the counts become run params. */
  feedback?: { attacks: HttpRequest[]; params: Record<string, number> };
}): Promise<TrackResult> {
  const { options } = args;
  let evaluation: { requests: HttpRequest[]; anomalous: boolean[] } | undefined;
  if (options.eval) {
    evaluation = { requests: [], anomalous: [] };
    for await (const item of readJsonLines(options.eval)) {
      if ('error' in item) continue;
      const label = (item.value as { label?: unknown }).label;
      if (label !== 'normal' && label !== 'anomalous') continue;
      try {
        evaluation.requests.push(modelView(item.value));
        evaluation.anomalous.push(label === 'anomalous');
      } catch {
        // counted by the caller's reader for the training file; evaluation rows that do not parse are left out
      }
    }
    if (evaluation.requests.length === 0) throw new PeregrineError(`${options.eval}: no labelled rows (label "normal" / "anomalous")`);
    for (const attack of args.feedback?.attacks ?? []) {
      evaluation.requests.push(attack);
      evaluation.anomalous.push(true);
    }
  }
  const job = httpTrainingJob({
    requests: args.requests, evaluation, out: args.out, source: args.source, malformedRows: args.malformedRows,
    createdAt: new Date(systemClock.now()).toISOString(),
    onProgress: (p) => args.onStep?.(`${p.step}${p.detail ? `: ${p.detail}` : ''}`),
  });
  Object.assign(job.params, args.feedback?.params);
  const client = new MlflowClient({ url: mlflowUrl(options.mlflow) });
  const result = await trackTrainingRun(job, {
    client, experiment: options.experiment ?? 'peregrine-http-request', runName: options.runName, registerAs: options.register,
    alias: options.alias, onStep: args.onStep,
  });
  process.stderr.write(`MLflow run ${result.runId} (${client.url})${result.version ? `: ${options.register} version ${result.version.version}, ${result.decision} (${result.reason})` : ''}\n`);
  return result;
}
