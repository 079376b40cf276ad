/**
 * The child process that trains a request model for a live detector (http-train-process.ts starts it), so that
 * training never blocks the detector's event loop or holds its memory: reads the job file (masked training rows,
 * labelled evaluation rows, where to register), trains through trackTrainingRun (MLflow run, version, champion only if
 * better on the same evaluation data), writes the outcome file, exits. Usage: `node --import tsx http-train-child.ts JOB`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../../core/errors.ts';
import { MlflowClient } from '../../core/mlflow.ts';
import { modelView } from '../http/view.ts';
import { httpTrainingJob } from './http-job.ts';
import type { HttpTrainingJobFile, HttpTrainingOutcome } from './http-train-process.ts';
import { trackTrainingRun } from './track.ts';

const jobFile = process.argv[2];
if (!jobFile) {
  process.stderr.write('usage: http-train-child.ts JOB_FILE\n');
  process.exit(2);
}
const resultFile = path.join(path.dirname(jobFile), 'result.json');
let outcome: HttpTrainingOutcome;
try {
  const job = JSON.parse(await readFile(jobFile, 'utf8')) as HttpTrainingJobFile;
  const requests = job.train.map((row) => modelView(row));
  const evaluation = job.evaluation.length
    ? { requests: job.evaluation.map((row) => modelView(row)), anomalous: job.evaluation.map((row) => row.label === 'anomalous') }
    : undefined;
  const training = httpTrainingJob({ requests, evaluation, out: path.join(path.dirname(jobFile), 'model'), createdAt: job.createdAt, source: job.source });
  Object.assign(training.params, job.params);
  const result = await trackTrainingRun(training, {
    client: new MlflowClient({ url: job.mlflowUrl }), experiment: job.experiment, runName: job.runName, registerAs: job.registerAs, alias: job.alias,
  });
  outcome = { ok: true, runId: result.runId, version: result.version?.version, decision: result.decision, reason: result.reason, metrics: result.metrics };
} catch (error) {
  outcome = { ok: false, error: errorMessage(error), retryable: (error as { retryable?: boolean }).retryable === true };
}
await writeFile(resultFile, JSON.stringify(outcome));
process.exit(outcome.ok ? 0 : 1);
