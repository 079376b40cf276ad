/** `peregrine train http`, `score http`, `eval http`: thin I/O around the request model. */
import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import type { ModelCommandGroups } from '../cli.ts';
import { ConfigError, PeregrineError } from '../../core/errors.ts';
import { systemClock } from '../../core/clock.ts';
import { tfBackendName } from '../tf.ts';
import { assessRequests } from './assess.ts';
import { detectorReport, evaluationReport, formatDetectorReport, formatReport, type DetectorScore, type LabelledScore } from './evaluate.ts';
import { readJsonLines } from './jsonl.ts';
import { HttpModel } from './model.ts';
import type { HttpRequest, HttpRow } from './request.ts';
import { modelEvidence } from './risk.ts';
import { modelView } from './view.ts';
import {
  addFeedbackOptions, addTrackingOptions, feedbackWeightOf, trackingRequested, trainHttpTracked, type FeedbackCliOptions, type TrackingCliOptions,
} from '../registry/tracking-cli.ts';
import { withElasticsearch } from '../../core/elasticsearch/client.ts';
import type { ElasticsearchConfig, LoadConfig } from '../../core/config.ts';
import { labelledRequests } from '../../findings/feedback/store.ts';

type TrainHttpOptions = { input: string; out: string } & TrackingCliOptions & FeedbackCliOptions;

/** Judged request findings: each false positive `weight` times as a normal training request, true positives as attacks. */
async function requestFeedback(elasticsearch: ElasticsearchConfig, weight: number): Promise<{ normal: HttpRequest[]; anomalous: HttpRequest[]; unreadable: number }> {
  const rows = await withElasticsearch(elasticsearch, (es, config) => labelledRequests(es, config));
  const normal: HttpRequest[] = [];
  const anomalous: HttpRequest[] = [];
  let unreadable = 0;
  for (const row of rows) {
    let request: HttpRequest;
    try {
      request = modelView(row);
    } catch {
      unreadable++;
      continue;
    }
    if (row.label === 'anomalous') anomalous.push(request);
    else for (let k = 0; k < weight; k++) normal.push(request);
  }
  return { normal, anomalous, unreadable };
}

const SCORE_BATCH = 512;
const MAX_REPORTED_MALFORMED = 20;

export function registerHttpModelCommands(groups: ModelCommandGroups): void {
  addFeedbackOptions(addTrackingOptions(groups.train
    .command('http')
    .description('train the HTTP request model on normal requests (JSON lines, .gz allowed; labels are ignored)')
    .requiredOption('--input <file>', 'http_events-shaped JSON lines')
    .requiredOption('--out <dir>', 'model package directory to write'), 'peregrine-http-request'))
    .action(async (options: TrainHttpOptions) => trainCommand(options, groups.loadConfig));
  groups.score
    .command('http')
    .description('score requests as the live request detector does (signatures on the raw request, the model on its masked view): one JSON line per input row, in input order, with the model score, the 0-100 risk, whether it alerts, and the signature hits with their fragments and offsets')
    .option('--model <dir>', 'model package directory (without: signatures only)')
    .requiredOption('--input <file>', 'http_events-shaped JSON lines')
    .option('--false-positive-rate <rate>', 'the operating point that decides "alert" (detectors.http_request.falsePositiveRate)', '0.0001')
    .action(async (options: ScoreOptions) => scoreCommand(options));
  groups.evaluate
    .command('http')
    .description('evaluate the HTTP request model on labelled requests (label: normal | anomalous), and the live detector\'s alerting: model, signatures and both')
    .requiredOption('--model <dir>', 'model package directory')
    .requiredOption('--input <file>', 'labelled http_events-shaped JSON lines')
    .option('--json', 'print one machine-readable JSON object instead of the table')
    .action(async (options: { model: string; input: string; json?: boolean }) => evalCommand(options));
}

/** Counts malformed rows and reports the first ones by line number on stderr. */
class MalformedRows {
  count = 0;
  readonly lines: number[] = [];
  report(line: number, reason: string): void {
    this.count++;
    if (this.lines.length < MAX_REPORTED_MALFORMED) {
      this.lines.push(line);
      process.stderr.write(`line ${line}: skipped malformed row: ${reason}\n`);
    } else if (this.lines.length === MAX_REPORTED_MALFORMED && this.count === MAX_REPORTED_MALFORMED + 1) {
      process.stderr.write(`(further malformed rows are counted, not listed)\n`);
    }
  }
}

/** Usable rows of a file, each with the request as the model sees it (masked, route-templated: view.ts). */
async function* requestsOf(file: string, malformed: MalformedRows): AsyncGenerator<{ line: number; request: HttpRequest; raw: Record<string, unknown> }> {
  for await (const item of readJsonLines(file)) {
    if ('error' in item) {
      malformed.report(item.line, item.error);
      continue;
    }
    try {
      yield { line: item.line, request: modelView(item.value), raw: item.value as Record<string, unknown> };
    } catch (error) {
      malformed.report(item.line, (error as Error).message);
    }
  }
}

async function trainCommand(options: TrainHttpOptions, loadConfig: LoadConfig): Promise<void> {
  const malformed = new MalformedRows();
  const requests: HttpRequest[] = [];
  let feedback: { false_positives: number; true_positives: number; weight: number; attacks: HttpRequest[] } | undefined;
  let firstId: unknown, lastId: unknown;
  let model: HttpModel | undefined;
  const started = systemClock.now();
  let trainMs = 0;
  await new Listr(
    [
      {
        title: `Reading ${options.input}`,
        task: async (_ctx, task) => {
          for await (const { request } of requestsOf(options.input, malformed)) {
            requests.push(request);
            firstId ??= request.id;
            lastId = request.id;
            if (requests.length % 5000 === 0) task.output = `${requests.length} rows`;
          }
          if (requests.length === 0) throw new PeregrineError(`${options.input}: no usable rows`);
          task.title = `Read ${requests.length} rows (${malformed.count} malformed skipped)`;
        },
      },
      ...(options.feedback
        ? [{
          title: 'Reading analysts\' verdicts',
          task: async (_ctx: unknown, task: { title: string }) => {
            const weight = feedbackWeightOf(options);
            const fb = await requestFeedback(loadConfig({ file: options.config }).elasticsearch, weight);
            requests.push(...fb.normal);
            feedback = { false_positives: fb.normal.length / weight, true_positives: fb.anomalous.length, weight, attacks: fb.anomalous };
            task.title = `Feedback: ${feedback.false_positives} false positives (x${weight}), ${feedback.true_positives} true positives` +
              (fb.unreadable ? `, ${fb.unreadable} unreadable skipped` : '');
          },
        }]
        : []),
      ...(trackingRequested(options)
        ? [{
          title: 'Training, tracked in MLflow',
          task: async (_ctx: unknown, task: { output: string; title: string }) => {
            const t0 = systemClock.now();
            await trainHttpTracked({
              requests, out: options.out, source: options.input, malformedRows: malformed.count, options, onStep: (m) => { task.output = m; },
              ...(feedback ? {
                feedback: { attacks: feedback.attacks, params: { feedback_false_positives: feedback.false_positives, feedback_true_positives: feedback.true_positives, feedback_weight: feedback.weight } },
              } : {}),
            });
            trainMs = systemClock.now() - t0;
            model = await HttpModel.load(options.out);
            task.title = `Trained and tracked in ${(trainMs / 1000).toFixed(1)} s (TF.js backend ${tfBackendName()})`;
          },
        }]
        : [
        {
          title: 'Training',
          task: async (_ctx: unknown, task: { output: string; title: string }) => {
            const t0 = systemClock.now();
            model = await HttpModel.train(requests, { onProgress: (p) => { task.output = `${p.step}${p.detail ? `: ${p.detail}` : ''}`; } });
            trainMs = systemClock.now() - t0;
            task.title = `Trained in ${(trainMs / 1000).toFixed(1)} s (TF.js backend ${tfBackendName()})`;
          },
        },
        {
          title: `Saving ${options.out}`,
          task: async () => {
            await model!.save(options.out, {
              createdAt: new Date(systemClock.now()).toISOString(),
              trainingData: { rows: requests.length, source: options.input, from: idText(firstId), to: idText(lastId), malformedRows: malformed.count },
              metrics: { trainingSeconds: trainMs / 1000 },
            });
          },
        },
        ]),
    ],
    {
      // Progress goes to stderr: stdout is for results.
      renderer: process.stderr.isTTY ? 'default' : 'simple',
      rendererOptions: { logger: progressLogger() },
      fallbackRendererOptions: { logger: progressLogger() },
      exitOnError: true,
    },
  ).run();
  const seconds = (systemClock.now() - started) / 1000;
  const lines = malformed.lines.length ? ` (lines ${malformed.lines.join(', ')}${malformed.count > malformed.lines.length ? ', …' : ''})` : '';
  process.stderr.write(
    `trained http model: ${requests.length} rows, ${malformed.count} malformed rows skipped${lines}, ` +
    `${model!.profiles.routes.size} routes, ${model!.profiles.params.size} parameters, training ${(trainMs / 1000).toFixed(1)} s, total ${seconds.toFixed(1)} s -> ${options.out}\n`,
  );
  if (feedback) {
    process.stderr.write(`feedback: ${feedback.false_positives} false positives trained as normal (x${feedback.weight}), ${feedback.true_positives} true positives` +
      `${feedback.true_positives && !(trackingRequested(options) && options.eval) ? ' (they join the evaluation of a tracked run with --eval)' : ''}\n`);
  }
}

interface ScoreOptions { model?: string; input: string; falsePositiveRate: string }

function falsePositiveRateOf(text: string): number {
  const rate = Number(text);
  if (!(rate > 0 && rate < 1)) throw new ConfigError(`--false-positive-rate must be a number between 0 and 1, got "${text}"`, '--false-positive-rate');
  return rate;
}

async function scoreCommand(options: ScoreOptions): Promise<void> {
  const falsePositiveRate = falsePositiveRateOf(options.falsePositiveRate);
  const model = options.model === undefined ? undefined : await HttpModel.load(options.model);
  const malformed = new MalformedRows();
  let batch: HttpRow[] = [];
  let rows = 0;
  // A reader that goes away (`| head`) ends the run quietly.
  let readerGone = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    readerGone = true;
  });
  const flush = async () => {
    if (batch.length === 0 || readerGone) return;
    const assessed = assessRequests(batch.map((row) => ({ row })), model, { falsePositiveRate });
    let text = '';
    for (let i = 0; i < batch.length; i++) {
      const a = assessed[i];
      text += JSON.stringify({
        id: batch[i].id ?? null, score: a.modelScore === undefined ? null : round(a.modelScore), risk: a.risk, alert: a.alert,
        signatures: a.hits.map((h) => ({ kind: h.kind, construct: h.construct, location: h.location, field: h.field, fragment: h.fragment, start: h.start, end: h.end })),
      }) + '\n';
    }
    rows += batch.length;
    batch = [];
    if (!process.stdout.write(text)) await new Promise((resolve) => { process.stdout.once('drain', resolve); process.stdout.once('error', resolve); });
  };
  for await (const { raw } of requestsOf(options.input, malformed)) {
    batch.push(raw as unknown as HttpRow);
    if (batch.length >= SCORE_BATCH) await flush();
    if (readerGone) break;
  }
  await flush();
  process.stderr.write(`scored ${rows} rows, ${malformed.count} malformed rows skipped${readerGone ? ' (output closed early)' : ''}\n`);
}

async function evalCommand(options: { model: string; input: string; json?: boolean }): Promise<void> {
  const model = await HttpModel.load(options.model);
  const malformed = new MalformedRows();
  const rows: LabelledScore[] = [];
  const detectorRows: DetectorScore[] = [];
  let batch: Array<{ request: HttpRequest; raw: HttpRow; anomalous: boolean }> = [];
  const { paths, methods } = model.profiles;
  const flush = () => {
    const assessed = assessRequests(batch.map((b) => ({ row: b.raw })), model, { falsePositiveRate: 0.001 });
    batch.forEach((b, i) => {
      const a = assessed[i];
      const score = a.modelScore!;
      const shortcut = !paths.keys.has(b.request.path) || !methods.keys.has(b.request.method);
      rows.push({ id: b.request.id, score, anomalous: b.anomalous, shortcut });
      const fromModel = modelEvidence(score, model.calibration);
      detectorRows.push({ id: b.request.id, anomalous: b.anomalous, shortcut, model: fromModel, signatures: a.evidence - fromModel, combined: a.evidence });
    });
    batch = [];
  };
  for await (const { line, request, raw } of requestsOf(options.input, malformed)) {
    if (raw.label !== 'normal' && raw.label !== 'anomalous') {
      malformed.report(line, 'label is missing or not "normal" / "anomalous"');
      continue;
    }
    batch.push({ request, raw: raw as unknown as HttpRow, anomalous: raw.label === 'anomalous' });
    if (batch.length >= SCORE_BATCH) flush();
  }
  if (batch.length) flush();
  if (rows.length === 0) throw new PeregrineError(`${options.input}: no usable labelled rows`);
  const report = { model: options.model, input: options.input, malformedRows: malformed.count, ...evaluationReport(rows), detector: detectorReport(detectorRows) };
  if (options.json) process.stdout.write(JSON.stringify(report) + '\n');
  else process.stdout.write(`${formatReport(report)}\n\n${formatDetectorReport(report.detector)}\nmalformed rows skipped: ${malformed.count}\n`);
}

function progressLogger(): ListrLogger {
  return new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function idText(id: unknown): string | undefined {
  return id === undefined || id === null ? undefined : String(id);
}
